"""The HTTP/WebSocket API: ``create_app(settings)`` builds it; ``server.serve`` runs it."""
