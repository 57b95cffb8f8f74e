"""Python client for a gapcast server: training over WebSocket, everything else over REST.

    async with Client("http://127.0.0.1:8765", token) as c:
        run = await c.train(dataset="co2", config="weekly", epochs=5)
        async for event in run:
            print(event["type"], event.get("epoch"))
        result = await run.result()

A run's stream survives a dropped connection: it reattaches on ``/ws/runs/{id}?after=<last seq>``
and goes on without a missing or repeated event. Server errors arrive as the gapcast exception of
their ``code`` (InvalidInput, NotFound, QueueFull, Unauthorized, ...). ``SyncClient`` wraps the
same calls for scripts and the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gapcast import errors

TERMINAL = ("done", "error")
_RECONNECTS = 5


def error_from(body: Mapping[str, Any]) -> errors.GapcastError:
    """The gapcast exception for a server's ``{code, message, field}``."""
    kinds: dict[str, type[errors.GapcastError]] = {
        cls.code: cls
        for cls in (
            errors.InvalidInput,
            errors.NotFound,
            errors.Conflict,
            errors.TooLarge,
            errors.QueueFull,
            errors.Unavailable,
            errors.Unauthorized,
            errors.Cancelled,
            errors.UnsafeModel,
        )
    }
    cls = kinds.get(str(body.get("code")), RunFailed)
    return cls(str(body.get("message", "")), field=body.get("field"))


class _Unset:
    """An argument left out (``None`` is a value: it clears the field)."""


_UNSET = _Unset()


class RunFailed(errors.GapcastError):
    """The run ended ``failed`` or ``interrupted`` (the message says why)."""

    code = "run_failed"


@dataclass(frozen=True)
class RunOutcome:
    """A finished run as its terminal message told it."""

    run_id: str
    status: str
    metrics: dict[str, Any] | None = None
    runtime_s: float | None = None
    epochs: int | None = None
    loss: float | None = None
    val_loss: float | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    gap_metrics: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def leaderboard(self) -> list[dict[str, Any]]:
        """The model and every baseline on the backtest origins, best MAE first."""
        return list((self.metrics or {}).get("leaderboard") or [])

    @property
    def verdict(self) -> dict[str, Any] | None:
        """The model against the best baseline: ``better``, ``ratio`` and ``text``."""
        found: dict[str, Any] | None = (self.metrics or {}).get("verdict")
        return found

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> RunOutcome:
        if message["type"] == "error":
            return cls(
                run_id=str(message["run_id"]),
                status=str(message.get("status") or "failed"),
                error={k: message.get(k) for k in ("code", "message", "field")},
            )
        return cls(
            run_id=str(message["run_id"]),
            status=str(message["status"]),
            metrics=message.get("metrics"),
            runtime_s=message.get("runtime_s"),
            epochs=message.get("epochs"),
            loss=message.get("loss"),
            val_loss=message.get("val_loss"),
            artifacts=list(message.get("artifacts") or []),
            gap_metrics=message.get("gap_metrics"),
            warnings=list(message.get("warnings") or []),
        )


class RunStream:
    """The events of one run, in ``seq`` order, until its ``done`` or ``error``."""

    def __init__(self, client: Client, run_id: str, ws: ClientConnection | None, after: int = 0):
        self.run_id = run_id
        self.last_seq = after
        self.events: list[dict[str, Any]] = []
        self._client = client
        self._ws = ws
        self._terminal: dict[str, Any] | None = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        reconnects = 0
        while self._terminal is None:
            if self._ws is None:
                self._ws = await self._client._open(f"/ws/runs/{self.run_id}?after={self.last_seq}")
            try:
                raw = await self._ws.recv()
            except ConnectionClosed:
                self._ws = None
                reconnects += 1
                if reconnects > _RECONNECTS:
                    raise
                await asyncio.sleep(0.2 * reconnects)
                continue
            event = json.loads(raw)
            if event.get("seq", 0) == 0 and event.get("type") == "error":
                raise error_from(event)  # refused before any run event (unknown run, token)
            if event["seq"] <= self.last_seq:
                continue
            self.last_seq = event["seq"]
            self.events.append(event)
            if event["type"] in TERMINAL:
                self._terminal = event
                await self.close()
            yield event

    async def result(self) -> RunOutcome:
        """Wait for the end; RunFailed when the run failed or was interrupted."""
        async for _ in self:
            pass
        assert self._terminal is not None
        outcome = RunOutcome.of(self._terminal)
        if outcome.error is not None:
            raise RunFailed(str(outcome.error.get("message")), field=outcome.error.get("field"))
        return outcome

    async def cancel(self) -> None:
        """Ask the server to stop this run; the stream then ends with ``done`` ``cancelled``."""
        if self._ws is not None:
            await self._ws.send(json.dumps({"type": "cancel"}))
        else:
            await self._client.cancel(self.run_id)

    async def close(self) -> None:
        """Stop following (the run goes on)."""
        if self._ws is not None:
            await self._ws.close()
            self._ws = None


class Client:
    def __init__(
        self, url: str = "http://127.0.0.1:8765", token: str | None = None, *, timeout: float = 60
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- WebSocket -----------------------------------------------------------------------------

    async def _open(self, path: str) -> ClientConnection:
        ws_url = "ws" + self.url.removeprefix("http") + path
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        return await connect(ws_url, additional_headers=headers, max_size=None)

    async def train(
        self,
        dataset: str | int,
        config: str | int | Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> RunStream:
        """Request a run; returns once the server accepted it (or raises what it refused)."""
        ws = await self._open("/ws/train")
        request = {
            "type": "train",
            "dataset": dataset,
            "config": dict(config) if isinstance(config, Mapping) else config,
            "overrides": overrides,
        }
        # Refused on connect (a wrong token): the send fails, but the server's error message
        # is still buffered and read below.
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(request))
        try:
            first = json.loads(await ws.recv())
        except ConnectionClosed as exc:
            raise errors.GapcastError(f"the server closed the connection: {exc}") from exc
        if first["type"] != "accepted":
            await ws.close()
            raise error_from(first)
        return RunStream(self, str(first["run_id"]), ws)

    def watch(self, run_id: str, after: int = 0) -> RunStream:
        """Follow a run (queued, running or finished) from the event after ``after``."""
        return RunStream(self, run_id, None, after)

    # -- REST ----------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                body = {"code": "http_error", "message": f"{response.status_code} {response.text}"}
            raise error_from(body)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, path, **kwargs)).json()

    async def submit(
        self,
        dataset: str | int,
        config: str | int | Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """Queue a run over REST (no socket held open); returns its id. Follow it with watch()."""
        body = {
            "dataset": dataset,
            "config": dict(config) if isinstance(config, Mapping) else config,
            "overrides": overrides,
        }
        return str((await self._json("POST", "/runs", json=body))["run_id"])

    async def cancel(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("POST", f"/runs/{run_id}/cancel")
        return result

    async def upload_dataset(
        self,
        file: str | Path | bytes | Any,
        *,
        name: str | None = None,
        filename: str | None = None,
        timestamp_column: str | None = None,
        on_duplicate: str = "error",
        replace: bool = False,
        decimal: str = ".",
        time_format: str | None = None,
        timezone: str | None = None,
        series_column: str | None = None,
        columns: Sequence[str] | None = None,
        encoding: str | None = None,
        append: bool = False,
        missing: Sequence[str] | None = None,
        counter: Sequence[str] | None = None,
        sheet: str | None = None,
    ) -> dict[str, Any]:
        """Import a CSV, .xlsx, Parquet or JSON file, or a table in memory (a pandas DataFrame or
        Series on a time index, a polars DataFrame, a pyarrow Table: sent as Parquet, named by
        ``name``); ``decimal`` is the CSV numbers' decimal mark
        ('.' or ','), ``time_format`` a strftime format for the time column (default: ISO 8601),
        ``timezone`` the IANA zone of times written without an offset (default: UTC),
        ``series_column`` the column naming each row's series in a long-format file,
        ``columns`` the value columns to import (default: all), ``encoding`` a CSV's text
        encoding (default: UTF-8; 'cp1252' for what Excel saves on Windows); ``append`` adds
        the file's points to the dataset ``name`` (a newer export) instead of importing a new
        one; ``missing`` words that mark no reading in value columns (a logger's 'ERR');
        ``counter`` value columns that are running totals, read as their increase per reading;
        ``sheet`` the worksheet of an .xlsx workbook (default: the first)."""
        form = reading_form(
            timestamp_column=timestamp_column,
            on_duplicate=on_duplicate,
            decimal=decimal,
            time_format=time_format,
            timezone=timezone,
            series_column=series_column,
            columns=columns,
            encoding=encoding,
            missing=missing,
            counter=counter,
            sheet=sheet,
        )
        form |= {"replace": str(replace).lower(), "append": str(append).lower()}
        if name is not None:
            form["name"] = name
        files = {"file": file_part(file, filename)}
        result: dict[str, Any] = await self._json("POST", "/datasets", data=form, files=files)
        return result

    async def read_file(
        self, file: str | Path | bytes, *, filename: str | None = None, **reading: Any
    ) -> dict[str, Any]:
        """The file read by the server as ``upload_dataset`` with the same reading options would
        read it, nothing stored: ``{'data', 'units', 'notes'}``, ``data`` being what
        :meth:`predict` takes as recent points."""
        files = {"file": file_part(file, filename)}
        form = reading_form(**reading)
        return dict(await self._json("POST", "/files/read", data=form, files=files))

    async def datasets(self) -> list[dict[str, Any]]:
        return list(await self._json("GET", "/datasets"))

    async def dataset(self, ref: str | int) -> dict[str, Any]:
        return dict(await self._json("GET", f"/datasets/{ref}"))

    async def delete_dataset(self, ref: str | int) -> None:
        await self._request("DELETE", f"/datasets/{ref}")

    async def configs(self) -> list[dict[str, Any]]:
        return list(await self._json("GET", "/configs"))

    async def config(self, ref: str | int) -> dict[str, Any]:
        return dict(await self._json("GET", f"/configs/{ref}"))

    async def create_config(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        body = {"name": name, "config": dict(config)}
        return dict(await self._json("POST", "/configs", json=body))

    async def update_config(self, ref: str | int, config: Mapping[str, Any]) -> dict[str, Any]:
        return dict(await self._json("PUT", f"/configs/{ref}", json={"config": dict(config)}))

    async def delete_config(self, ref: str | int) -> None:
        await self._request("DELETE", f"/configs/{ref}")

    async def runs(
        self,
        *,
        status: str | None = None,
        dataset: str | None = None,
        model: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Newest first, filtered by status, dataset (name or id) and model when given."""
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("status", status), ("dataset", dataset), ("model", model)):
            if value is not None:
                params[key] = value
        return list(await self._json("GET", "/runs", params=params))

    async def run(self, run_id: str) -> dict[str, Any]:
        return dict(await self._json("GET", f"/runs/{run_id}"))

    async def label_run(
        self,
        run_id: str,
        *,
        name: str | _Unset | None = _UNSET,
        tags: Sequence[str] | _Unset | None = _UNSET,
        note: str | _Unset | None = _UNSET,
    ) -> dict[str, Any]:
        """Set a run's name, tags or note; ``None`` clears one, an omitted one stays."""
        body: dict[str, Any] = {}
        if not isinstance(name, _Unset):
            body["name"] = name
        if not isinstance(tags, _Unset):
            body["tags"] = None if tags is None else list(tags)
        if not isinstance(note, _Unset):
            body["note"] = note
        return dict(await self._json("PATCH", f"/runs/{run_id}", json=body))

    async def delete_run(self, run_id: str) -> None:
        """Delete a finished run with its artifacts and events (Conflict while it is queued or
        running: cancel it first; NotFound for an unknown id)."""
        await self._request("DELETE", f"/runs/{run_id}")

    async def download(self, run_id: str, kind: str = "model") -> bytes:
        """An artifact's bytes: model (.keras), gap_model, plot (PNG) or pipeline (JSON)."""
        return (await self._request("GET", f"/runs/{run_id}/artifacts/{kind}")).content

    async def predict(
        self, run_id: str, data: Mapping[str, list[Any]] | None = None, start: Any = None
    ) -> dict[str, Any]:
        """The forecast from ``start`` (a timestamp; default: after the last point): its rows,
        ``outage``, ``lookback_observed`` and ``notes`` (what was read in ``data`` other than
        as written, such as a logger's -9999 read as missing), as ``POST
        /runs/{id}/predict`` answers."""
        body: dict[str, Any] = {"data": dict(data)} if data is not None else {}
        if start is not None:
            body["start"] = start.isoformat() if hasattr(start, "isoformat") else str(start)
        return dict(await self._json("POST", f"/runs/{run_id}/predict", json=body))


def file_part(file: str | Path | bytes | Any, filename: str | None) -> tuple[str, bytes]:
    """An upload's (name, bytes): a path's own name, ``filename`` for bytes, or a table in
    memory (a pandas DataFrame or Series, a pyarrow Table, a polars DataFrame) as Parquet."""
    if isinstance(file, bytes):
        return filename or "upload.csv", file
    if isinstance(file, (str, Path)):
        path = Path(file)
        return filename or path.name, path.read_bytes()
    return filename or "dataframe.parquet", table_parquet(file)


def table_parquet(table: Any) -> bytes:
    """A table in memory as Parquet bytes: what the server reads keeping each column's type (an
    aware time stays an instant) and a pandas frame's time index (read as the time column)."""
    import io

    out = io.BytesIO()
    if hasattr(table, "to_frame") and hasattr(table, "index"):  # a pandas Series
        table = table.to_frame(table.name if table.name is not None else "value")
    if hasattr(table, "to_parquet"):  # pandas
        table.to_parquet(out)
    elif hasattr(table, "__arrow_c_stream__"):  # pyarrow, polars, DuckDB: Arrow's own protocol
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(table), out)
    else:
        raise TypeError(
            "upload_dataset takes a path, bytes, or a pandas, polars or pyarrow table; received "
            f"{type(table).__name__}"
        )
    return out.getvalue()


def reading_form(
    *,
    timestamp_column: str | None = None,
    on_duplicate: str = "error",
    decimal: str = ".",
    time_format: str | None = None,
    timezone: str | None = None,
    series_column: str | None = None,
    columns: Sequence[str] | None = None,
    encoding: str | None = None,
    missing: Sequence[str] | None = None,
    counter: Sequence[str] | None = None,
    sheet: str | None = None,
) -> dict[str, str]:
    """The form fields telling the server how to read a file (``POST /datasets``,
    ``POST /files/read``); a field left None is the server's default."""
    listed = {"columns": columns, "missing": missing, "counter": counter}
    given = {
        "timestamp_column": timestamp_column,
        "time_format": time_format,
        "timezone": timezone,
        "series_column": series_column,
        "encoding": encoding,
        "sheet": sheet,
    }
    form = {"on_duplicate": on_duplicate, "decimal": decimal}
    form |= {key: value for key, value in given.items() if value is not None}
    form |= {key: ",".join(value) for key, value in listed.items() if value}
    return form


class SyncClient:
    """Blocking wrappers for scripts and the command line (each call runs its own event loop)."""

    def __init__(self, url: str = "http://127.0.0.1:8765", token: str | None = None) -> None:
        self.url, self.token = url, token

    def _call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        # Positional-only: a call's own keyword ``name=`` (upload_dataset) must not clash.
        async def call() -> Any:
            async with Client(self.url, self.token) as client:
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(call())

    def train(
        self,
        dataset: str | int,
        config: str | int | Mapping[str, Any] | None = None,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        **overrides: Any,
    ) -> RunOutcome:
        """Run to the end, calling ``on_event`` for each event; RunFailed if it fails."""

        async def call() -> RunOutcome:
            async with Client(self.url, self.token) as client:
                run = await client.train(dataset, config, **overrides)
                async for event in run:
                    if on_event is not None:
                        on_event(event)
                return await run.result()

        outcome: RunOutcome = asyncio.run(call())
        return outcome

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or not callable(getattr(Client, name, None)):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)
