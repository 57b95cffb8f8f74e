"""gapcast: train time-series forecasting models on gappy data.

``gapcast.train``, ``gapcast.load_model`` and ``gapcast.TrainedModel`` load on first use, so
``import gapcast`` stays light (no pandas, no Keras) for the API process and the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gapcast.errors import DataWarning

if TYPE_CHECKING:
    from gapcast.library import TrainedModel, load_model, train
    from gapcast.model_training.results import RunResult

_LAZY = {
    "train": "gapcast.library",
    "load_model": "gapcast.library",
    "TrainedModel": "gapcast.library",
    "RunResult": "gapcast.model_training.results",
}

__all__ = ["DataWarning", "RunResult", "TrainedModel", "load_model", "train"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gapcast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
