"""Hostile files through ``POST /datasets``: each is refused with a clear error naming the problem,
the database is left exactly as it was (no partial dataset), and the server — a child process, so
its memory can be read — neither falls over nor balloons. A body over the upload limit is refused
before it is read: by its declared length at once, and by counting when it is sent chunked."""

from __future__ import annotations

import functools
import io
import select
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gapcast.api.testing import LiveServer, ServerProcess, converse

from .support import series_csv, settings_for, snapshot, train_request, upload, violations

MAX_UPLOAD = 1_000_000
MAX_POINTS = 100_000
BOMB_ROWS = 20_000_000  # 320 MB once decoded, from a file of ~200 kB


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


@functools.cache
def _bomb() -> bytes:
    """A tiny Parquet file (run-length encoded constants) that decodes to BOMB_ROWS rows."""
    n = 2_000_000
    chunk = pa.table(
        {
            "timestamp": pa.array(np.full(n, 1_700_000_000, dtype="int64")),
            "v": pa.array(np.ones(n)),
        }
    )
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, chunk.schema, compression="zstd") as writer:
        for _ in range(BOMB_ROWS // n):
            writer.write_table(chunk, row_group_size=n)
    return buf.getvalue()


@functools.cache
def _xlsx_bomb() -> bytes:
    """A workbook whose sheet XML (200 MB of identical rows) deflates to a few hundred kB."""
    row = '<row><c t="n"><v>1</v></c><c t="n"><v>2</v></c></row>'
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>' + row * (200_000_000 // len(row)) + "</sheetData>"
        "</worksheet>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def _wide(columns: int) -> bytes:
    header = "timestamp," + ",".join(f"c{i}" for i in range(columns))
    rows = [f"2024-01-0{d}," + "," * (columns - 1) for d in range(1, 4)]
    return ("\n".join([header, *rows]) + "\n").encode()


def _dense(rows: int) -> bytes:
    """Three channels and epoch seconds: many points in few bytes."""
    return (
        "timestamp,a,b,c\n" + "".join(f"{1_700_000_000 + i},1,2,3\n" for i in range(rows))
    ).encode()


CSV_OK = b"timestamp,v\n2024-01-01,1\n2024-01-02,2\n"
# (id, filename, content, status, error code, text in the message)
CASES: list[tuple[str, str, Any, int, str, str]] = [
    (
        "mixed types",
        "m.csv",
        b"timestamp,v\n2024-01-01,1\n2024-01-02,abc\n",
        422,
        "invalid_input",
        "column 'v': 1 non-numeric value(s) at line 3 (first: 'abc')",
    ),
    (
        "mixed types parquet",
        "m.parquet",
        lambda: _parquet(
            pd.DataFrame(
                {
                    "timestamp": ["2024-01-01", "2024-01-02"],
                    "v": pd.array(["1.5", "x"], dtype=object),
                }
            )
        ),
        422,
        "invalid_input",
        "non-numeric value(s) at row 2",
    ),
    (
        "10000 empty columns",
        "wide.csv",
        lambda: _wide(10_000),
        413,
        "too_large",
        "10,000 value columns; the limit is 1,000",
    ),
    (
        "empty columns",
        "e.csv",
        lambda: _wide(200),
        422,
        "invalid_input",
        "'c0', 'c1', 'c2', 'c3', 'c4' and 195 more",
    ),
    ("zip bomb parquet", "bomb.parquet", _bomb, 413, "too_large", f"decodes to {BOMB_ROWS:,} rows"),
    ("zip bomb xlsx", "bomb.xlsx", _xlsx_bomb, 413, "too_large", "the workbook inflates to"),
    (
        "not utf-8",
        "n.csv",
        b"timestamp,v\n2024-01-01,1\n2024-01-02,\xff\xfe\n",
        422,
        "invalid_input",
        "not UTF-8 text: byte 0xff at offset",
    ),
    (
        "latin-1 header",
        "l.csv",
        b"timestamp,temp \xb0C\n2024-01-01,1\n",
        422,
        "invalid_input",
        "not UTF-8",
    ),
    (
        "text timestamps",
        "t.csv",
        b"timestamp,v\nhello,1\nworld,2\n",
        422,
        "invalid_input",
        "cannot parse 2 value(s) as ISO 8601 or epoch seconds at lines 2, 3 (first: 'hello')",
    ),
    (
        "timestamps out of range",
        "r.csv",
        b"timestamp,v\n9999-12-31,1\n2024-01-01,2\n",
        422,
        "invalid_input",
        "outside the supported range",
    ),
    (
        "epoch out of range",
        "r.csv",
        b"timestamp,v\n1e300,1\n2,2\n",
        422,
        "invalid_input",
        "outside the supported range",
    ),
    (
        "all NaN",
        "a.csv",
        b"timestamp,v\n2024-01-01,NaN\n2024-01-02,nan\n2024-01-03,\n",
        422,
        "invalid_input",
        "column(s) without a single numeric value: 'v'",
    ),
    (
        "all NaN parquet",
        "a.parquet",
        lambda: _parquet(
            pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=3), "v": [np.nan] * 3})
        ),
        422,
        "invalid_input",
        "without a single numeric value",
    ),
    (
        "no timestamp column",
        "x.csv",
        b"when,v\n2024-01-01,1\n",
        422,
        "invalid_input",
        "no timestamp column",
    ),
    ("header only", "h.csv", b"timestamp,v\n", 422, "invalid_input", "no data rows"),
    ("empty file", "z.csv", b"", 422, "invalid_input", "the file is empty"),
    (
        "corrupt parquet",
        "c.parquet",
        b"PAR1" + b"\x00" * 64 + b"PAR1",
        422,
        "invalid_input",
        "not a readable Parquet file",
    ),
    (
        "parquet named csv",
        "p.csv",
        lambda: _parquet(
            pd.DataFrame(
                {"timestamp": pd.date_range("2024-01-01", periods=3), "v": [1.0, 2.0, 3.0]}
            )
        ),
        422,
        "invalid_input",
        "not text but a Parquet file: name it .parquet",
    ),
    (
        "unsupported type",
        "data.xls",
        CSV_OK,
        422,
        "invalid_input",
        "save the sheet as .xlsx or CSV",
    ),
    ("not a workbook", "data.xlsx", CSV_OK, 422, "invalid_input", "not a readable .xlsx workbook"),
    (
        "duplicate timestamps",
        "d.csv",
        b"timestamp,v\n2024-01-01,1\n2024-01-01,2\n",
        422,
        "invalid_input",
        "duplicate timestamp",
    ),
    (
        "NUL in a value",
        "nul.csv",
        b"timestamp,v\n2024-01-01,1\x00\n",
        422,
        "invalid_input",
        "non-numeric",
    ),
    (
        "NUL in a column name",
        "nul.csv",
        b"timestamp,v\x00w\n2024-01-01,1\n",
        422,
        "invalid_input",
        "column name",
    ),
    (
        "overlong column name",
        "long.csv",
        b"timestamp," + b"v" * 300 + b"\n2024-01-01,1\n",
        422,
        "invalid_input",
        "column name",
    ),
    (
        "over the points limit",
        "big.csv",
        lambda: _dense(MAX_POINTS // 3 + 1),
        413,
        "too_large",
        "points, over the limit of 100,000",
    ),
]


@pytest.fixture(scope="module")
def server(server_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("hostile")
    settings = settings_for(
        server_db_url, tmp / "data", max_upload_bytes=MAX_UPLOAD, max_points_per_dataset=MAX_POINTS
    )
    process = ServerProcess(settings, tmp / "server.log")
    live = process.start()
    with live.http() as http:
        assert upload(http, "good", series_csv(50)).status_code == 201
    yield process
    process.stop()


def _live(server: ServerProcess) -> LiveServer:
    return LiveServer(server.url, server.settings)


def _status_mb(server: ServerProcess, key: str) -> float:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith(f"{key}:"))
    return int(line.split()[1]) / 1024


def _reset_peak_rss_mb(server: ServerProcess) -> float:
    """Lower the server's peak RSS (VmHWM) to its current RSS and return it. The peak never falls
    by itself: without the reset, a case after one that raised it could grow that much unseen."""
    assert server.process is not None
    Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")  # Linux 4.0+: reset VmHWM
    return _status_mb(server, "VmHWM")


@pytest.mark.parametrize(
    ("filename", "content", "status", "code", "text"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_hostile_file_is_refused_and_nothing_is_stored(
    server: ServerProcess,
    server_db_url: str,
    filename: str,
    content: Any,
    status: int,
    code: str,
    text: str,
) -> None:
    data = content() if callable(content) else content
    before = snapshot(server_db_url)
    rss_before = _reset_peak_rss_mb(server)
    # No timing here: a server that decodes a bomb shows in its memory below, and one that hangs
    # in the client's 60 s timeout.
    with _live(server).http() as http:
        refused = upload(http, "hostile", data, filename)
        assert refused.status_code == status, refused.text
        error = refused.json()["error"]
        assert error["code"] == code
        assert text in error["message"], error["message"]
        assert len(error["message"]) < 1000  # clear, not a dump
        assert http.get("/healthz").status_code == 200
    assert snapshot(server_db_url) == before
    assert violations(server_db_url) == []
    # Refused from the footer / by counting, never by decoding everything first.
    assert _status_mb(server, "VmHWM") - rss_before < 150


@pytest.mark.parametrize(
    ("name", "text"),
    [("n" * 201, "201 characters; the limit is 200"), ("a\x00b", "control characters")],
    ids=["overlong", "NUL"],
)
def test_bad_dataset_name_is_refused(
    server: ServerProcess, server_db_url: str, name: str, text: str
) -> None:
    before = snapshot(server_db_url)
    with _live(server).http() as http:
        refused = upload(http, name, CSV_OK, "ok.csv")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "name"
    assert text in refused.json()["error"]["message"]
    assert snapshot(server_db_url) == before


def test_single_row_is_stored_but_cannot_train(server: ServerProcess, server_db_url: str) -> None:
    """One row is a dataset (it may grow); training on it is refused up front, clearly."""
    live = _live(server)
    with live.http() as http:
        stored = upload(http, "one-row", b"timestamp,v\n2024-01-01T00:00:00Z,1.5\n")
        assert stored.status_code == 201, stored.text
        assert stored.json()["points"] == 1
        assert http.get("/datasets/one-row").json()["gaps"] is None
    talk = asyncio_run_train(live, "one-row")
    assert talk["code"] == "invalid_input" and "too short: 1 time steps" in talk["message"]
    assert violations(server_db_url) == []
    with live.http() as http:
        assert http.delete("/datasets/one-row").status_code == 204


def asyncio_run_train(live: LiveServer, dataset: str) -> dict[str, Any]:
    import asyncio

    talk = asyncio.run(converse(f"{live.ws_url}/ws/train", [train_request(dataset)]))
    assert talk.close_code == 1008
    return talk.messages[0]


def _raw_post(live: LiveServer, headers: dict[str, str]) -> socket.socket:
    host, port = live.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    lines = ["POST /datasets HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def _answer(sock: socket.socket) -> str:
    """The HTTP response: head and body (by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode("latin-1")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(x.split(b":")[1])
            for x in head.lower().split(b"\r\n")
            if x.startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")


BOUNDARY = "gapcastboundary"
PART_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
    "Content-Type: text/csv\r\n\r\ntimestamp,v\r\n"
).encode()


def test_declared_oversize_upload_is_refused_before_the_body(
    server: ServerProcess, server_db_url: str
) -> None:
    before = snapshot(server_db_url)
    sock = _raw_post(
        _live(server),
        {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(10 * 1024**3),  # 10 GiB announced, 64 kB sent
        },
    )
    # Answered at once, not after the body: 64 kB of the 10 GiB are sent, so a server waiting for
    # the rest never answers and the socket's 10 s timeout fails the test.
    with sock:
        sock.sendall(PART_HEAD + b"2024-01-01,1\n" * 5000)
        answer = _answer(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "GAPCAST_MAX_UPLOAD_BYTES" in answer or "too_large" in answer
    assert snapshot(server_db_url) == before


def test_chunked_oversize_upload_is_cut_off_at_the_limit(
    server: ServerProcess, server_db_url: str, record_property: Any
) -> None:
    """No Content-Length: the server counts and answers 413 once past the limit, without waiting
    for the remaining 49 MB."""
    before = snapshot(server_db_url)
    total = 50 * MAX_UPLOAD
    sock = _raw_post(
        _live(server),
        {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        },
    )
    line = b"2024-01-01,1\n" * 5000
    sent = 0
    answer = ""
    with sock:
        sock.setblocking(False)
        payload = PART_HEAD
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                sock.setblocking(True)
                answer = _answer(sock)
                break
            if not writable:
                break
            chunk = f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(payload)
            payload = line
        if not answer:
            sock.setblocking(True)
            answer = _answer(sock)
    record_property("chunked_bytes_sent_before_413", sent)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert sent < total / 5, f"the server read {sent:,} bytes before refusing"
    assert snapshot(server_db_url) == before
