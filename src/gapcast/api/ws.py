"""The two WebSockets: ``/ws/train`` (request a run, follow it) and ``/ws/runs/{id}`` (follow one).

Following a run is the same on both: register with the hub first, then replay the stored events
after ``after``, then let the hub's fan-out forward live ones, skipping by ``seq`` what was already
sent — so a watcher neither misses nor repeats an event, however the replay and the live stream
overlap. The socket closes after the run's terminal message (``done`` or ``error``). A client
that goes away only unsubscribes: the run goes on, and ``/ws/runs/{id}?after=<last seq>`` picks
up where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any, Literal

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from gapcast.api.auth import bearer_subprotocol
from gapcast.api.deps import get_runtime, get_settings
from gapcast.api.errors import DATABASE_ERRORS, close_code_of, from_database_error
from gapcast.api.messages import Accepted, ErrorMessage, TrainRequest, parse_client_message
from gapcast.api.submit import submit
from gapcast.db import runs as run_store
from gapcast.db.tables import storable_id
from gapcast.errors import Conflict, GapcastError, InvalidInput, NotFound
from gapcast.execution.hub import TERMINAL_TYPES, Watcher
from gapcast.execution.runtime import Runtime

log = logging.getLogger("gapcast.api.ws")
router = APIRouter()

FIRST_MESSAGE_TIMEOUT_S = 30.0
_SEND_ERRORS = (WebSocketDisconnect, RuntimeError, OSError)


@router.websocket("/ws/train")
async def train_socket(websocket: WebSocket) -> None:
    runtime, settings = get_runtime(websocket), get_settings(websocket)
    await websocket.accept(subprotocol=bearer_subprotocol(websocket.scope))
    try:
        with anyio.fail_after(FIRST_MESSAGE_TIMEOUT_S):
            message = await websocket.receive()
    except TimeoutError:
        await _refuse(websocket, InvalidInput("no train request within 30 s", field="message"))
        return
    if message["type"] == "websocket.disconnect":
        return
    raw = message.get("text") if message.get("text") is not None else message.get("bytes")
    try:
        request = parse_client_message(raw or b"", max_bytes=settings.max_message_bytes)
        if not isinstance(request, TrainRequest):
            raise InvalidInput(
                "the first message must be a train request, received type='cancel'", field="type"
            )
        run_id = str(uuid.uuid4())
        await anyio.to_thread.run_sync(submit, runtime.recorder, settings, request, run_id)
    except GapcastError as exc:
        await _refuse(websocket, exc)
        return
    except DATABASE_ERRORS as exc:
        await _refuse(websocket, from_database_error(exc))
        return
    runtime.queued()
    log.info("run queued", extra={"run_id": run_id, "dataset": request.dataset})
    accepted = Accepted(run_id=run_id, watch=f"/ws/runs/{run_id}")
    try:
        await websocket.send_text(accepted.model_dump_json())
    except _SEND_ERRORS:
        return
    await follow(websocket, runtime, run_id, after=0)


@router.websocket("/ws/runs/{run_id}")
async def watch_socket(websocket: WebSocket, run_id: str) -> None:
    runtime = get_runtime(websocket)
    await websocket.accept(subprotocol=bearer_subprotocol(websocket.scope))
    text = websocket.query_params.get("after", "0")
    # "¹".isdigit(), yet int("¹") fails; int() refuses over 4300 digits; a number beyond the
    # sequence column is no sequence number.
    if not (text.isascii() and text.isdigit() and len(text) <= 20 and storable_id(int(text))):
        await _refuse(
            websocket,
            InvalidInput(
                f"after: expected a sequence number >= 0, received {text!r}", field="after"
            ),
            run_id=run_id,
        )
        return
    await follow(websocket, runtime, run_id, after=int(text))


async def follow(websocket: WebSocket, runtime: Runtime, run_id: str, *, after: int) -> None:
    """Send the run's events after ``after`` until its terminal one, then close.

    This coroutine sends only while the watcher is behind: the stored log first, then what the
    hub buffered meanwhile. Once up to date it hands the socket to the hub's fan-out and sleeps
    until the fan-out hands it back (terminal event sent, client gone, or fallen behind).
    """
    hub = runtime.hub
    assert hub is not None, "the API runtime always has a hub"
    watcher = hub.watch(run_id, websocket.send_text, after=after)
    reader = asyncio.create_task(_read_client(websocket, runtime, run_id, watcher))
    try:
        try:
            stored = await anyio.to_thread.run_sync(_stored, runtime, run_id, after)
        except NotFound as exc:
            await _refuse(websocket, exc, run_id=run_id)
            return
        except DATABASE_ERRORS as exc:
            await _refuse(websocket, from_database_error(exc), run_id=run_id)
            return
        while not watcher.closed:
            for message in stored:
                if message["seq"] <= watcher.last:
                    continue
                await websocket.send_text(json.dumps(message, separators=(",", ":")))
                watcher.last = message["seq"]
                if message["type"] in TERMINAL_TYPES:
                    await _close_after(websocket, message)
                    return
            pending = await _send_pending(websocket, watcher)
            if isinstance(pending, dict):
                await _close_after(websocket, pending)
                return
            if pending == "caught_up" and hub.go_live(watcher):
                await watcher.wait()
                if watcher.terminal is not None:
                    await _close_after(websocket, json.loads(watcher.terminal.text))
                    return
            if watcher.closed:
                return
            # Behind the hub (a gap, an overflow, a stalled socket): the log has every event.
            stored = await anyio.to_thread.run_sync(_stored, runtime, run_id, watcher.last)
    except _SEND_ERRORS:
        return  # the client went away; the run goes on
    finally:
        reader.cancel()
        hub.unwatch(watcher)


async def _send_pending(
    websocket: WebSocket, watcher: Watcher
) -> dict[str, Any] | Literal["caught_up", "behind"]:
    """Send what the hub buffered while the watcher was not live, as long as it follows on
    without a gap. Returns the terminal message if it was among them; else whether the watcher
    is now up to date or must read the log (a gap, or the buffer overflowed)."""
    while True:
        pending = watcher.take_pending()
        if pending is None:
            return "behind"
        if not pending:
            return "caught_up"
        for published in pending:
            if published.seq <= watcher.last:
                continue
            if published.seq > watcher.last + 1:
                return "behind"
            await websocket.send_text(published.text)
            watcher.last = published.seq
            if published.terminal:
                terminal: dict[str, Any] = json.loads(published.text)
                return terminal


async def _read_client(
    websocket: WebSocket, runtime: Runtime, run_id: str, watcher: Watcher
) -> None:
    """Handle ``cancel`` messages; on disconnect, stop the follower (never the run)."""
    settings = get_settings(websocket)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") if message.get("text") is not None else message.get("bytes")
            try:
                request = parse_client_message(raw or b"", max_bytes=settings.max_message_bytes)
            except GapcastError as exc:
                log.info("ignored client message", extra={"run_id": run_id, "why": exc.message})
                continue
            if request.type == "cancel":
                # Conflict: it already finished, and its terminal event is on its way.
                with contextlib.suppress(Conflict, NotFound):
                    await anyio.to_thread.run_sync(runtime.cancel, run_id)
                log.info("cancel requested", extra={"run_id": run_id})
    except _SEND_ERRORS:
        return
    finally:
        watcher.close()


def _stored(runtime: Runtime, run_id: str, after: int) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        run_store.get_run(session, run_id)
        return run_store.events_after(session, run_id, after)


async def _close_after(websocket: WebSocket, terminal: dict[str, Any]) -> None:
    done = terminal["type"] == "done"
    code = 1000 if done else close_code_of(str(terminal.get("code", "")))
    await websocket.close(code=code, reason=str(terminal.get("status", ""))[:100])


async def _refuse(websocket: WebSocket, exc: GapcastError, *, run_id: str | None = None) -> None:
    body = exc.to_dict()
    message = ErrorMessage(
        run_id=run_id,
        code=body["code"],
        message=body["message"],
        field=body.get("field"),
        details=body.get("details"),
    )
    data = message.model_dump(mode="json")
    for optional in ("field", "details", "status"):
        if data[optional] is None:
            del data[optional]
    try:
        await websocket.send_text(json.dumps(data))
        await websocket.close(code=exc.ws_close_code, reason=exc.code)
    except _SEND_ERRORS:
        pass
