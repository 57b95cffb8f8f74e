"""Which Keras backend trains gapcast's models fastest on CPU?

Trains the same ``mlp``, ``lstm`` and ``cnn`` (gapcast's default architectures, rebuilt here from
built-in layers so the worker needs nothing but Keras) on the same windows under JAX, PyTorch and
TensorFlow. Each backend runs in a subprocess with its own interpreter (one virtualenv per backend),
and prints: import time, first-epoch compile time (first epoch minus a steady one), steady epoch
time and the backend's install size (its distributions and their own dependencies, without Keras's).

    python bench/backends.py --jax .venv/bin/python --torch /tmp/venv-torch/bin/python \
        --tensorflow /tmp/venv-tf/bin/python

Pythons can also come from GAPCAST_BENCH_JAX / GAPCAST_BENCH_TORCH / GAPCAST_BENCH_TENSORFLOW.
The decision rule: keep JAX unless another backend is at least 1.2x faster on steady epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKEND_DISTS = {
    "jax": ["jax", "jaxlib"],
    "torch": ["torch"],
    "tensorflow": ["tensorflow", "tensorflow-cpu"],
}
MODELS = ("mlp", "lstm", "cnn")


def make_windows(path: Path, n: int, lookback: int, horizon: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(n + lookback + horizon, dtype=np.float64)
    series = (
        np.sin(2 * np.pi * t / 24)
        + 0.3 * np.sin(2 * np.pi * t / 168)
        + 0.1 * rng.normal(size=t.size)
    )
    idx = np.arange(n)[:, None]
    x = series[idx + np.arange(lookback)][..., None].astype("float32")
    y = series[idx + lookback + np.arange(horizon)][..., None].astype("float32")
    np.savez(path, x=x, y=y)


def worker(data: str, epochs: int, batch_size: int) -> None:
    t0 = time.perf_counter()
    import keras
    import numpy as np

    import_s = time.perf_counter() - t0
    arrays = np.load(data)
    x, y = arrays["x"], arrays["y"]
    lookback, horizon = x.shape[1], y.shape[1]

    def head(h):
        h = keras.layers.Flatten()(h) if len(h.shape) > 2 else h
        return keras.layers.Reshape((horizon, 1))(keras.layers.Dense(horizon)(h))

    def build(name):
        inp = keras.Input((lookback, 1))
        if name == "mlp":
            h = keras.layers.Flatten()(inp)
            h = keras.layers.Dense(64, activation="relu")(h)
            h = keras.layers.Dense(64, activation="relu")(h)
        elif name == "lstm":
            h = keras.layers.LSTM(32)(inp)
        else:
            h = inp
            for i in range(4):
                h = keras.layers.Conv1D(
                    32, 3, padding="causal", dilation_rate=2**i, activation="relu"
                )(h)
            h = keras.layers.Cropping1D((lookback - 1, 0))(h)
        model = keras.Model(inp, head(h))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        return model

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t)

    result = {"backend": keras.backend.backend(), "import_s": import_s, "models": {}}
    for name in MODELS:
        keras.utils.set_random_seed(0)
        model = build(name)
        timer = Timer()
        timer.times = []
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
        steady = sorted(timer.times[1:])[len(timer.times[1:]) // 2]
        result["models"][name] = {
            "first_epoch_s": timer.times[0],
            "epoch_s": steady,
            "compile_s": max(timer.times[0] - steady, 0.0),
        }
    result["install_mb"] = install_mb(result["backend"])
    print(json.dumps(result))


def install_mb(backend: str) -> float:
    """Size of the backend's distributions and their dependencies that Keras does not need."""
    import re
    from importlib import metadata

    def closure(names):
        seen, todo = set(), list(names)
        while todo:
            name = todo.pop().lower().replace("_", "-")
            if name in seen:
                continue
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
            seen.add(name)
            for req in dist.requires or []:
                if "extra ==" in req:
                    continue
                todo.append(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0])
        return seen

    own = closure(BACKEND_DISTS[backend]) - closure(["keras"])
    total = 0
    for name in own:
        for f in metadata.distribution(name).files or []:
            p = Path(str(f.locate()))
            if p.is_file():
                total += p.stat().st_size
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for b in BACKEND_DISTS:
        parser.add_argument(f"--{b}", default=os.environ.get(f"GAPCAST_BENCH_{b.upper()}"))
    parser.add_argument("--windows", type=int, default=8192)
    parser.add_argument("--lookback", type=int, default=48)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.epochs, args.batch_size)
        return
    pythons = {b: getattr(args, b) for b in BACKEND_DISTS if getattr(args, b)}
    if not pythons:
        pythons = {"jax": sys.executable}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "windows.npz"
        make_windows(data, args.windows, args.lookback, args.horizon)
        results = {}
        for backend, python in pythons.items():
            env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONWARNINGS": "ignore"}
            env.pop("PYTHONPATH", None)
            proc = subprocess.run(
                [
                    python,
                    __file__,
                    "--worker",
                    str(data),
                    "--epochs",
                    str(args.epochs),
                    "--batch-size",
                    str(args.batch_size),
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode or not lines:
                print(f"{backend}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            results[backend] = json.loads(lines[-1])
    print(
        f"{args.windows} windows, lookback {args.lookback}, horizon {args.horizon}, "
        f"batch {args.batch_size}, {args.epochs} epochs, {os.cpu_count()} CPUs"
    )
    print(
        f"{'backend':<11}{'import s':>9}{'install MB':>11}  "
        + "  ".join(f"{m + ' epoch s':>13}{m + ' compile s':>15}" for m in MODELS)
    )
    for backend, r in results.items():
        cells = "  ".join(
            f"{r['models'][m]['epoch_s']:>13.3f}{r['models'][m]['compile_s']:>15.3f}"
            for m in MODELS
        )
        print(f"{backend:<11}{r['import_s']:>9.2f}{r['install_mb']:>11.0f}  {cells}")
    if "jax" in results:
        jax_total = sum(results["jax"]["models"][m]["epoch_s"] for m in MODELS)
        best, speedup = "jax", 1.0
        for backend, r in results.items():
            total = sum(r["models"][m]["epoch_s"] for m in MODELS)
            print(
                f"{backend}: {total / jax_total:.2f}x the steady epoch time of jax (mlp+lstm+cnn)"
            )
            if jax_total / total >= 1.2 and jax_total / total > speedup:
                best, speedup = backend, jax_total / total
        print(
            f"decision: {best}"
            + (" (default)" if best == "jax" else f" ({speedup:.2f}x faster than jax)")
        )


if __name__ == "__main__":
    main()
