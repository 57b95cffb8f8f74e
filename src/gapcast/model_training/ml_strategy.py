"""The model registry: model name → :class:`ModelStrategy` subclass.

Filled by ``@register("name")`` (the built-ins in ``algorithm_implementation``) and by the
entry-point group ``gapcast.models`` (third-party strategies), both loaded lazily once on first use.
Importing this module never imports Keras: strategies import it inside ``build()``, so the API
process can validate a configuration without loading a deep-learning backend.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gapcast.errors import GapcastError, InvalidInput
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy

ENTRY_POINT_GROUP = "gapcast.models"
_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")

_registry: dict[str, type[ModelStrategy[Any]]] = {}
# Plug-ins that failed to load or register: name → reason, reported when someone asks for them.
_rejected: dict[str, str] = {}
_state = {"loaded": False}
_lock = threading.RLock()

S = TypeVar("S", bound=type[ModelStrategy[Any]])


class PluginError(GapcastError):
    """A model strategy plug-in is malformed; raised when it registers, not when it is used."""

    code = "invalid_plugin"


def _check_strategy(name: str, cls: object) -> type[ModelStrategy[Any]]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(
            f"a model strategy needs a name of lowercase letters, digits, '_' or '-'; "
            f"received name={name!r}"
        )
    if not isinstance(cls, type) or not issubclass(cls, ModelStrategy):
        raise PluginError(
            f"model {name!r}: expected a subclass of gapcast ModelStrategy, received {cls!r}"
        )
    schema = getattr(cls, "Hyperparameters", None)
    if not isinstance(schema, type) or not issubclass(schema, BaseModel):
        raise PluginError(
            f"model {name!r}: expected a pydantic Hyperparameters schema, received {schema!r}"
        )
    if schema.model_config.get("extra") != "forbid":
        raise PluginError(f"model {name!r}: its Hyperparameters must set extra='forbid'")
    try:
        schema()
    except ValidationError as exc:
        raise PluginError(
            f"model {name!r}: every hyperparameter needs a default; "
            f"{exc.errors()[0]['loc']} has none"
        ) from exc
    if getattr(cls, "__abstractmethods__", None):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise PluginError(f"model {name!r}: {cls.__name__} does not implement {missing}")
    existing = _registry.get(name)
    if existing is not None and existing is not cls:
        raise PluginError(
            f"model {name!r} is already registered by {existing.__module__}.{existing.__qualname__}"
        )
    return cls


def register(name: str) -> Callable[[S], S]:
    """Class decorator adding a strategy to the registry under ``name``; rejects a bad plug-in."""

    def decorator(cls: S) -> S:
        with _lock:
            checked = _check_strategy(name, cls)
            checked.name = name
            _registry[name] = checked
        return cls

    return decorator


def _ensure_loaded() -> None:
    if _state["loaded"]:
        return
    with _lock:
        if _state["loaded"]:
            return
        # Importing the package runs the built-ins' @register decorators.
        importlib.import_module("gapcast.model_training.algorithm_implementation")
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in _registry:
                continue
            try:
                obj = ep.load()
                if obj is not _registry.get(ep.name):
                    register(ep.name)(obj)
            except Exception as exc:  # any failure of third-party code rejects that plug-in only
                _rejected[ep.name] = f"entry point {ep.value!r} was rejected: {exc}"
        _state["loaded"] = True


def available() -> list[str]:
    """Names of the registered forecasting models, sorted."""
    _ensure_loaded()
    return sorted(_registry)


def get_strategy(name: str) -> type[ModelStrategy[Any]]:
    """The strategy class registered as ``name``; InvalidInput listing the known names otherwise."""
    _ensure_loaded()
    try:
        return _registry[name]
    except KeyError:
        reason = f" ({_rejected[name]})" if name in _rejected else ""
        raise InvalidInput(
            f"unknown model {name!r}{reason}; expected one of: {', '.join(available())}",
            field="model",
        ) from None


def validate_hyperparameters(model: str, hp: dict[str, Any]) -> dict[str, Any]:
    """``hp`` checked against the model's schema, with defaults filled in (JSON-ready)."""
    schema: type[BaseHyperparameters] = get_strategy(model).Hyperparameters
    try:
        return schema.model_validate(hp).model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        received = f", received {loc}={err['input']!r}" if err["type"] != "missing" else ""
        raise InvalidInput(
            f"hyperparameter {loc!r} of model {model!r}: {err['msg']}{received}",
            field=f"hyperparameters.{loc}",
        ) from exc


def unregister(name: str) -> None:
    """Remove a strategy (for tests of plug-ins)."""
    with _lock:
        _registry.pop(name, None)
