"""Queue benchmark entry point: ``python bench/queue.py [--runs 10] [--epochs 2]``.

The code is in ``queue_runs.py``. This file's name is also the standard library's ``queue``, and a
script run from ``bench/`` has this directory first on ``sys.path``: when anything then imports
``queue`` (asyncio, logging and concurrent.futures do), it finds this file. So, imported under any
name but ``__main__``, it hands over the real standard-library module instead.
"""

import sys

if __name__ != "__main__":
    import importlib.util
    import sysconfig
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location(
        __name__, Path(sysconfig.get_paths()["stdlib"]) / "queue.py"
    )
    assert _spec is not None and _spec.loader is not None
    _real = importlib.util.module_from_spec(_spec)
    sys.modules[__name__] = _real
    _spec.loader.exec_module(_real)
else:
    from queue_runs import main

    main()
