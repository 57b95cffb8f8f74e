"""Lines a logger writes before or around its table's header: Campbell Scientific's TOA5 (a line
of station facts, the header, a line of units, a line of how each value was processed), HOBO's
and Solinst's "Plot Title: ..." or "Serial_number:" lines. They are skipped, with a note, so the
table reads as the header says.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Lines looked at for a preamble: loggers write a handful.
MOST = 20


@dataclass(frozen=True)
class Preamble:
    """The file's lines (0-based) that are not the table, and what they were."""

    skipped: tuple[int, ...]
    note: str | None

    def file_rows(self, n_rows: int) -> NDArray[np.intp]:
        """The frame index that makes the errors' line numbers (index + 2) the file's for each
        of ``n_rows`` rows read after the skipped lines and the header."""
        skipped = set(self.skipped)
        header = next(i for i in range(len(skipped) + 1) if i not in skipped)
        lines: list[int] = []
        line = header + 1
        while len(lines) < n_rows:
            if line not in skipped:
                lines.append(line)
            line += 1
        return np.asarray(lines, dtype=np.intp) - 1


def find_preamble(text: str, delimiter: Callable[[str], str]) -> Preamble | None:
    """The lines to skip before (and, in a TOA5 file, under) the header of a delimited table, or
    None. Outside TOA5 these are the leading lines without a delimiter ('Plot Title: 2047'), or
    opening with '#' and not as wide as the line after them (NOAA's '#YY MM DD' header, as wide
    as its rows, is kept), and an Excel delimiter line ('sep=;')."""
    head = text[: 64 * 1024].splitlines()[: MOST + 1]
    if head and head[0].lstrip('"').startswith("TOA5"):
        return _toa5(head[0])
    count = 0
    while count < len(head) - 2:
        line = head[count].strip()
        if _SEP_LINE.match(line):
            pass  # written for Excel, which takes it as the delimiter; the sniffer finds it too
        elif line and _delimited(line) and line.startswith("#"):
            sep = delimiter("\n".join(head[count + 1 :]))
            if _width(line, sep) == _width(head[count + 1], sep):
                break
        elif line and _delimited(line):
            break
        count += 1
    if count == 0 or count >= len(head) - 2 or not _delimited(head[count]):
        return None
    written = [line.strip() for line in head[:count] if line.strip()]
    if not written:  # blank lines: skipped without a word, but counted for the line numbers
        return Preamble(tuple(range(count)), None)
    lines = "line 1" if count == 1 else f"lines 1-{count}"
    return Preamble(
        tuple(range(count)), f"{lines} before the header skipped (first: {written[0][:80]!r})"
    )


# "sep=;" on the first line: the delimiter, as tools writing a CSV for Excel declare it.
_SEP_LINE = re.compile(r'^"?sep=[,;\t|]"?$', re.IGNORECASE)


def _delimited(line: str) -> bool:
    return any(c in line for c in _DELIMITERS)


_DELIMITERS = ",;\t|"


def _width(line: str, sep: str) -> int:
    if sep == r"\s+":
        return len(line.split())
    return len(next(csv.reader([line], delimiter=sep), []))


def _toa5(first: str) -> Preamble:
    facts = next(csv.reader([first]), [])
    station = f" of station {facts[1]!r}" if len(facts) > 1 and facts[1] else ""
    logger = f" ({facts[2]})" if len(facts) > 2 and facts[2] else ""
    return Preamble(
        (0, 3),
        f"a Campbell Scientific TOA5 file{station}{logger}: its header on line 2, units on "
        "line 3; lines 1 and 4 (how each value was processed) skipped",
    )
