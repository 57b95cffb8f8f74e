"""Unsafe models: a ``.keras`` archive that would run code on load (a Lambda layer, a function or
class from outside Keras, a non-modelling Keras API) is refused by every path that loads models —
``load_model_bytes``, ``gapcast.load_model`` (bundle bytes, file, directory), and the server's
``POST /runs/{id}/predict`` — and the code never runs. A token-level scan of ``src/`` keeps the
code base free of the usual ways of executing data (pickle, eval, exec, ``safe_mode=False``)."""

from __future__ import annotations

import io
import json
import tokenize
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import gapcast
from gapcast.api.testing import LiveServer, running_server
from gapcast.db import runs as run_store
from gapcast.db.session import make_engine, make_sessionmaker, transaction
from gapcast.errors import UnsafeModel
from gapcast.model_training.general_model import load_model_bytes, model_to_bytes
from gapcast.model_training.keras_env import import_keras

from .support import add_bare_run, settings_for, violations

ROOT = Path(__file__).parents[2]
SRC = ROOT / "src" / "gapcast"
# Written by the Lambda below if it ever runs (literal path: the lambda carries no closure).
MARKER = Path("/tmp/gapcast-reliability-lambda-ran")


def _archive(model: Any) -> bytes:
    return model_to_bytes(model)


def _edit(archive: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The archive with its config.json changed by ``change``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    return out.getvalue()


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config["config"]["layers"])


def _layer(config: dict[str, Any], class_name: str) -> dict[str, Any]:
    return next(layer for layer in _layers(config) if layer["class_name"] == class_name)


@pytest.fixture(scope="module")
def hostile() -> dict[str, bytes]:
    """Archives that would run code (or import outside Keras) if loaded unsafely."""
    keras = import_keras()
    inputs = keras.Input((8, 1))
    flat = keras.layers.Flatten()(inputs)
    touched = keras.layers.Lambda(
        lambda x: (
            x * float(not __import__("pathlib").Path("/tmp/gapcast-reliability-lambda-ran").touch())
        )
    )(flat)
    lambda_model = keras.Model(inputs, keras.layers.Dense(4)(touched))
    plain = keras.Model(inputs, keras.layers.Dense(4)(flat))
    MARKER.unlink(missing_ok=True)  # building the model ran the lambda once, on purpose
    with_lambda = _archive(lambda_model)
    safe = _archive(plain)

    def named_function(config: dict[str, Any]) -> None:
        _layer(config, "Lambda")["config"]["function"] = {
            "module": "os",
            "class_name": "function",
            "config": "system",
            "registered_name": "function",
        }

    def custom_class(config: dict[str, Any]) -> None:
        dense = _layer(config, "Dense")
        dense.update(module="evil.layers", class_name="Evil", registered_name="Evil>Evil")

    def builtin_activation(config: dict[str, Any]) -> None:
        _layer(config, "Dense")["config"]["activation"] = {
            "module": "builtins",
            "class_name": "function",
            "config": "exec",
            "registered_name": "exec",
        }

    def non_modelling_api(config: dict[str, Any]) -> None:
        _layer(config, "Dense")["config"]["activation"] = {
            "module": "keras.config",
            "class_name": "function",
            "config": "enable_unsafe_deserialization",
            "registered_name": "enable_unsafe_deserialization",
        }

    return {
        "lambda": with_lambda,
        "lambda named function": _edit(with_lambda, named_function),
        "custom class": _edit(safe, custom_class),
        "builtin as activation": _edit(safe, builtin_activation),
        "non-modelling keras api": _edit(safe, non_modelling_api),
        "safe": safe,
    }


CASES = [
    "lambda",
    "lambda named function",
    "custom class",
    "builtin as activation",
    "non-modelling keras api",
]


@pytest.mark.parametrize("case", CASES)
def test_load_model_bytes_refuses(hostile: dict[str, bytes], case: str) -> None:
    with pytest.raises(UnsafeModel) as refused:
        load_model_bytes(hostile[case])
    assert refused.value.field == "model"
    assert not MARKER.exists()


def test_the_safe_twin_loads(hostile: dict[str, bytes]) -> None:
    assert load_model_bytes(hostile["safe"]).output_shape == (None, 4)


def _bundle(model: bytes, gap_model: bytes | None = None) -> bytes:
    pipeline = {"steps": [], "targets": ["v"], "covariates": [], "lookback": 8, "horizon": 4}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model.keras", model)
        zf.writestr("pipeline.json", json.dumps({**pipeline, "freq_ns": 3_600_000_000_000}))
        if gap_model is not None:
            zf.writestr("gap_model.keras", gap_model)
    return buf.getvalue()


@pytest.mark.parametrize("case", CASES)
def test_library_load_model_refuses(hostile: dict[str, bytes], case: str, tmp_path: Path) -> None:
    bundles = {
        "bytes": _bundle(hostile[case]),
        "gap model": _bundle(hostile["safe"], gap_model=hostile[case]),
    }
    for where, bundle in bundles.items():
        with pytest.raises(UnsafeModel):
            gapcast.load_model(bundle)
        path = tmp_path / f"{where}.gapcast"
        path.write_bytes(bundle)
        with pytest.raises(UnsafeModel):
            gapcast.load_model(path)
    folder = tmp_path / "dir"
    folder.mkdir()
    with zipfile.ZipFile(io.BytesIO(bundles["bytes"])) as zf:
        zf.extractall(folder)
    with pytest.raises(UnsafeModel):
        gapcast.load_model(folder)
    assert not MARKER.exists()


@pytest.fixture(scope="module")
def server(server_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(settings_for(server_db_url, tmp_path_factory.mktemp("data"))) as live:
        yield live


def _tampered_run(database_url: str, model: bytes) -> str:
    """A succeeded run whose stored model was swapped for ``model`` (a tampered database)."""
    run_id = str(uuid.uuid4())
    engine = make_engine(database_url)
    pipeline = json.dumps({"steps": [], "targets": ["v"], "covariates": []}).encode()
    try:
        with transaction(make_sessionmaker(engine)) as session:
            _add_run(session, run_id)
            for kind, media_type, data in (
                ("model", "application/x-keras", model),
                ("pipeline", "application/json", pipeline),
                ("plot", "image/png", b"\x89PNG"),
            ):
                run_store.save_artifact(
                    session, run_id, kind=kind, media_type=media_type, data=data
                )
    finally:
        engine.dispose()
    return run_id


def _add_run(session: Session, run_id: str) -> None:
    from gapcast.db import runs as run_store
    from gapcast.execution.recorder import done_message, status_message

    add_bare_run(session, run_id, status="succeeded", attempts=1)
    session.flush()
    run = run_store.get_run(session, run_id)
    run.finished_at = run.created_at
    run_store.append_events(session, run_id, [status_message("queued")])
    session.flush()
    run_store.append_events(session, run_id, [done_message(session, run)])


@pytest.mark.parametrize("case", CASES)
def test_predict_refuses_an_unsafe_stored_model(
    server: LiveServer, server_db_url: str, hostile: dict[str, bytes], case: str
) -> None:
    run_id = _tampered_run(server_db_url, hostile[case])
    with server.http() as http:
        refused = http.post(f"/runs/{run_id}/predict", json={})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "unsafe_model"
        assert http.get("/healthz").status_code == 200
    assert not MARKER.exists()
    assert violations(server_db_url) == []


FORBIDDEN_NAMES = {
    "pickle": "unpickles bytes",
    "cPickle": "unpickles bytes",
    "cloudpickle": "unpickles bytes",
    "dill": "unpickles bytes",
    "marshal": "loads code objects",
    "shelve": "unpickles bytes",
    "eval": "evaluates text as code",
    "exec": "runs text as code",
    "__import__": "imports a module named by data",
    "read_pickle": "unpickles bytes",
    "enable_unsafe_deserialization": "turns Keras safe mode off",
    "func_load": "loads Python bytecode",
}
FORBIDDEN_TRUE = {"safe_mode": False, "allow_pickle": True}


def _offences(path: Path) -> list[str]:
    """Forbidden names and settings in the code of ``path`` (comments and strings don't count)."""
    found: list[str] = []
    with path.open("rb") as file:
        tokens = [t for t in tokenize.tokenize(file.readline) if t.type != tokenize.NL]
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME:
            continue
        where = f"{path.relative_to(ROOT)}:{tok.start[0]}"
        if tok.string in FORBIDDEN_NAMES:
            found.append(f"{where}: {tok.string} ({FORBIDDEN_NAMES[tok.string]})")
        bad = FORBIDDEN_TRUE.get(tok.string)
        after = [t.string for t in tokens[i + 1 : i + 3]]
        if bad is not None and after == ["=", str(bad)]:
            found.append(f"{where}: {tok.string}={bad}")
    return found


def test_nothing_in_src_unpickles_or_evaluates() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50
    offences = [o for f in files for o in _offences(f)]
    assert offences == [], "\n".join(offences)
    # The scan itself works: it finds what it looks for.
    probe = Path(__file__)
    assert any("safe_mode=False" in o for o in _offences(probe)), "scanner is blind"


def _scanner_probe() -> None:  # never called: gives the scanner something to find in this file
    load = dict
    load(safe_mode=False)
