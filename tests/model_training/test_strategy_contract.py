"""Every registered strategy (and the gap classifier): schema, build, fit, save/load round trip."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from gapcast.errors import InvalidInput, UnsafeModel
from gapcast.model_training.algorithm_implementation.gap_classifier import GapClassifier
from gapcast.model_training.general_model import GeneralModel, load_model_bytes, model_to_bytes
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import available, get_strategy

LOOKBACK, HORIZON, N_INPUTS, N_TARGETS = 12, 3, 2, 1
SMALL = {
    "mlp": {"units": 8},
    "lstm": {"units": 4},
    "gru": {"units": 4},
    "cnn": {"filters": 4, "layers": 2},
    "transformer": {"d_model": 8, "ff_dim": 8},
}


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, LOOKBACK, N_INPUTS)).astype("float32")
    y = x[:, -HORIZON:, :N_TARGETS] * 0.5
    return x, y


@pytest.mark.parametrize("name", available())
def test_strategy_contract(name: str) -> None:
    cls = get_strategy(name)
    defaults = cls.Hyperparameters()
    assert cls.Hyperparameters.model_validate(defaults.model_dump()) == defaults
    gm = GeneralModel(cls(SMALL.get(name, {})), learning_rate=1e-2, seed=1)
    model = gm.build((LOOKBACK, N_INPUTS), HORIZON, N_TARGETS)
    assert tuple(model.output_shape) == (None, HORIZON, N_TARGETS)
    x, y = _data()
    history = gm.fit(x[:48], y[:48], validation=(x[48:], y[48:]), epochs=2, batch_size=16)
    assert len(history["loss"]) == 2 and np.isfinite(history["val_loss"]).all()
    before = gm.predict(x)
    assert before.shape == (len(x), HORIZON, N_TARGETS)
    restored = load_model_bytes(gm.to_bytes())
    np.testing.assert_allclose(restored.predict(x, verbose=0), before, rtol=1e-5, atol=1e-6)


def test_gap_classifier_contract() -> None:
    gm = GeneralModel(GapClassifier({"units": 4, "layers": 1}), seed=1)
    model = gm.build((5, 1), HORIZON, 1)
    assert tuple(model.output_shape) == (None, 1)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, 5)).astype("float32")
    x = [features, np.full((32, 1), -2.0, "float32")]
    # The last layer starts at zero and the trust at one: before training, the prior itself.
    np.testing.assert_allclose(model.predict(x, verbose=0), 1 / (1 + np.exp(2.0)), rtol=1e-5)
    y = (features[:, 0] > 0).astype("float32")
    gm.fit(x, y, validation=None, epochs=2, batch_size=8)
    p = model.predict(x, verbose=0)
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(load_model_bytes(gm.to_bytes()).predict(x, verbose=0), p, atol=1e-6)


def test_lambda_layer_archive_is_refused() -> None:
    keras = import_keras()
    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda t: t * 2)(inp)
    data = model_to_bytes(keras.Model(inp, out))
    with pytest.raises(UnsafeModel) as err:
        load_model_bytes(data)
    assert err.value.code == "unsafe_model"


def test_garbage_is_not_a_model() -> None:
    with pytest.raises(InvalidInput):
        load_model_bytes(b"not a zip file")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", "{}")
    with pytest.raises(InvalidInput):
        load_model_bytes(buf.getvalue())
