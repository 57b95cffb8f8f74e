"""Storage: SQLAlchemy 2 tables, engine/session set-up, Alembic migrations and the repositories.

Repositories (``repository.py``, ``points.py``) are the only code that touches a session.
"""
