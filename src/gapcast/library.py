"""The library entry points: ``gapcast.train``, ``gapcast.load_model`` and ``TrainedModel.predict``.

A trained model is its artifacts: the ``.keras`` forecaster, the fitted preparation (``pipeline``
JSON) and, when gaps were large, the ``.keras`` gap classifier. Prediction needs nothing else, so a
model can be saved as one bundle (a zip of those files) and loaded anywhere.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from gapcast.errors import DataWarning, InvalidInput
from gapcast.model_training.callbacks import CancelFlag
from gapcast.model_training.results import Artifact, RunResult
from gapcast.processing.frame import (
    SeriesFrame,
    numbers_as_floats,
    periods_as_times,
    time_column,
    time_zone,
)
from gapcast.processing.window_inputs import F64, ModelBatch
from gapcast.training_config import TrainingConfig

if TYPE_CHECKING:
    from gapcast.model_training.gap_predict import GapPredictor
    from gapcast.processing.pipeline import History


class SupportsToPandas(Protocol):
    """A polars DataFrame, a pyarrow Table: anything that gives itself as pandas."""

    def to_pandas(self) -> Any: ...


# What the library reads as a series: a frame with a time column (or a time index) and value
# columns, or one series on a time index.
Data = SeriesFrame | pd.DataFrame | pd.Series | SupportsToPandas

BUNDLE_FILES = {"model": "model.keras", "gap_model": "gap_model.keras", "pipeline": "pipeline.json"}


def quantile_name(level: float) -> str:
    """0.1 → 'p10', 0.025 → 'p2.5': the column suffix of a quantile."""
    return f"p{100 * level:g}"


def _start_ns(start: Any) -> int | None:
    """A forecast start as int64 UTC nanoseconds (naive times are UTC); None stays None."""
    if start is None:
        return None
    try:
        stamp = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"start: expected a timestamp, received {start!r}", field="start"
        ) from exc
    if pd.isna(stamp):
        raise InvalidInput(f"start: expected a timestamp, received {start!r}", field="start")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def _as_pandas(data: Any, name: str = "value") -> Any:
    """A pandas Series on a time index as a one-column DataFrame (named as the Series, else
    ``name``), a polars or pyarrow table (anything with ``to_pandas()``) as pandas; anything else
    as it is."""
    if not isinstance(data, SeriesFrame | pd.DataFrame | pd.Series) and callable(
        getattr(data, "to_pandas", None)
    ):
        data = data.to_pandas()
    if isinstance(data, pd.Series):
        data = data.to_frame(name=str(data.name) if data.name is not None else name)
    return data


def _frame(
    data: Any,
    what: str = "data",
    *,
    channels: Sequence[str] = (),
    notes: list[str] | None = None,
) -> SeriesFrame:
    """``data`` (a SeriesFrame, a DataFrame, or what :func:`_as_pandas` reads) as a SeriesFrame.
    ``channels``: the ones a model reads; a column of text that is none of them (a status flag
    beside the readings) is left out, not refused."""
    data = _as_pandas(data)
    if isinstance(data, SeriesFrame):
        return data
    if isinstance(data, pd.DataFrame):
        data = periods_as_times(data)  # before the time column is looked for among the rest
        if channels:
            time = time_column(data)
            unread = [
                c
                for c in data.columns
                if c != time
                and str(c) not in channels
                and not pd.api.types.is_numeric_dtype(data[c])
            ]
            data = data.drop(columns=unread)
        # Decimal cells first (pd.read_sql's NUMERIC), so their markers are read as the rest.
        data = _without_markers(numbers_as_floats(data), notes)
        return SeriesFrame.from_pandas(data, refuse_repeated=True, read=list(channels))
    raise InvalidInput(
        "expected a SeriesFrame, a pandas DataFrame (a time column and value columns), a pandas "
        f"Series on a time index or a polars/pyarrow table, received {type(data).__name__}",
        field=what,
    )


def _caller_level() -> int:
    """The ``stacklevel`` of a warning that points at the user's line: the first frame, counted
    from the caller of ``warnings.warn``, outside the gapcast package."""
    package = str(Path(__file__).resolve().parent) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def _without_markers(data: pd.DataFrame, notes: list[str] | None = None) -> pd.DataFrame:
    """``data`` with each numeric column's missing-value markers (a logger's -9999, a buoy's
    999.9: repeated, far outside the other values) read as missing, as ``gapcast import`` reads
    them, and a DataWarning naming each (appended to ``notes`` instead, when given: a server's
    threads cannot share the warnings machinery); ``data`` itself when it has none. Read as
    numbers, thirty hours of -9999 in an hourly temperature became what the model learned."""
    from gapcast.ingest.values import clear_markers

    time = time_column(data)
    out = data
    for column in data.columns:
        kind = data[column].dtype
        if column == time or not pd.api.types.is_numeric_dtype(kind):
            continue
        if pd.api.types.is_bool_dtype(kind):
            continue
        # A copy: the caller's frame keeps what it holds.
        values = data[column].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        said = [n + ", as gapcast import reads it" for n in clear_markers(str(column), values)]
        if said:
            out = data.copy() if out is data else out
            out[column] = values
        if notes is not None:
            notes += said
            continue
        for note in said:
            warnings.warn(note, DataWarning, stacklevel=_caller_level())
    return out


def _load_stored(name: str, database_url: str | None) -> tuple[SeriesFrame, str | None]:
    """The stored dataset's frame and the zone it was imported in."""
    from gapcast.config import get_settings
    from gapcast.db.repository import get_dataset, load_dataset_frame
    from gapcast.db.session import make_engine, make_sessionmaker

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            dataset = get_dataset(session, name)
            return load_dataset_frame(session, dataset.id), dataset.timezone
    finally:
        engine.dispose()


def _zone_of(data: Any) -> str | None:
    """The IANA zone a DataFrame's time index or column is typed with (None for UTC, naive
    times or a fixed offset): the wall clock the run's figures by the hour are read on."""
    from gapcast.ingest.times import typed_zone

    if not isinstance(data, pd.DataFrame):
        return None
    column = time_column(data)
    return typed_zone(data.index if column is None else data[column])


def train(
    data: Data | str,
    config: TrainingConfig | Mapping[str, Any] | None = None,
    on_event: Callable[[Any], None] | None = None,
    *,
    cancel: CancelFlag | None = None,
    checkpoint_dir: str | Path | None = None,
    database_url: str | None = None,
    **overrides: Any,
) -> RunResult:
    """Train a forecaster (and a gap classifier when the data has large gaps).

    ``data``: a SeriesFrame, a DataFrame with a time column (``SeriesFrame.from_pandas``) and
    value columns, a Series on a time index, a polars or pyarrow table, or the name (or id) of
    a dataset stored in gapcast's database
    (``database_url``, default from settings). ``config``: a TrainingConfig or a dict of its
    fields; defaults fill the rest. ``overrides``: the CLI's ``--set`` and the server's
    overrides as keywords, applied on top of ``config``: ``target="load"``, ``model="mlp"``,
    ``epochs=5``, ``lookback=48``, a step's field as ``**{"resample.agg": "hold"}``.
    """
    from pydantic import ValidationError

    from gapcast.api.errors import invalid_from_validation
    from gapcast.model_training.ml_runner import MLRunner

    given = config if isinstance(config, TrainingConfig) else dict(config or {})
    try:
        cfg = given if isinstance(given, TrainingConfig) else TrainingConfig.model_validate(given)
        if overrides:
            cfg = cfg.with_overrides(overrides)
    except ValidationError as exc:
        # As the server and the CLI say it: InvalidInput naming the field, every error listed.
        body = given.model_dump(mode="json") if isinstance(given, TrainingConfig) else given
        raise invalid_from_validation(exc, body, prefix="config") from exc
    # With the targets named, a column of text beside them (status flags) is not read.
    named = [*(cfg.target or []), *cfg.covariates, *cfg.future_covariates] if cfg.target else []
    if isinstance(data, str):
        frame, zone = _load_stored(data, database_url)
    else:
        data = _as_pandas(data)
        frame, zone = _frame(data, channels=named), _zone_of(data)
    runner = MLRunner(
        cfg, on_event=on_event, cancel=cancel, checkpoint_dir=checkpoint_dir, zone=zone
    )
    return runner.run(frame)


class TrainedModel:
    """A trained forecaster ready to predict from recent raw data (real units in and out)."""

    def __init__(self, model: bytes, pipeline: Mapping[str, Any], gap_model: bytes | None = None):
        from gapcast.model_training.forecaster import Forecaster
        from gapcast.model_training.general_model import load_model_bytes
        from gapcast.model_training.intervals import Intervals
        from gapcast.model_training.stored_pipeline import PIPELINE_FORMAT
        from gapcast.processing.pipeline import ProcessingPipeline

        self.doc = dict(pipeline)
        self.model_bytes, self.gap_model_bytes = model, gap_model
        # The archives first: one that would run code is refused as such, whatever else is wrong.
        self.model = load_model_bytes(model)
        self.gap_model = load_model_bytes(gap_model) if gap_model is not None else None
        self.gap: GapPredictor | None = None
        if self.gap_model is not None:
            from gapcast.model_training.gap_predict import GapPredictor

            # A gap model stored before its document existed predicts from its old inputs.
            self.gap = GapPredictor(self.gap_model, self.doc.get("gap_classifier"))
        if int(self.doc.get("format", 1)) != PIPELINE_FORMAT:
            raise InvalidInput(
                f"this model was stored by another gapcast version (pipeline format "
                f"{self.doc.get('format', 1)}, expected {PIPELINE_FORMAT}: its inputs are laid "
                "out differently); train it again with this version",
                field="model",
            )
        self.pipeline = ProcessingPipeline.from_config(
            self.doc["steps"], targets=self.doc["targets"], covariates=self.doc["covariates"]
        )
        intervals = self.doc.get("intervals")
        self.forecaster = Forecaster(
            self.model,
            self.pipeline,
            float(self.doc["correction"]),  # stored as a bool before combinations
            Intervals.from_dict(intervals) if intervals else None,
        )
        self.targets: list[str] = list(self.doc["targets"])
        self.lookback, self.horizon = int(self.doc["lookback"]), int(self.doc["horizon"])
        self.freq_ns = int(self.doc["freq_ns"])

    @property
    def channels(self) -> list[str]:
        """The series a forecast reads: the targets, then the covariates."""
        return [
            *self.targets,
            *self.doc.get("covariates", []),
            *self.doc.get("future_covariates", []),
        ]

    def _recent(self, recent: Any) -> Any:
        """``recent`` as pandas where it is a Series or a polars/pyarrow table (an unnamed
        Series is the target's, when the model has one)."""
        return _as_pandas(recent, self.targets[0] if len(self.targets) == 1 else "value")

    def prepare(self, recent: Data, start: Any = None) -> tuple[ModelBatch, int]:
        """Model inputs of a forecast from ``start`` (see :meth:`predict`) and its origin's
        timestamp in ns."""
        batch, _, history = self._prepare(recent, start, None)
        return batch, history.start_ns

    def _prepare(
        self, recent: Data, start: Any, notes: list[str] | None
    ) -> tuple[ModelBatch, F64 | None, History]:
        """:meth:`prepare`, with the recent-error interval factors of the forecast and the
        prepared history."""
        context = self.forecaster.context_steps
        frame = _frame(self._recent(recent), "recent", channels=self.channels, notes=notes)
        history = self.pipeline.history(frame, _start_ns(start), context=context)
        batch = self.pipeline.model_batch(history.frame, np.array([history.origin]))
        factors = self.forecaster.recent_factors([history.frame], [history.origin])
        return batch, factors, history

    def predict(self, recent: Data, start: Any = None) -> pd.DataFrame:
        """Forecast the ``horizon`` grid steps from ``start`` using the rows of ``recent`` before
        it.

        ``start`` (a timestamp; default: the grid step after the last row of ``recent``, rows
        without values included) is when the forecast begins: during an outage still going on,
        the forecast starts at the requested time, not at the last observed point. A model with
        covariates known in advance (``future_covariates``) needs their values for the forecast
        steps: rows after the history holding only those (targets empty) are read as the
        future, the default start comes before them, and it is refused, naming the covariate,
        without any. The history may have gaps; it is refused, naming ``min_observed``, when
        fewer than that share of the lookback's steps were observed. Returns a DataFrame with a
        ``timestamp`` column (in the zone of ``recent``'s times when they carry one, else UTC),
        one column per target in real units, its calibrated quantiles (``<target>_p10``,
        ``<target>_p50``, ``<target>_p90`` by default) and, when the model has a gap classifier,
        ``p_gap``: the probability of no data there, ``gap_expected``: whether it
        reaches the threshold chosen on the validation part, and ``p_outage``: the probability
        that the horizon holds an outage of at least ``attrs["outage_min_steps"]`` steps (one
        figure for the whole forecast, repeated on each row; absent for gap classifiers stored
        by older versions). ``attrs["lookback_observed"]``: the share of the lookback's steps at
        which each target was really measured — 0 for a sensor dark through the whole lookback,
        whose forecast starts from its last values before it (another target kept the history
        above ``min_observed``).
        """
        return self._forecast(recent, start, None)

    def _forecast(self, recent: Data, start: Any, notes: list[str] | None) -> pd.DataFrame:
        """:meth:`predict`, what it read other than as written appended to ``notes`` when
        given (warned otherwise)."""
        recent = self._recent(recent)
        batch, factors, history = self._prepare(recent, start, notes)
        start_ns = history.start_ns
        point, quantiles = self.forecaster.forecast_with_quantiles(batch, factors)
        # Grid points named as people name them (a monthly grid's by the month's first day).
        ts = self.pipeline.grid_labels(batch.target_ts[0])
        out = pd.DataFrame({"timestamp": pd.to_datetime(ts, unit="ns", utc=True)})
        zone = time_zone(recent) if isinstance(recent, pd.DataFrame) else None
        if zone is not None:
            # Local times in, local times out (as pandas keeps a column's zone).
            out["timestamp"] = out["timestamp"].dt.tz_convert(zone)
        measured = self._measured(history)
        out.attrs["lookback_observed"] = dict(
            zip(self.targets, measured.mean(axis=1).tolist(), strict=True)
        )
        levels = self.forecaster.intervals.quantiles if self.forecaster.intervals else ()
        for i, name in enumerate(self.targets):
            out[name] = point[0, :, i]
            if quantiles is not None:
                for level, values in zip(levels, quantiles, strict=True):
                    out[f"{name}_{quantile_name(level)}"] = values[0, :, i]
        if self.gap is not None:
            p_gap, p_outage = self.gap.predict(
                np.asarray(measured.any(axis=0), dtype=bool),
                np.array([start_ns]),
                self.freq_ns,
                self.lookback,
                self.horizon,
            )
            out["p_gap"] = p_gap[0]
            out["gap_expected"] = p_gap[0] >= self.gap.threshold
            if p_outage is not None:
                out["p_outage"] = float(p_outage[0])
                out.attrs["outage_min_steps"] = self.gap.min_outage
        return out

    def forecast_document(self, recent: Data, start: Any = None) -> dict[str, Any]:
        """:meth:`predict` as JSON-ready rows (what ``POST /runs/{id}/predict`` returns), with
        ``notes``: what was read in ``recent`` other than as written (what :meth:`predict`
        warns as DataWarnings), which a client of the server would otherwise never see."""
        notes: list[str] = []
        forecast = self._forecast(recent, start, notes)
        utc = forecast["timestamp"].dt.tz_convert("UTC")
        forecast["timestamp"] = utc.map(lambda t: t.isoformat())
        rows = forecast.astype(object).where(forecast.notna(), None).to_dict(orient="records")
        outage = None
        if "p_outage" in forecast:
            assert self.gap is not None and self.gap.doc is not None
            p = float(forecast["p_outage"].iloc[0])
            window = self.gap.doc["window"]
            outage = {
                "probability": p,
                "min_steps": int(window["min_steps"]),
                "threshold": float(window["threshold"]),
                "expected": p >= float(window["threshold"]),
            }
            rows = [{k: v for k, v in row.items() if k != "p_outage"} for row in rows]
        return {
            "horizon": self.horizon,
            "targets": self.targets,
            "forecast": [{str(k): v for k, v in row.items()} for row in rows],
            "outage": outage,
            "lookback_observed": forecast.attrs["lookback_observed"],
            "notes": notes,
        }

    def _measured(self, history: History) -> np.ndarray:
        """(targets, lookback) whether each target was really measured at each grid step of the
        lookback, on the grid the forecaster read (binned as training binned: by the readings'
        phase, by calendar month); steps before the history's first are unobserved."""
        rows = [history.frame.channel_index(t) for t in self.targets]
        mask = np.asarray(history.frame.mask)[rows]
        steps = np.arange(history.origin - self.lookback, history.origin)
        inside = (steps >= 0) & (steps < mask.shape[1])
        grid = np.zeros((len(rows), self.lookback), bool)
        grid[:, inside] = mask[:, steps[inside]]
        return grid

    def to_bytes(self) -> bytes:
        """A zip bundle (model.keras, pipeline.json, gap_model.keras) that ``load_model`` reads."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(BUNDLE_FILES["model"], self.model_bytes)
            zf.writestr(BUNDLE_FILES["pipeline"], json.dumps(self.doc))
            if self.gap_model_bytes is not None:
                zf.writestr(BUNDLE_FILES["gap_model"], self.gap_model_bytes)
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.to_bytes())
        return target


def _from_files(files: Mapping[str, bytes], where: str) -> TrainedModel:
    missing = [BUNDLE_FILES[k] for k in ("model", "pipeline") if k not in files]
    if missing:
        raise InvalidInput(f"{where} lacks {', '.join(missing)}", field="model")
    return TrainedModel(files["model"], json.loads(files["pipeline"]), files.get("gap_model"))


def load_model(source: RunResult | Sequence[Artifact] | bytes | str | Path) -> TrainedModel:
    """A :class:`TrainedModel` from a RunResult, its artifacts, a bundle (bytes or file written by
    ``TrainedModel.save``) or a directory holding model.keras and pipeline.json."""
    if isinstance(source, RunResult):
        source = source.artifacts
    if isinstance(source, bytes | bytearray):
        try:
            with zipfile.ZipFile(io.BytesIO(source)) as zf:
                names = set(zf.namelist())
                files = {k: zf.read(v) for k, v in BUNDLE_FILES.items() if v in names}
        except zipfile.BadZipFile as exc:
            raise InvalidInput("expected a gapcast model bundle (zip)", field="model") from exc
        return _from_files(files, "the bundle")
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            found = {
                k: (path / v).read_bytes() for k, v in BUNDLE_FILES.items() if (path / v).exists()
            }
            return _from_files(found, str(path))
        if not path.exists():
            raise InvalidInput(f"no such model file: {path}", field="model")
        return load_model(path.read_bytes())
    artifacts: dict[str, bytes] = {a.kind: a.data for a in source}
    return _from_files(artifacts, "the run's artifacts")
