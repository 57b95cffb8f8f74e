"""Properties of the reader: the heuristics that read loggers' and spreadsheets' files as they were
meant (a preamble, a row-number column, a unit after each number, a day per row, a format to
recognise) leave a plain, well-formed file exactly as written."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from gapcast.ingest import read_table

# Value column names: words that are no time's or row number's name.
_RESERVED = {"timestamp", "time", "date", "datetime", "ts", "day", "year", "no", "nr", "index"}
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name not in _RESERVED
)


@given(
    columns=st.lists(names, min_size=1, max_size=5, unique=True),
    rows=st.integers(min_value=3, max_value=40),
    seed=st.integers(min_value=0, max_value=2**16),
    delimiter=st.sampled_from([",", ";", "\t"]),
    step_minutes=st.sampled_from([1, 15, 60, 1440]),
)
def test_a_plain_file_reads_exactly_as_written(
    columns: list[str], rows: int, seed: int, delimiter: str, step_minutes: int
) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(0, 100, size=(len(columns), rows)), 3)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[:, 0] = 1.0  # every column holds a reading
    times = pd.date_range("2024-03-30", periods=rows, freq=f"{step_minutes}min", tz="UTC")
    lines = [delimiter.join(["timestamp", *columns])]
    for t, row in zip(times, values.T, strict=True):
        cells = ["" if np.isnan(v) else repr(float(v)) for v in row]
        lines.append(delimiter.join([t.isoformat(), *cells]))
    table = read_table(("\n".join(lines) + "\n").encode(), filename="plain.csv")
    assert table.channels == columns and table.units == [None] * len(columns)
    assert table.timestamps_ns.tolist() == times.as_unit("ns").asi8.tolist()
    np.testing.assert_array_equal(table.values, values)
    assert table.notes == []
