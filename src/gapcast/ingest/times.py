"""The time column: finding it, reading ISO 8601, epoch numbers or a given format, and local
times of a zone; refusals name the lines.
"""

from __future__ import annotations

import re
import warnings
from typing import Literal, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.epoch import SPREADSHEET, epoch_out_of_range, epoch_unit, from_epoch
from gapcast.errors import InvalidInput
from gapcast.ingest.common import FileKind, rows_refused, split_unit
from gapcast.ingest.periods import is_period_name, read_periods, read_years
from gapcast.ingest.time_formats import infer_time_format, with_midnight
from gapcast.ingest.time_parts import find_time_parts, join_time_parts, named_parts
from gapcast.ingest.zone_abbreviations import read_abbreviated

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$")
TIMESTAMP_NAMES = ("timestamp", "time", "datetime", "date", "ts")
# The same in the languages of the exports users bring most (German, French, Spanish, Dutch).
LOCAL_TIMESTAMP_NAMES = (
    *("zeitstempel", "zeitpunkt", "datumzeit", "horodatage", "fechahora", "tijdstempel"),
    *("tijdstip", "datum", "fecha", "zeit", "tijd"),
)
# Inside the range of a nanosecond timestamp (1677-09-21 to 2262-04-11), with a margin.
_FIRST = pd.Timestamp("1677-09-22", tz="UTC")
_LAST = pd.Timestamp("2262-04-10", tz="UTC")


# Epoch numbers by the names databases, Kafka and JavaScript give them ('epoch', 'unix_time',
# 'ts_ms', 'timestamp_ms'): read as the time column when they hold epoch-sized numbers, so an
# ML log's 'epoch' column of 1, 2, 3 is not taken for seconds since 1970.
_EPOCH_NAME = re.compile(
    r"^(?:epoch|unix|posix|unixepoch|epochtime|unixtime|posixtime|unixtimestamp|timestamp|time|ts)"
    r"(?:s|sec|secs|seconds|ms|millis|milliseconds|us|micros|ns|nanos)?$"
)
EPOCH_SIZE = 1e8  # seconds since 1970 at March 1973; later times in finer units are larger


def _bare(column: str) -> str:
    """A header as names are matched: lower case, without its unit, spaces, '_' or '-'."""
    return re.sub(r"[\s_-]+", "", split_unit(column)[0].lower())


def _epoch_numbers(column: pd.Series) -> bool:
    """Whether every cell of ``column`` (a CSV's text, or a Parquet file's numbers) is a number
    and the typical one is epoch-sized."""
    if pd.api.types.is_bool_dtype(column):
        return False
    numbers = pd.to_numeric(column.dropna().head(1_000), errors="coerce")
    return bool(len(numbers) and numbers.notna().all() and numbers.abs().median() >= EPOCH_SIZE)


def find_timestamp_column(df: pd.DataFrame, wanted: str | None) -> str:
    columns = [str(c) for c in df.columns]
    if wanted is not None:
        if (
            wanted not in columns
            and not _pair_named(columns, wanted)
            and not named_parts(columns, wanted)
        ):
            raise InvalidInput(
                f"timestamp column {wanted!r} not found; "
                f"the file has columns: {', '.join(columns)}",
                field="timestamp_column",
            )
        return wanted
    for name in (*TIMESTAMP_NAMES, *LOCAL_TIMESTAMP_NAMES):
        for column in columns:
            # 'Timestamp (UTC)', 'time [s]': a bracketed unit after the name, as values have.
            # 'Date Time' (HOBO), 'Date_Time', 'date-time': a datetime
            if _bare(column) == name:
                return column
    for column in columns:
        if _EPOCH_NAME.match(_bare(column)) and _epoch_numbers(df[column]):
            return column
    parts = find_time_parts(df)
    if parts:
        return "+".join(parts)  # read as one time column by join_time_columns
    for column in columns:
        # 'Month' of 'Jan-2024's, 'Quarter' of '2024Q1's, 'Year' of 2024s.
        if is_period_name(column) and _periods(df[column], column):
            return column
    typed = [c for c in columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    if len(typed) == 1:
        return typed[0]  # a Parquet file's one column of times, whatever its name
    dated = [c for c in columns if looks_like_times(pd.Series([c]), sample=1)]
    if dated:
        # The file's first line is a reading, not a header: naming it as the column would lose
        # that reading and call every later one by its value.
        raise InvalidInput(
            f"the file has no header line: its first line ({', '.join(columns)}) is data, and "
            f"{dated[0]!r} a time; add a header line naming the columns (timestamp,value, say)",
            field="timestamp_column",
        )
    looks = [c for c in columns if looks_like_times(df[c])]
    of_day = [c for c in looks if _times_of_day(df[c])]
    dates = [c for c in looks if c not in of_day]
    if len(dates) == 1 and len(of_day) == 1:
        hint = (
            f"; {dates[0]!r} and {of_day[0]!r} look like a date and a time of day: "
            f"--timestamp-column '{dates[0]}+{of_day[0]}'"
        )
    elif len(dates) == 1:
        hint = f"; {dates[0]!r} looks like one: --timestamp-column {dates[0]!r}"
    else:
        hint = ". Name it with --timestamp-column"
    raise InvalidInput(
        "no timestamp column: expected a column named 'timestamp' (or time, datetime, date, ts, "
        "or epoch, unix_time, ts_ms for epoch numbers); "
        f"the file has columns: {', '.join(columns)}{hint}",
        field="timestamp_column",
    )


def join_time_columns(
    df: pd.DataFrame, ts_name: str, kind: FileKind = "csv"
) -> tuple[pd.DataFrame, str, str | None]:
    """Loggers and spreadsheets often write the date and the time of day in two columns
    (``Date,Time``): those two read as one time column, named ``Date+Time``. The pair is found by
    name next to the time column found (a ``date`` or ``day`` column beside a column of times of
    day, or a ``time`` column of times of day beside a column of dates) or named as
    ``Date+Time``. Times in parts (``year+month+day+hour``) are read by
    :func:`join_time_parts`. Returns the frame, the time column's name and a note saying what
    was joined."""
    columns = [str(c) for c in df.columns]
    parts = named_parts(columns, ts_name)
    if parts:
        return join_time_parts(df, parts, kind)
    pair = _pair_named(columns, ts_name)
    if pair is None:
        pair = _pair_found(df, ts_name)
        if pair is None:
            if ts_name in columns and _times_of_day(df[ts_name]):
                raise InvalidInput(
                    f"timestamp column {ts_name!r} holds times of day without a date (first: "
                    f"{str(df[ts_name].iloc[0])!r}); name the date column and this one together, "
                    f"--timestamp-column 'Date+{ts_name}'",
                    field="timestamp_column",
                )
            return df, ts_name, None
    date, time = pair
    joined = f"{date}+{time}"
    text = df[date].astype(str).str.strip() + " " + df[time].astype(str).str.strip()
    out = df.drop(columns=[date, time])
    out.insert(0, joined, text)
    return out, joined, f"times read from the columns {date!r} (date) and {time!r} (time of day)"


def _pair_named(columns: list[str], wanted: str) -> tuple[str, str] | None:
    """``('Date', 'Time')`` for ``wanted`` 'Date+Time' when the file has both and no column of
    that very name."""
    if wanted in columns or "+" not in wanted:
        return None
    date, _, time = wanted.partition("+")
    return (date, time) if date in columns and time in columns and date != time else None


_DATE_NAMES = ("date", "day", "datum", "fecha", "jour", "dag")
_TIME_OF_DAY_NAMES = ("time", "uhrzeit", "zeit", "heure", "hora", "tijd")
_TIME_OF_DAY = r"^\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?[AaPp]\.?[Mm]\.?)?$"


def _pair_found(df: pd.DataFrame, ts_name: str) -> tuple[str, str] | None:
    others = [str(c) for c in df.columns if str(c) != ts_name]

    def named(names: tuple[str, ...]) -> list[str]:
        return [c for c in others if split_unit(c)[0].lower() in names]

    if _times_of_day(df[ts_name]):
        dates = [c for c in named(_DATE_NAMES) if not _times_of_day(df[c])]
        return (dates[0], ts_name) if dates else None
    text = df[ts_name].dropna().astype(str).str.strip()
    if pd.api.types.is_numeric_dtype(df[ts_name]) or text.str.contains(":").any():
        return None  # a full time already, or epoch numbers
    times = [c for c in named(_TIME_OF_DAY_NAMES) if _times_of_day(df[c])]
    return (ts_name, times[0]) if times else None


def _times_of_day(column: pd.Series) -> bool:
    """Whether a column's values are all times of day (``14:30``, ``14:30:05``, ``2:30 PM``)."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    # The head first: a column of full times (the usual case) is told in a hundred values, not
    # a regex over a million.
    for values in (column.head(100), column):
        text = values.dropna().astype(str).str.strip()
        text = text[text != ""]
        if not (len(text) and text.str.match(_TIME_OF_DAY).all()):
            return False
    return True


def _periods(column: pd.Series, name: str) -> bool:
    """Whether a column's first values name periods (quarters, months, weeks, years) or times."""
    head = column.dropna().head(20)
    if read_years(head, name) is not None:
        return True
    if pd.api.types.is_numeric_dtype(column):
        return False
    # The first value says it: a column of periods with a typo in it is still the time column,
    # refused by line.
    return read_periods(head.head(1).astype(str)) is not None or looks_like_times(head.head(1))


def looks_like_times(column: pd.Series, sample: int = 20) -> bool:
    """Whether a text column's first values read as dates (numbers never do: epoch seconds and
    measurements look alike)."""
    if pd.api.types.is_numeric_dtype(column):
        return False
    head = column.dropna().astype(str).str.strip()
    head = head[head != ""].head(sample)
    if head.empty or pd.to_numeric(head, errors="coerce").notna().any():
        return False
    if not head.str.contains(r"\d[-./:T ]\d|\d[-./ ][A-Za-z]", regex=True).all():
        return False  # dateutil reads '100,5' as the year 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it infers a format per element
        parsed = pd.to_datetime(head, errors="coerce", format="mixed", dayfirst=True)
    return bool(parsed.notna().all() and parsed.dt.year.between(1800, 2200).all())


def parse_timestamps(
    column: pd.Series,
    name: str,
    kind: FileKind,
    time_format: str | None = None,
    timezone: str | None = None,
    notes: list[str] | None = None,
    repeated: Literal["order", "first"] = "order",
    localized: list[int] | None = None,
) -> NDArray[np.int64]:
    """The column's times as UTC nanoseconds; refusals name the lines. ``notes`` gets what was
    read other than as written would suggest (numbers read as spreadsheet serial dates);
    ``localized`` the number of times read as wall-clock times in ``timezone``."""
    expected = "ISO 8601 or epoch seconds"
    # Which rows were written without an offset: they are wall-clock times in ``timezone``.
    naive = np.zeros(len(column), dtype=bool)
    ends = np.zeros(len(column), dtype=bool)  # written at 24:00 of the day before
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
        naive[:] = getattr(column.dtype, "tz", None) is None
    elif time_format is not None:
        # An explicit strftime format (day-first dates such as 31.12.2024 23:45): naive times
        # are UTC, as in ISO 8601 without an offset; a %z in the format reads the offset.
        expected = f"time format {time_format!r}"
        text = column.astype(str).str.strip()
        given = with_midnight(time_format)
        try:
            parsed, dates_alone = given.parse_counting(text)
            if parsed.isna().any():
                text, ends = end_of_day(text, parsed.isna().to_numpy())
                if ends.any():
                    parsed, dates_alone = given.parse_counting(text)
        except ValueError as exc:
            raise InvalidInput(
                f"time format {time_format!r} is not a valid strftime format: {exc}",
                field="time_format",
            ) from exc
        naive[:] = "%z" not in time_format and "%Z" not in time_format
        if dates_alone and notes is not None:
            notes.append(
                f"timestamp column {name!r}: {dates_alone:,} time(s) written as the date alone "
                f"read as midnight ({given.midnight!r})"
            )
    else:
        text = column.astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        if numeric.notna().all() and (years := read_years(numeric, name)) is not None:
            parsed = years
            if notes is not None:
                notes.append(
                    f"timestamp column {name!r}: numbers read as years ({text.iloc[0]} "
                    f"is {parsed.iloc[0].date().isoformat()})"
                )
        elif numeric.notna().all():
            # All numbers: epoch seconds (fractions allowed), or milli-, micro- or nanoseconds,
            # told apart by size (JavaScript, Kafka and many loggers write milliseconds).
            unit = epoch_unit(numeric)
            _refuse_out_of_range(column, epoch_out_of_range(numeric, unit), name, kind)
            parsed = from_epoch(numeric, unit)
            if unit == SPREADSHEET and notes is not None:
                notes.append(
                    f"timestamp column {name!r}: numbers read as spreadsheet serial dates, days "
                    f"since 1899-12-30 ({text.iloc[0]} is {parsed.iloc[0].isoformat()})"
                )
        else:
            parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
            written = np.zeros(len(text), dtype=bool)
            if parsed.isna().any():
                text, ends = end_of_day(text, parsed.isna().to_numpy())
                if ends.any():
                    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
            if parsed.isna().any():  # only then: a regex over the rows that did not read
                parsed, written, zones = read_abbreviated(
                    text, parsed, timezone, column, name, kind
                )
                if zones and notes is not None:
                    notes.append(
                        f"timestamp column {name!r}: times read with their zone abbreviations "
                        f"({', '.join(zones)})" + (f" in {timezone}" if timezone else "")
                    )
            if parsed.isna().all() and (periods := read_periods(text)) is not None:
                # Rows named by their period: each read as its first instant.
                parsed, named = periods
                if notes is not None:
                    notes.append(
                        f"timestamp column {name!r}: {named} read as their first day "
                        f"({text.iloc[0]!r} is {parsed.iloc[0].date().isoformat()})"
                    )
            elif parsed.isna().all() and (fmt := infer_time_format(text, name)) is not None:
                # Not one ISO 8601 time: a logger's or spreadsheet's own format, if one reads all.
                parsed = fmt.parse(text)
                if notes is not None:
                    notes.append(
                        f"timestamp column {name!r}: times read as {fmt}, the one common "
                        "format that reads them all"
                    )
            if timezone is not None:  # a regex over every row: only when it matters
                naive = ~text.str.contains(_OFFSET).to_numpy() & ~written
    bad = parsed.isna().to_numpy()
    if bad.any():
        hint = "" if time_format else "; give the format with time_format (--time-format)"
        _refuse_times(
            column,
            np.flatnonzero(bad),
            name,
            kind,
            f"cannot parse {{n}} value(s) as {expected}",
            hint,
        )
    if ends.any():
        parsed[ends] += pd.Timedelta(days=1)
        if notes is not None:
            notes.append(
                f"timestamp column {name!r}: {int(ends.sum()):,} time(s) written 24:00 read as "
                "the next day's 00:00"
            )
    if timezone is not None and naive.any():
        parsed = _localize(parsed, naive, timezone, column, name, kind, repeated)
        if localized is not None:
            localized.append(int(naive.sum()))
    _refuse_out_of_range(column, ((parsed < _FIRST) | (parsed > _LAST)).to_numpy(), name, kind)
    ns = parsed.dt.as_unit("ns").astype("int64").to_numpy()
    # Stored at microsecond precision on every database, so round here for an exact round trip.
    return ns - ns % 1000


def typed_zone(times: pd.Series | pd.Index) -> str | None:
    """The IANA zone a column (or index) of times is typed with — Parquet's
    ``timestamp[ns, tz=Europe/Berlin]``, a pandas column in a zone — or None: untyped, naive,
    UTC, or a fixed offset ('UTC+01:00'), which names no zone's changes of the clocks."""
    from zoneinfo import ZoneInfo

    tz = getattr(getattr(times, "dtype", None), "tz", None)
    name = str(tz) if tz is not None else ""
    if not name or name in ("UTC", "Etc/UTC"):
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None
    return name


def check_timezone(timezone: str) -> str:
    """An IANA time zone name ('Europe/Berlin'), refused with a clear message otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise InvalidInput(
            f"timezone: {timezone[:80]!r} is not an IANA time zone such as 'Europe/Berlin' or "
            "'America/New_York'",
            field="timezone",
        ) from exc
    return timezone


def _localize(
    parsed: pd.Series,
    naive: NDArray[np.bool_],
    timezone: str,
    column: pd.Series,
    name: str,
    kind: FileKind,
    repeated: Literal["order", "first"] = "order",
) -> pd.Series:
    """``parsed`` (UTC) with its ``naive`` rows, read as UTC so far, read as wall-clock times in
    ``timezone`` instead. The hour repeated when clocks go back is told apart by the rows'
    order (the first is the earlier), or is the first of the two (``repeated='first'``: each
    time is written once, as in a table of a column per time of day). A time the clocks
    skipped is refused by row, but for the instant they jump: '02:00' in the old offset is
    '03:00' in the new, one instant (a reading labelled by the end of its interval)."""
    wall = parsed[naive].dt.tz_convert(None)
    either = np.ones(len(wall), dtype=bool)  # a repeated time is not a skipped one
    local = wall.dt.tz_localize(timezone, ambiguous=either, nonexistent="NaT")
    skipped = local.isna().to_numpy(copy=True)
    if skipped.any():
        before = wall - pd.Timedelta(1, "ns")
        jump = before.dt.tz_localize(timezone, ambiguous=either, nonexistent="NaT").notna()
        skipped &= ~jump.to_numpy()
    if skipped.any():
        what = f"{{n}} time(s) that do not exist in {timezone} (the clocks skipped them)"
        _refuse_times(column, np.flatnonzero(naive)[skipped], name, kind, what)
    try:
        first = either if repeated == "first" else "infer"
        local = wall.dt.tz_localize(timezone, ambiguous=first, nonexistent="shift_forward")
    except ValueError as exc:  # pandas' AmbiguousTimeError is a ValueError
        twice = (
            wall.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
            .isna()
            .to_numpy()
        )
        what = (
            f"{{n}} time(s) happen twice in {timezone} (the clocks went back) and the rows' "
            "order cannot tell which is which,"
        )
        rows = np.flatnonzero(naive)[twice] if twice.any() else np.flatnonzero(naive)
        _refuse_times(column, rows, name, kind, what, "; write them with their UTC offset", exc)
    out = parsed.copy()
    out[naive] = local.dt.tz_convert("UTC").to_numpy()
    return out


def _refuse_times(
    column: pd.Series,
    rows: NDArray[np.intp],
    name: str,
    kind: FileKind,
    what: str,
    hint: str = "",
    cause: BaseException | None = None,
) -> NoReturn:
    """Refuse the file for the time column's ``rows``: ``what`` (with ``{n}``, their count), where
    they are, the first as written, and the ``hint`` that fixes it."""
    raise rows_refused(
        column,
        rows,
        kind,
        f"timestamp column {name!r}: {what.format(n=len(rows))}",
        field="timestamp_column",
        after=f" (first: {str(column.iloc[int(rows[0])])!r}){hint}",
    ) from cause


def _refuse_out_of_range(
    column: pd.Series, bad: NDArray[np.bool_], name: str, kind: FileKind
) -> None:
    """Times outside what a nanosecond timestamp holds (years 1677-2262) are refused by row."""
    if bad.any():
        what = f"{{n}} value(s) outside the supported range {_FIRST.date()} to {_LAST.date()}"
        _refuse_times(column, np.flatnonzero(bad), name, kind, what)


def clocks_went_back(times: NDArray[np.int64]) -> bool:
    """Whether clashing times all lie where a local hour repeats: Europe's and North America's
    clocks go back on a Sunday, repeating 02:00-02:59 or 01:00-01:59 (read as UTC)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(times, unit="ns"))
    return bool(((stamps.day_of_week == 6) & np.isin(stamps.hour, (1, 2))).all())


def clocks_stepped_back(times: NDArray[np.int64]) -> NDArray[np.intp]:
    """The rows (in file order) where times read as UTC step back to a local hour repeated when
    summer time ends (a Sunday, from 01:00-02:59 or 02:00-03:59 back into 01:00-02:59 by at most
    an hour): a local logger whose readings are not on exact grid times, so the repeated hour
    interleaves with the first instead of clashing with it. Empty when the file's times step
    back anywhere else, or nowhere."""
    hour = 3_600_000_000_000
    t = np.asarray(times, np.int64)
    back = np.flatnonzero(t[1:] < t[:-1]) + 1
    if back.size == 0 or back.size > 8:  # a file in reverse or shuffled order: not the clocks
        return np.zeros(0, np.intp)
    before = pd.DatetimeIndex(pd.to_datetime(t[back - 1], unit="ns"))
    after = pd.DatetimeIndex(pd.to_datetime(t[back], unit="ns"))
    drop = t[back - 1] - t[back]
    fits = (
        (after.day_of_week == 6)
        & np.isin(after.hour, (1, 2))
        & (before.day_of_year == after.day_of_year)
        & np.isin(before.hour, (1, 2, 3))
        & (drop <= hour)
    )
    return back.astype(np.intp) if bool(fits.all()) else np.zeros(0, np.intp)


def clocks_skipped(times: NDArray[np.int64]) -> list[str]:
    """The Sundays (ISO dates) on which times read as UTC skip exactly 02:00-02:59 and nothing
    else around it, on a grid of an hour or finer: the hour local clocks skip when summer time
    starts (Europe, North America, Australia: a Sunday at 02:00). Empty when there is none."""
    hour = 3_600_000_000_000
    stamps = np.sort(times)  # np.unique is ~50x slower on millions of sorted times
    gaps = np.diff(stamps)
    if np.count_nonzero(gaps) < 2:
        return []
    step = int(np.median(gaps[gaps > 0]))
    if step > hour or hour % step:
        return []
    # A hole of one hour beyond the step, from the last reading before 02:00 to 03:00 sharp.
    after = pd.DatetimeIndex(pd.to_datetime(stamps[1:][gaps == step + hour], unit="ns"))
    skipped = after[(after.day_of_week == 6) & (after.hour == 3) & (after.minute == 0)]
    skipped = skipped[
        (skipped.second == 0) & (skipped.nanosecond == 0) & (skipped.microsecond == 0)
    ]
    return [d.date().isoformat() for d in skipped]


_HEADER_OFFSET = re.compile(r"^(?:GMT|UTC)\s*(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d\d))?$")


def header_offset(ts_name: str) -> str | None:
    """The UTC offset a time column's header gives its times ('Date Time, GMT-05:00', as HOBO
    loggers write it; 'time (UTC+01:00)'), as '-05:00', or None."""
    unit = split_unit(ts_name)[1]
    match = _HEADER_OFFSET.match(unit.strip()) if unit else None
    if match is None:
        return None
    return f"{match['sign']}{int(match['h']):02d}:{match['m'] or '00'}"


_TWENTY_FOUR = r"(?<![\d:])24:00(?::00(?:\.0+)?)?(?![\d:])"


def end_of_day(text: pd.Series, unread: NDArray[np.bool_]) -> tuple[pd.Series, NDArray[np.bool_]]:
    """``text`` with its ``unread`` times written at 24:00 (the end of a day, as German energy
    exports and ISO 8601 itself allow) written at 00:00 instead, and which rows those are: each
    is then a day later."""
    rows = np.flatnonzero(unread)
    ends = np.zeros(len(text), dtype=bool)
    hit = text.iloc[rows].str.contains(_TWENTY_FOUR, regex=True).to_numpy()
    if not hit.any():
        return text, ends
    ends[rows[hit]] = True
    fixed = text.copy()
    fixed.iloc[rows[hit]] = text.iloc[rows[hit]].str.replace(_TWENTY_FOUR, "00:00", regex=True)
    return fixed, ends
