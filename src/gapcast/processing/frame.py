"""SeriesFrame: the typed series every processing step takes and returns.

Timestamps are int64 UTC nanoseconds (T,), values a float64 matrix (C, T) with NaN where nothing
is known, and ``observed`` a bool matrix (C, T) of the points that were really measured (filled
points are finite but not observed). A frame never changes after creation: its arrays are
read-only views, and steps return new frames that share whatever they did not change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.errors import InvalidInput
from gapcast.processing._time import infer_frequency

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PARTS", "SeriesFrame", "infer_frequency"]

PARTS = ("train", "val", "test")

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    # A read-only *view*: the caller's own array stays writable, ours cannot be changed through it.
    # An array that is already read-only is kept as is, so frames derived from one another share
    # the very same array objects (and pickle them once).
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def _to_ns(timestamps: ArrayLike) -> IntArray:
    arr = np.asarray(timestamps)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]").view(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInput(
            f"expected int64 nanosecond or datetime64 timestamps, received dtype {arr.dtype}",
            field="timestamp",
        )
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class SeriesFrame:
    """A multichannel series on one time axis (see the module docstring for the layout).

    ``split`` is ``(val_start, test_start)``: grid indices where the validation and test parts
    begin, set by the split step; ``None`` means the whole frame is training data.
    """

    timestamps: IntArray
    values: FloatArray
    channels: tuple[str, ...]
    freq_ns: int | None = None
    observed: BoolArray | None = None
    split: tuple[int, int] | None = None
    # Where a channel had no reading, said by its source (a stored dataset's no-reading marks):
    # only resample's hold reads it, to stop holding there. None: nowhere said.
    ended: BoolArray | None = None

    def __post_init__(self) -> None:
        ts = np.asarray(self.timestamps, dtype=np.int64)
        values = np.asarray(self.values, dtype=np.float64)
        if ts.ndim != 1:
            raise InvalidInput(f"expected timestamps of shape (T,), received {ts.shape}")
        if values.ndim != 2 or values.shape[1] != ts.shape[0]:
            raise InvalidInput(
                f"expected values of shape (channels, {ts.shape[0]}), received {values.shape}"
            )
        if len(self.channels) != values.shape[0]:
            raise InvalidInput(
                f"expected {values.shape[0]} channel names, received {len(self.channels)}"
            )
        if len(set(self.channels)) != len(self.channels):
            raise InvalidInput(f"channel names must be unique, received {list(self.channels)}")
        observed = ~np.isnan(values) if self.observed is None else np.asarray(self.observed, bool)
        if observed.shape != values.shape:
            raise InvalidInput(
                f"expected an observed mask of shape {values.shape}, received {observed.shape}"
            )
        if self.freq_ns is not None and self.freq_ns <= 0:
            raise InvalidInput(f"expected a positive frequency, received {self.freq_ns} ns")
        if self.split is not None:
            val_start, test_start = self.split
            if not 0 <= val_start <= test_start <= ts.shape[0]:
                raise InvalidInput(f"invalid split {self.split} for {ts.shape[0]} points")
        object.__setattr__(self, "timestamps", _frozen(ts))
        object.__setattr__(self, "values", _frozen(values))
        object.__setattr__(self, "observed", _frozen(observed))
        object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))
        if self.ended is not None:
            ended = np.asarray(self.ended, dtype=bool)
            if ended.shape != values.shape:
                raise InvalidInput(
                    f"expected an ended mask of shape {values.shape}, received {ended.shape}"
                )
            object.__setattr__(self, "ended", _frozen(ended))

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        timestamps_ns: ArrayLike,
        values: ArrayLike,
        channels: Sequence[str],
        freq_ns: int | None = None,
    ) -> SeriesFrame:
        """A frame from raw arrays; values may be (T,) for one channel or (C, T).

        Unsorted timestamps are sorted (stably, so duplicates keep their order for 'first'/'last').
        An infinite value is never a measurement: it is missing, as in an imported file.
        """
        ts = _to_ns(timestamps_ns)
        vals = np.asarray(values, dtype=np.float64)
        if bool(np.isinf(vals).any()):
            vals = np.where(np.isinf(vals), np.nan, vals)  # a copy: the caller's array stays
        if vals.ndim == 1:
            vals = vals[np.newaxis, :]
        shapes_match = ts.ndim == 1 and vals.ndim == 2 and vals.shape[1] == ts.shape[0]
        if shapes_match and ts.size > 1 and bool(np.any(ts[1:] < ts[:-1])):
            order = np.argsort(ts, kind="stable")
            ts, vals = ts[order], vals[:, order]
        return cls(timestamps=ts, values=vals, channels=tuple(channels), freq_ns=freq_ns)

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        freq_ns: int | None = None,
        *,
        refuse_repeated: bool = False,
        read: Sequence[str] = (),
    ) -> SeriesFrame:
        """A frame from a DataFrame with a time column and numeric value columns. The time is a
        ``timestamp`` column, else a DatetimeIndex, else the only column of datetime type, else
        a column named as ``gapcast import`` looks for (time, datetime, date, ts). Tz-aware
        times are converted to UTC; naive times are taken as UTC; numbers are epoch seconds,
        milli-, micro- or nanoseconds, told apart by size as ``gapcast import`` does.
        ``refuse_repeated``: a time on several rows with different values is an error naming
        the rows (the library's entry points), not rows for resampling to merge. ``read``: the
        columns a trained model reads (``predict``); one of them holding only text is refused as
        the model's input, not as a status column to leave out."""
        import pandas as pd

        df = periods_as_times(df)
        name = time_column(df)
        if name is not None:
            times = df[name]
            data = df.drop(columns=name)
        elif isinstance(df.index, pd.DatetimeIndex):
            times = df.index.to_series()
            data = df
        else:
            raise InvalidInput(
                "expected a 'timestamp' column (or time, datetime, date, ts), a DatetimeIndex or "
                f"one column of datetime type, received columns {list(df.columns)}"
                + _time_hint(df),
                field="timestamp",
            )
        parsed = _parse_times(times, str(name) if name is not None else "index")
        if bool(parsed.isna().any()):
            empty = np.flatnonzero(parsed.isna().to_numpy())
            raise InvalidInput(
                f"the timestamp column has {empty.size} empty or invalid cells, first at "
                f"{_row_label(df.index, int(empty[0]))}: drop those rows first (in pandas: "
                f"df.dropna(subset=[{name!r}]))",
                field="timestamp",
            )
        data = numbers_as_floats(data)
        non_numeric = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        if non_numeric:
            # Times on several rows beside a column of names: one row per series and time.
            long = repr(name) if name is not None else "df.index"
            raise _text_column(
                data, non_numeric, read, long=long if bool(parsed.duplicated().any()) else None
            )
        if data.shape[1] == 0:
            raise InvalidInput("expected at least one value column", field="columns")
        ts = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        values = data.to_numpy(dtype=np.float64, na_value=np.nan).T
        columns = [str(c) for c in data.columns]
        if refuse_repeated:
            from gapcast.processing.repeated_times import refuse_repeated_times

            # Times without a zone (naive datetimes or text without an offset) read as UTC.
            wall_clock = not isinstance(times.dtype, pd.DatetimeTZDtype) and not (
                pd.api.types.is_numeric_dtype(times.dtype) or _has_offsets(times)
            )
            refuse_repeated_times(
                ts.view(np.int64), values, columns, df.index, name, wall_clock=wall_clock
            )
        return cls.from_arrays(ts, values, columns, freq_ns=freq_ns)

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame with a tz-aware UTC ``timestamp`` column and one column per channel."""
        import pandas as pd

        out: dict[str, Any] = {
            "timestamp": pd.to_datetime(np.asarray(self.timestamps), unit="ns", utc=True)
        }
        out.update({name: np.asarray(self.values[i]) for i, name in enumerate(self.channels)})
        return pd.DataFrame(out)

    # -- derived frames ------------------------------------------------------------------------

    def replace(self, **changes: Any) -> SeriesFrame:
        """A new frame with some fields changed (arrays not named are shared, not copied)."""
        return dataclasses.replace(self, **changes)

    def select(self, channels: Sequence[str]) -> SeriesFrame:
        """A frame with only ``channels``, in that order."""
        index = [self.channel_index(name) for name in channels]
        if index == list(range(self.n_channels)):
            return self
        return self.replace(
            values=self.values[index],
            observed=self.mask[index],
            channels=tuple(channels),
            ended=None if self.ended is None else self.ended[index],
        )

    def from_first_reading(self, channels: Sequence[str]) -> SeriesFrame:
        """The frame from the first row holding a reading of ``channels`` on: the rows before
        it (other series of a dataset recording before this one was installed) are no outage
        of it. Unchanged when ``channels`` never read, or read in the first row."""
        seen = np.flatnonzero(np.asarray(self.select(channels).mask).any(axis=0))
        if not seen.size or seen[0] == 0:
            return self
        return self.slice(int(seen[0]), self.n_points)

    def slice(self, start: int, stop: int) -> SeriesFrame:
        """Points ``start:stop`` as a frame of views (the split is dropped)."""
        return SeriesFrame(
            timestamps=self.timestamps[start:stop],
            values=self.values[:, start:stop],
            channels=self.channels,
            freq_ns=self.freq_ns,
            observed=self.mask[:, start:stop],
            ended=None if self.ended is None else self.ended[:, start:stop],
        )

    def train_part(self) -> SeriesFrame:
        """The training part: what trend and scale are fitted on."""
        return self if self.split is None else self.slice(0, self.split[0])

    def part_bounds(self) -> dict[str, tuple[int, int]]:
        """``{"train": (0, a), "val": (a, b), "test": (b, T)}`` grid index ranges."""
        n = self.n_points
        val_start, test_start = self.split if self.split is not None else (n, n)
        return {"train": (0, val_start), "val": (val_start, test_start), "test": (test_start, n)}

    # -- properties ----------------------------------------------------------------------------

    @property
    def mask(self) -> BoolArray:
        """``observed`` with its type narrowed (it is always set after construction)."""
        assert self.observed is not None
        return self.observed

    @property
    def n_points(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.values.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.timestamps.nbytes + self.values.nbytes + self.mask.nbytes)

    def channel_index(self, name: str) -> int:
        try:
            return self.channels.index(name)
        except ValueError:
            raise InvalidInput(
                f"unknown channel {name!r}; the data has {list(self.channels)}", field="channels"
            ) from None

    def __len__(self) -> int:
        return self.n_points

    def __repr__(self) -> str:
        return (
            f"SeriesFrame(channels={list(self.channels)}, n_points={self.n_points}, "
            f"freq_ns={self.freq_ns}, split={self.split})"
        )


def time_zone(df: pd.DataFrame) -> Any | None:
    """The zone of a DataFrame's times (as ``SeriesFrame.from_pandas`` finds them), None when
    they are naive or not datetimes: what a forecast for that frame is shown in."""
    import pandas as pd

    name = time_column(df)
    times = df[name] if name is not None else df.index
    dtype = times.dtype
    return dtype.tz if isinstance(dtype, pd.DatetimeTZDtype) else None


def periods_as_times(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a PeriodIndex and each column of pandas Periods (monthly sales as
    ``df.to_period('M')`` or ``pd.period_range`` give them) as the periods' first instants,
    as ``gapcast import`` reads a file's '2024-03' or '2024Q1': a month is its first day."""
    import pandas as pd

    periods = [c for c in df.columns if isinstance(df[c].dtype, pd.PeriodDtype)]
    if not periods and not isinstance(df.index, pd.PeriodIndex):
        return df
    out = df.copy()
    if isinstance(out.index, pd.PeriodIndex):
        out.index = out.index.to_timestamp(how="start")
    for column in periods:
        out[column] = out[column].dt.to_timestamp(how="start")
    return out


def time_column(df: pd.DataFrame) -> Any | None:
    """The column holding the times (see ``SeriesFrame.from_pandas``), None for the index."""
    import pandas as pd

    from gapcast.ingest import TIMESTAMP_NAMES

    if "timestamp" in df.columns:
        return "timestamp"
    if isinstance(df.index, pd.DatetimeIndex):
        return None
    typed = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    if len(typed) == 1:
        return typed[0]
    for wanted in TIMESTAMP_NAMES:
        for column in df.columns:
            if str(column).strip().lower() == wanted:
                return column
    return None


def numbers_as_floats(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with each object column whose cells are all numbers (``decimal.Decimal`` from a
    SQL NUMERIC column, as ``pd.read_sql`` gives them; ints and floats mixed) as floats; text is
    left for the refusal, since '1,5' and '1.500' read two ways."""
    import numbers

    import pandas as pd

    out = data
    for column in data.columns:
        if data[column].dtype != object:
            continue
        cells = data[column].dropna()
        if len(cells) and all(
            isinstance(v, numbers.Number) and not isinstance(v, bool) for v in cells
        ):
            out = data.copy() if out is data else out
            out[column] = pd.to_numeric(data[column]).astype(np.float64)
    return out


def _time_hint(df: pd.DataFrame) -> str:
    """How to name the time column, when one column's text reads as times ('month' of
    '2018-01's): the rename that makes it the time, not a guess made silently."""
    from gapcast.ingest.times import looks_like_times

    looks = [c for c in df.columns if looks_like_times(df[c])]
    if len(looks) != 1:
        return ""
    return f"; {looks[0]!r} looks like one: df.rename(columns={{{looks[0]!r}: 'timestamp'}})"


def plain_label(label: object) -> object:
    """A row label as people write it: 3, not np.int64(3)."""
    return label.item() if isinstance(label, np.generic) else label


def _row_label(index: pd.Index, position: int) -> str:
    """How a user finds row ``position`` of a frame: its index label, and the position too when
    the label is not it (a filtered or time-indexed frame)."""
    label = index[position]
    label = plain_label(label)
    if isinstance(label, int) and label == position:
        return f"row {position}"
    return f"row {label!r} (position {position})"


def _text_column(
    data: pd.DataFrame, columns: Sequence[Any], read: Sequence[str] = (), long: str | None = None
) -> InvalidInput:
    """The refusal of value ``columns`` that are not numeric, naming the first one's first cell
    that is not a number (a marker such as 'n/a' in a column read as text) and how to read it.
    ``read``: the columns a trained model reads, which cannot be left out; ``long``: the time
    column (as pandas names it in ``pivot_table``) when times repeat, so a column of only text
    most likely names each row's series."""
    import pandas as pd

    column, *rest = columns
    cells = data[column]
    try:
        numbers = pd.to_numeric(cells, errors="coerce")
    except (TypeError, ValueError):  # cells holding lists or other objects: none is a number
        numbers = pd.Series(np.nan, index=cells.index)
    text = cells.dtype == object or pd.api.types.is_string_dtype(cells.dtype)
    bad = np.flatnonzero((numbers.isna() & cells.notna()).to_numpy()) if text else np.empty(0)
    others = f" (so do {', '.join(repr(c) for c in rest)})" if rest else ""
    fix = (
        f"convert it first (in pandas: pd.to_numeric(df[{column!r}], errors='coerce') reads "
        "cells that are not numbers as missing) or import the file with gapcast import, which "
        "reads units, decimal commas and markers such as 'n/a'"
    )
    if text and bad.size and not bool(numbers.notna().any()):
        # Nothing in it reads as a number: a status or comment column beside the readings.
        what = (
            f"only text, first {cells.iloc[int(bad[0])]!r} at {_row_label(data.index, int(bad[0]))}"
        )
        fix = (
            f"leave it out (in pandas: df.drop(columns=[{column!r}])), or name the series to "
            "train on (the configuration's target): a column no model reads is not read"
        )
        if str(column) in read:
            fix = (
                "the model reads this column, so it needs its readings as numbers (missing "
                "readings as NaN or None)"
            )
        elif long is not None:
            fix = (
                f"if it names each row's series (a long format: times repeat), give each series "
                f"a column first (in pandas: df.pivot_table(index={long}, columns={column!r})); "
                "else " + fix
            )
    elif bad.size:
        what = (
            f"{bad.size} cell(s) that are not numbers, first {cells.iloc[int(bad[0])]!r} at "
            f"{_row_label(data.index, int(bad[0]))}"
        )
    elif text and bool(numbers.notna().any()):
        first = int(np.flatnonzero(numbers.notna().to_numpy())[0])
        what = (
            f"numbers written as text, first {cells.iloc[first]!r} at "
            f"{_row_label(data.index, first)}"
        )
    else:  # a column of another type (dates, durations)
        what = f"values of type {cells.dtype}"
        fix = "convert it to numbers first"
    return InvalidInput(
        f"expected numeric value columns; column {column!r} holds {what}{others}: {fix}",
        field=f"columns.{column}",
    )


def _has_offsets(times: pd.Series) -> bool:
    """Whether a column's times carry their zone: text ending in Z or an offset, or datetime
    objects with a tzinfo (judged by the first one; a mixed column was refused already)."""
    known = times.dropna()
    if not len(known):
        return False
    first = known.iloc[0]
    if isinstance(first, str):
        return re.search(r"(?:Z|[+-]\d\d:?\d\d)$", first.strip()) is not None
    return getattr(first, "tzinfo", None) is not None


def _parse_times(times: pd.Series, name: str) -> pd.Series:
    """The time column in UTC. Text must be ISO 8601: '01/02/2024' is the 1st of February to
    some and the 2nd of January to others, and pandas would guess (month first) without a word.
    Datetimes with and without a time zone in one column are refused too: a naive time is taken
    as UTC, which for the others' zone is rarely what was meant."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(times.dtype) and not pd.api.types.is_bool_dtype(times.dtype):
        return _epoch_times(times, name)
    if times.dtype == object or pd.api.types.is_string_dtype(times.dtype):
        text = times.map(lambda v: isinstance(v, str))
        if bool(text.all()) and len(times):
            try:
                return pd.to_datetime(times, utc=True, format="ISO8601")
            except (ValueError, TypeError):
                bad = _first_unparsed(times)
                raise InvalidInput(
                    f"the time column '{name}' holds text that is not ISO 8601 ({bad}): dates "
                    "such as 01/02/2024 read differently day first and month first, so gapcast "
                    "does not guess; parse the column first (pd.to_datetime(df[...], "
                    "format='%d/%m/%Y %H:%M'), say) or import the file with gapcast import "
                    "--time-format",
                    field="timestamp",
                ) from None
        aware = times.map(lambda v: getattr(v, "tzinfo", None) is not None)
        if bool(aware.any()) and not bool(aware.all()):
            rows = (int(aware.to_numpy().argmax()), int((~aware.to_numpy()).argmax()))
            raise InvalidInput(
                f"the time column '{name}' mixes times with a time zone (row {rows[0]}: "
                f"{times.iloc[rows[0]]}) and without one (row {rows[1]}: {times.iloc[rows[1]]}); "
                "give them all one zone (Series.dt.tz_localize, or tz_convert for aware ones)",
                field="timestamp",
            )
    try:
        return pd.to_datetime(times, utc=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot parse the timestamp column: {exc}", field="timestamp") from exc


def _epoch_times(times: pd.Series, name: str) -> pd.Series:
    """Numbers as epoch times, in seconds, milli-, micro- or nanoseconds by their size, as
    ``gapcast import`` reads them: a database's Unix seconds or a logger's milliseconds are not
    nanoseconds of January 1970."""
    from gapcast.epoch import epoch_out_of_range, epoch_unit, from_epoch

    known = times.dropna()
    if known.empty:
        raise InvalidInput(f"the time column '{name}' has no values", field="timestamp")
    unit = epoch_unit(known)
    bad = np.flatnonzero(epoch_out_of_range(times.fillna(0), unit))
    if bad.size:
        row = int(bad[0])
        raise InvalidInput(
            f"the time column '{name}' holds numbers, read as epoch {unit} by their size, and "
            f"row {row} ({times.iloc[row]}) lies outside the years 1677-2262 that a timestamp "
            "holds; convert the column first (pd.to_datetime(df[...], unit=...))",
            field="timestamp",
        )
    return from_epoch(times, unit)


def _first_unparsed(times: pd.Series) -> str:
    """'row 3: "01/02/2024 00:00"', the first cell that is not ISO 8601."""
    import pandas as pd

    parsed = pd.to_datetime(times, utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    return f"row {int(bad[0])}: {times.iloc[int(bad[0])]!r}" if bad.size else "some rows"
