"""ModelStrategy: the interface every model (built-in or plug-in) implements.

A strategy is small on purpose: a name, a hyperparameter schema and ``build()``. Compiling, fitting,
saving and loading are shared in :class:`~gapcast.model_training.general_model.GeneralModel`, so a
plug-in only describes an architecture. Named ``ModelStrategy`` so it never clashes with pydantic's
``BaseModel`` or ``keras.Model``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict


class BaseHyperparameters(BaseModel):
    """Base of every hyperparameter schema: unknown names are errors, every field has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


HP = TypeVar("HP", bound="BaseHyperparameters")


class ModelStrategy(ABC, Generic[HP]):
    """One model architecture.

    Subclasses set ``Hyperparameters`` (a :class:`BaseHyperparameters` subclass) and implement
    :meth:`build`; ``name`` is set by ``@register``. The built model takes windows shaped
    ``(batch, lookback, n_inputs)`` and returns ``(batch, horizon, n_targets)``.
    """

    name: ClassVar[str] = ""
    Hyperparameters: ClassVar[type[BaseHyperparameters]]
    # Forecasters regress scaled values; the gap classifier overrides these.
    loss: ClassVar[str] = "mse"
    metrics: ClassVar[tuple[str, ...]] = ("mae",)

    def __init__(self, hyperparameters: HP | Mapping[str, Any] | None = None) -> None:
        if hyperparameters is None or isinstance(hyperparameters, Mapping):
            hyperparameters = self.Hyperparameters.model_validate(dict(hyperparameters or {}))  # type: ignore[assignment]
        self.hp: HP = hyperparameters  # type: ignore[assignment]

    @abstractmethod
    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        """A fresh, uncompiled ``keras.Model`` for windows of ``input_shape`` (lookback, n_inputs).

        Use only built-in Keras layers (no ``Lambda``, no custom objects): saved files must load in
        plain Keras under any backend with ``safe_mode=True``.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hp!r})"
