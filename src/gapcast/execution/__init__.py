"""Running training outside the API process: executor, scheduler, event channel and hub.

The queue is the ``runs`` table; see ``runtime.py`` for how the parts fit together.
"""
