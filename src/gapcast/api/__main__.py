"""``python -m gapcast.api``: the server with settings from GAPCAST_* variables."""

from __future__ import annotations

import os

from gapcast.api.server import serve
from gapcast.config import Settings

if __name__ == "__main__":
    serve(Settings(), log_level=os.environ.get("GAPCAST_LOG_LEVEL", "info"))
