"""From bytes to a table of text cells: compression, CSV or Parquet, the delimiter, and the size
limits checked before anything large is decoded.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from gapcast.errors import InvalidInput, TooLarge
from gapcast.ingest.common import (
    DecimalMark,
    FileKind,
    check_columns,
    check_distinct,
    describe_rows,
)
from gapcast.ingest.influx import is_annotated, read_annotated
from gapcast.ingest.json_records import read_json_records
from gapcast.ingest.preamble import find_preamble
from gapcast.ingest.sheets import read_sheet

# A Parquet file may decode to far more than its size (run-length and dictionary encoding): its
# footer's row count and decoded size are checked against the points limit before reading it.
DECODED_BYTES_PER_POINT = 64


def kind_of(filename: str) -> FileKind:
    suffix = Path(filename).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv", ".dat", ""):  # .dat: Campbell loggers' TOA5
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    spreadsheet = "; save the sheet as .xlsx or CSV" if suffix in (".xls", ".ods") else ""
    raise InvalidInput(
        f"unsupported file type {suffix!r}: expected .csv (or .csv.gz), .xlsx, .parquet or "
        f".json{spreadsheet}",
        field="file",
    )


def file_stem(filename: str) -> str:
    """A dataset's default name: the file's name without folders and suffix ('.csv.gz' too)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if base.lower().endswith(".gz"):
        base = base[:-3]
    return base.rsplit(".", 1)[0] if "." in base.strip(".") else base


def decompress(data: bytes, filename: str, max_bytes: int | None) -> tuple[bytes, str]:
    """A ``.gz`` file's content and its name without the suffix; other files as they are. The
    size limit holds for the content, checked as it is inflated (a small file can hold gigabytes
    of zeros)."""
    if not filename.lower().endswith(".gz"):
        return data, filename
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                if max_bytes is not None and out.tell() > max_bytes:
                    raise TooLarge(
                        f"{filename} inflates to more than the limit of {max_bytes:,} bytes "
                        "(GAPCAST_MAX_UPLOAD_BYTES)",
                        field="file",
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{filename} is not a readable gzip file: {exc}", field="file") from exc
    return out.getvalue(), filename[:-3]


# Binary files under a text file's name (a renamed or misnamed download), told by their magic.
_NOT_TEXT = (
    (b"PAR1", "a Parquet file: name it .parquet"),
    (b"\x1f\x8b", "gzip-compressed: name it .csv.gz"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one): name a workbook .xlsx"),
)


def check_encoding(encoding: str) -> str:
    """A text encoding Python knows ('utf-8', 'cp1252', 'latin-1', ...), refused by name
    otherwise."""
    try:
        codecs.lookup(encoding)
    except (LookupError, ValueError) as exc:  # ValueError: a NUL in the name
        raise InvalidInput(
            f"encoding: {encoding!r} is not a text encoding such as 'utf-8' or 'cp1252'",
            field="encoding",
        ) from exc
    return encoding


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """A CSV file's text. UTF-8's byte-order mark (Excel's "CSV UTF-8") is dropped, and a UTF-16
    byte-order mark (Excel's "Unicode text") is read as what it declares; other encodings are
    named, never guessed: bytes that are not valid in the encoding refuse the file, naming where."""
    for magic, what in _NOT_TEXT:
        if data.startswith(magic):
            raise InvalidInput(f"the file is not text but {what}", field="file")
    utf8 = codecs.lookup(encoding).name == "utf-8"
    if utf8 and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    try:
        return data.decode("utf-8-sig" if utf8 and encoding != "utf-16" else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        # Excel and other Windows programs save CSV in the system's ANSI code page by default.
        hint = (
            "; a file saved by Excel or another Windows program is often Windows-1252: encoding "
            "'cp1252' (--encoding cp1252)"
            if utf8
            else ""
        )
        raise InvalidInput(
            f"the file is not {'UTF-8' if utf8 else encoding} text: byte "
            f"0x{data[exc.start]:02x} at offset {exc.start} (line {line}){hint}",
            field="encoding",
        ) from exc


def read_frame(
    data: bytes,
    kind: FileKind,
    max_points: int | None = None,
    decimal: DecimalMark = ".",
    encoding: str = "utf-8",
    max_bytes: int | None = None,
    sheet: str | None = None,
) -> pd.DataFrame:
    if not data.strip():
        raise InvalidInput("the file is empty", field="file")
    if kind == "xlsx":
        return read_sheet(data, max_bytes, max_points, sheet)
    if kind == "parquet":
        _check_parquet_footer(data, max_points)
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise InvalidInput(f"not a readable Parquet file: {exc}", field="file") from exc
        return _index_as_columns(frame)
    text = decode(data, encoding)
    if kind == "json":
        return read_json_records(text, max_points)
    if kind == "csv" and is_annotated(text):
        return read_annotated(text)  # its points are counted with any table's (read_table)
    preamble = find_preamble(text, lambda head: _delimiter(head, decimal))
    skipped = list(preamble.skipped) if preamble else []
    sep = _delimiter(_without_lines(text, skipped), decimal)
    try:
        # Everything as text first: types are decided per column below, with row-level errors.
        # index_col=False: with more fields on every row than in the header, pandas would
        # otherwise take the first column as an index and shift every value one column left.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                sep=sep,
                index_col=False,
                skiprows=skipped or None,
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InvalidInput(f"the CSV file cannot be parsed: {exc}", field="file") from exc
    check_distinct(_header_line(text, sep, skipped))
    if preamble:
        frame.index = pd.Index(preamble.file_rows(len(frame)))
        frame.attrs["notes"] = [preamble.note] if preamble.note else []
    frame.attrs["sep"] = sep
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        _refuse_extra_fields(text, sep, skipped)
    # Files joined with `cat` repeat the header line: a row that is the header is not data.
    header = [str(c) for c in frame.columns]
    repeated = (frame.iloc[:, 0] == header[0]).to_numpy(copy=True)
    if repeated.any():
        repeated &= (frame.to_numpy(dtype=object) == np.array(header, dtype=object)).all(axis=1)
    if repeated.any():
        frame = frame[~repeated]  # the index keeps each row's place in the file, for errors
    # Delimiters at the end of the header too, or spreadsheet columns left blank (an export
    # writes "a,b,,"): nameless columns without a value hold nothing, and are not series.
    blank = [
        c
        for c in frame.columns
        if str(c).startswith("Unnamed: ") and not frame[c].str.strip().any()
    ]
    if blank and len(blank) < frame.shape[1]:
        frame = frame.drop(columns=blank)
    return frame


def _index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A pandas-written Parquet file keeps its index (``df.to_parquet()`` of a frame indexed by
    time, the usual shape of a time series in pandas): its levels become columns, an unnamed
    index of times the column ``timestamp``. A default row numbering is not data and is left."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.name is None:
        return frame
    if index.nlevels == 1 and index.name is None:
        if not isinstance(index, pd.DatetimeIndex):
            return frame.reset_index(drop=True)  # row labels, not readings
        taken = {str(c).strip().lower() for c in frame.columns}
        index = index.rename("timestamp" if "timestamp" not in taken else "index")
    clash = [str(n) for n in index.names if n is not None and str(n) in map(str, frame.columns)]
    if clash:
        raise InvalidInput(
            f"the Parquet file's index {clash[0]!r} has the name of one of its columns too",
            field="file",
        )
    return frame.set_axis(index, axis=0).reset_index()


def _header_line(text: str, sep: str, skipped: list[int]) -> list[str]:
    """The header's names as the file writes them (pandas renames a repeated one): the first
    line that is neither skipped nor blank, as pandas takes it."""
    # The head only, as the preamble is found: a copy of a million-row text would cost more than
    # the check.
    head = text[: 64 * 1024].splitlines()
    line = next((ln for i, ln in enumerate(head) if i not in skipped and ln.strip()), "")
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep), [])


def _without_lines(text: str, lines: list[int]) -> str:
    """The head of ``text`` without the given (0-based) lines, for sniffing its delimiter."""
    if not lines:
        return text
    head = text[: 64 * 1024].splitlines()
    return "\n".join(line for i, line in enumerate(head) if i not in lines)


def _refuse_extra_fields(text: str, sep: str, skipped: list[int] | None = None) -> None:
    """Rows with more fields than the header lose what pandas drops past it: refused by line
    unless every extra field is empty (a delimiter at the end of each line, which some exports
    write)."""
    rows = (row for row in _numbered_rows(text, sep) if row[0] - 1 not in (skipped or []))
    width = len(next(rows, (1, []))[1])
    lines, first = [], ""
    for number, row in rows:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            lines.append(number)
            first = first or (" " if sep == WHITESPACE else sep).join(row)
    if lines:
        raise InvalidInput(
            f"{len(lines)} row(s) have more fields than the header's {width} at "
            f"{describe_rows('csv', np.asarray(lines) - 2)} (first: {first!r}); a number written "
            "with a thousands separator or a decimal comma in a comma-separated file splits in "
            "two: quote it, or export the numbers without separators",
            field="file",
            rows=lines[:100],
        )


def _numbered_rows(text: str, sep: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each row: a quoted field may span lines in a CSV."""
    if sep == WHITESPACE:
        yield from enumerate((line.split() for line in text.splitlines()), start=1)
        return
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    for row in reader:
        yield reader.line_num, row


def _check_parquet_footer(data: bytes, max_points: int | None) -> None:
    """Refuse a Parquet file by what its footer says it holds, before decoding a single page."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise InvalidInput(f"not a readable Parquet file: {exc}", field="file") from exc
    check_columns(meta.num_columns - 1)
    if max_points is None:
        return
    cells = meta.num_rows * max(meta.num_columns - 1, 1)
    decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if cells > max_points or decoded > max_points * DECODED_BYTES_PER_POINT:
        raise TooLarge(
            f"the Parquet file decodes to {meta.num_rows:,} rows x {meta.num_columns} columns "
            f"({decoded:,} bytes), over the limit of {max_points:,} points "
            "(GAPCAST_MAX_POINTS_PER_DATASET)",
            field="file",
        )


# Columns aligned with spaces (instruments' and agencies' text tables: time temp hum).
WHITESPACE = r"\s+"


def _aligned_by_spaces(text: str, candidates: str) -> bool:
    """Whether the head has none of the delimiters and splits on runs of spaces into the same
    number (two or more) of fields on every line: a table aligned with spaces. A time written
    with a space (2024-01-01 00:00) makes its rows one field longer than the header: not taken."""
    head = text[:4096].splitlines()
    if len(text) > 4096:
        head = head[:-1]  # cut short
    lines = [line for line in head[:20] if line.strip()]
    if len(lines) < 2 or any(c in lines[0] for c in candidates):
        return False
    counts = {len(line.split()) for line in lines}
    return len(counts) == 1 and counts.pop() >= 2


def _delimiter(text: str, decimal: DecimalMark = ".") -> str:
    # European exports use ';' and some loggers tabs; sniff the head instead of guessing per row.
    # A decimal comma is as regular as the delimiter on every line, so it is never a candidate.
    candidates = ";\t|" if decimal == "," else ",;\t|"
    # A header line holds names, never decimal commas: one with a comma is not a table aligned by
    # spaces, even where its names and its rows' times hold spaces alike.
    if _aligned_by_spaces(text, ",;\t|"):
        return WHITESPACE
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=candidates).delimiter
    except csv.Error:
        if decimal == ",":
            # None of them: commas separate, and the decimal commas are quoted (RFC 4180), as the
            # header line, which holds names and no numbers, shows.
            header = text.split("\n", 1)[0]
            return "," if "," in header and not any(c in header for c in ";\t|") else ";"
        return ","
