"""Files a run keeps to resume after a crash, written so a kill never leaves half of one.

A worker killed while it writes (the server's crash recovery kills orphans; an operator kills a
stuck process) would otherwise leave a truncated file that the resumed attempt cannot read, and
the run that was meant to resume fails instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename:
    readers see the old content or the new, never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
