"""``python -m gapcast.api``: the server with settings from GAPCAST_* variables."""

from __future__ import annotations

import os
import sys

from gapcast.api.server import serve
from gapcast.config import get_settings
from gapcast.errors import InvalidInput

if __name__ == "__main__":
    try:
        settings = get_settings()
    except InvalidInput as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2)  # bad input, as the CLI says it
    serve(settings, log_level=os.environ.get("GAPCAST_LOG_LEVEL", "info"))
