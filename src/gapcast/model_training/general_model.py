"""GeneralModel: the Keras behaviour every strategy shares (compile, fit, predict, save, load).

Models travel as ``.keras`` bytes (the database stores bytes, the library returns them). Loading
always uses ``safe_mode=True``: an archive holding a ``Lambda`` layer (arbitrary Python) is refused
with :class:`~gapcast.errors.UnsafeModel` instead of executing code.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gapcast.errors import InvalidInput, UnsafeModel
from gapcast.model_training.base_model import ModelStrategy
from gapcast.model_training.keras_env import import_keras

# Config names of the losses → Keras names.
LOSSES = {"mse": "mse", "mae": "mae", "huber": "huber"}
# Train steps per call of Keras's fit loop. The steps stay one compiled step each, so the numbers
# are the same to the last digit; what the loop does between calls (callbacks, handing the state
# back to the model: a fifth of a small run's time, profiled) happens once per this many
# batches instead of once per batch. As many as a training dataset gathers at once
# (forecaster.CHUNK_BATCHES).
STEPS_PER_EXECUTION = 16


class GeneralModel:
    """A strategy's Keras model with gapcast's compile/fit/predict/save conventions.

    ``model_`` (the compiled ``keras.Model``) exists after :meth:`build`.
    """

    def __init__(
        self,
        strategy: ModelStrategy[Any],
        *,
        learning_rate: float = 1e-3,
        seed: int = 42,
        loss: str | None = None,
        weight_decay: float | None = None,
    ) -> None:
        self.strategy = strategy
        self.learning_rate = learning_rate
        self.seed = seed
        self.loss = loss  # None: the strategy's own
        self.weight_decay = weight_decay  # None: Adam; else AdamW with this decoupled decay
        self.model_: Any = None

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        # Seeds Python, numpy and the backend: weight init and shuffling repeat exactly.
        keras.utils.set_random_seed(self.seed)
        model = self.strategy.build(tuple(input_shape), horizon, n_targets)  # type: ignore[arg-type]
        if self.weight_decay is None:
            optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        else:
            optimizer = keras.optimizers.AdamW(
                learning_rate=self.learning_rate, weight_decay=self.weight_decay
            )
        model.compile(
            optimizer=optimizer,
            loss=LOSSES.get(self.loss or "", self.loss or self.strategy.loss),
            metrics=list(self.strategy.metrics) or None,
            steps_per_execution=STEPS_PER_EXECUTION,
        )
        self.model_ = model
        return model

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        validation: tuple[np.ndarray, np.ndarray] | None,
        epochs: int,
        batch_size: int,
        callbacks: Sequence[Any] = (),
    ) -> dict[str, list[float]]:
        """Train on numpy arrays (Keras batches them without per-batch Python of ours)."""
        if self.model_ is None:
            raise RuntimeError("build() the model before fit()")
        history = self.model_.fit(
            x,
            y,
            validation_data=validation if validation is not None and len(validation[0]) else None,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            callbacks=list(callbacks),
            verbose=0,
        )
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return predict(self.model_, x, batch_size)

    def to_bytes(self) -> bytes:
        return model_to_bytes(self.model_)


def average_models(models: Sequence[Any], name: str = "ensemble") -> Any:
    """One ``keras.Model`` whose output is the mean of ``models``' (same inputs and output
    shape): the stored form of a seed ensemble or of a combination of candidates, built-in layers
    only (``Average``), so it still loads with ``safe_mode=True``. The members keep their
    weights; their names get a suffix (nested models need distinct names to be saved)."""
    if len(models) == 1:
        return models[0]
    keras = import_keras()
    x = keras.Input(shape=tuple(models[0].input_shape[1:]), name="window")
    for i, member in enumerate(models):
        member.name = f"{member.name}_{i}"
    return keras.Model(x, keras.layers.Average()([m(x) for m in models]), name=name)


def halved_model(model: Any, name: str = "halfway") -> Any:
    """One ``keras.Model`` whose output is half of ``model``'s: the stored form of a forecast
    taken halfway to its reference (:func:`~gapcast.model_training.candidates.halfway`), built-in
    layers only (``Rescaling``), so it still loads with ``safe_mode=True``."""
    keras = import_keras()
    x = keras.Input(shape=tuple(model.input_shape[1:]), name="window")
    return keras.Model(x, keras.layers.Rescaling(0.5, name="half")(model(x)), name=name)


def predict(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    if len(x) == 0:
        out_shape = tuple(int(d) for d in model.output_shape[1:])
        return np.zeros((0, *out_shape), dtype=np.float32)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def model_to_bytes(model: Any) -> bytes:
    """The ``.keras`` archive of ``model`` (written to a temporary file: Keras saves to paths)."""
    keras = import_keras()
    with tempfile.TemporaryDirectory(prefix="gapcast-") as tmp:
        path = Path(tmp) / "model.keras"
        keras.saving.save_model(model, path)
        return path.read_bytes()


# What Keras says when an archive asks for code: a lambda, a name it will not import, a
# non-modelling API. Anything else that fails to load is a broken archive (InvalidInput).
_CODE_SIGNS = (
    "safe_mode",
    "Lambda",
    "lambda",
    "Could not locate",
    "Could not deserialize",
    "cannot be imported",
    "KerasSaveable",
    "Non-modeling",
)


def load_model_bytes(data: bytes) -> Any:
    """A ``keras.Model`` from ``.keras`` bytes, refusing archives that would run code on load."""
    keras = import_keras()
    with tempfile.TemporaryDirectory(prefix="gapcast-") as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except (ValueError, TypeError) as exc:
            # Keras refuses lambdas with ValueError, and classes or functions from outside Keras
            # (custom objects, ``os.system``) with TypeError; either way it names the culprit.
            if any(sign in str(exc) for sign in _CODE_SIGNS):
                raise UnsafeModel(
                    "the .keras archive contains code (a Lambda layer, or a custom class or "
                    "function) and is refused; gapcast loads only models made of built-in "
                    "Keras layers",
                    field="model",
                ) from exc
            raise InvalidInput(f"not a loadable .keras archive: {exc}", field="model") from exc
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise InvalidInput(f"not a .keras archive: {exc}", field="model") from exc
