"""The step interface shared by every preparation step.

scikit-learn conventions: the constructor only stores parameters, ``fit`` learns state kept in
attributes ending in ``_``, and ``to_config``/``from_config`` round-trip a step (with its learned
state in ``fitted``) through the pydantic schema in ``config.py`` — the form a training
configuration stores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.config import StepConfig
from gapcast.processing.frame import SeriesFrame


class Step(ABC):
    """One preparation step. ``name`` is the ``step`` discriminator of its config model."""

    name: ClassVar[str]
    # Whether ``inverse_transform`` undoes ``transform`` (declared; the contract test checks it).
    invertible: ClassVar[bool] = False

    # Position in the pipeline's step list, so error messages can say "preprocessing[4]".
    position: int | None = None

    @abstractmethod
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (what a config stores besides ``fitted``)."""

    @abstractmethod
    def _get_fitted(self) -> dict[str, Any]:
        """Learned state as JSON-compatible values; ``{}`` when not fitted."""

    @abstractmethod
    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        """Restore learned state written by ``_get_fitted``."""

    @property
    def is_fitted(self) -> bool:
        return bool(self._get_fitted())

    def to_config(self) -> StepConfig:
        from gapcast.processing.registry import CONFIG_TYPES

        config = CONFIG_TYPES[self.name](**self.get_params(), fitted=self._get_fitted())
        return config  # type: ignore[return-value]

    @classmethod
    def from_config(cls, config: StepConfig) -> Self:
        if config.step != cls.name:
            raise InvalidInput(f"expected a {cls.name!r} step config, received {config.step!r}")
        params = config.model_dump(exclude={"step", "fitted"})
        step = cls(**params)
        if config.fitted:
            step._set_fitted(dict(config.fitted))
        return step

    def where(self) -> str:
        """'scale step (preprocessing[5])': how messages name this step."""
        if self.position is None:
            return f"{self.name} step"
        return f"{self.name} step (preprocessing[{self.position}])"

    def field(self, param: str | None = None) -> str | None:
        if self.position is None:
            return param
        base = f"preprocessing[{self.position}]"
        return base if param is None else f"{base}.{param}"

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise InvalidInput(f"{self.where()} is not fitted; call fit() first")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Step)
        return self.to_config() == other.to_config()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class FrameStep(Step):
    """A step that maps a frame to a frame on the same grid (all but the window step)."""

    def fit(self, frame: SeriesFrame) -> Self:
        return self

    @abstractmethod
    def transform(self, frame: SeriesFrame) -> SeriesFrame: ...

    def fit_transform(self, frame: SeriesFrame) -> SeriesFrame:
        return self.fit(frame).transform(frame)

    def inverse_transform(self, frame: SeriesFrame) -> SeriesFrame:
        raise InvalidInput(f"{self.where()} cannot be inverted")


class ValueStep(FrameStep):
    """A per-channel value transform fitted on the training part, with an exact inverse.

    ``inverse_values`` works on any array whose last axis holds some of the fitted channels, so a
    model's scaled output (n, horizon, n_targets) can be turned back into real units.
    """

    invertible = True
    channels_: tuple[str, ...] | None = None

    def _check_channels(self, frame: SeriesFrame) -> None:
        self._require_fitted()
        if self.channels_ is not None and frame.channels != self.channels_:
            raise InvalidInput(
                f"{self.where()} was fitted on channels {list(self.channels_)}, "
                f"received {list(frame.channels)}"
            )

    @abstractmethod
    def _forward(
        self, values: NDArray[np.float64], timestamps: NDArray[np.int64], index: Sequence[int]
    ) -> NDArray[np.float64]:
        """Transformed copy of ``values`` (..., k) for fitted channels ``index``."""

    @abstractmethod
    def inverse_values(
        self, values: ArrayLike, timestamps: ArrayLike, index: Sequence[int]
    ) -> NDArray[np.float64]:
        """Undo ``transform`` on ``values`` (..., k); ``timestamps`` has shape values.shape[:-1]."""

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._check_channels(frame)
        index = range(frame.n_channels)
        out = self._forward(frame.values.T, frame.timestamps, index).T
        return frame.replace(values=out)

    def inverse_transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._check_channels(frame)
        out = self.inverse_values(frame.values.T, frame.timestamps, range(frame.n_channels)).T
        return frame.replace(values=out)
