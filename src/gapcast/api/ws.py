"""The two WebSockets: ``/ws/train`` (request a run, follow it) and ``/ws/runs/{id}`` (follow one).

Following a run is the same on both: subscribe to the hub first, then replay the stored events
after ``after``, then forward live ones, skipping by ``seq`` what was already sent — so a watcher
neither misses nor repeats an event, however the replay and the live stream overlap. The socket
closes after the run's terminal message (``done`` or ``error``). A client that goes away only
unsubscribes: the run goes on, and ``/ws/runs/{id}?after=<last seq>`` picks up where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from gapcast.api.auth import bearer_subprotocol
from gapcast.api.deps import get_runtime, get_settings
from gapcast.api.errors import DATABASE_ERRORS, close_code_of, from_database_error
from gapcast.api.messages import Accepted, ErrorMessage, TrainRequest, parse_client_message
from gapcast.api.submit import submit
from gapcast.db import runs as run_store
from gapcast.errors import Conflict, GapcastError, InvalidInput, NotFound
from gapcast.execution.hub import TERMINAL_TYPES, Subscription
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
    if not text.isdigit():
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
    """Send the run's events after ``after`` until its terminal one, then close."""
    hub = runtime.hub
    assert hub is not None, "the API runtime always has a hub"
    sub = hub.subscribe(run_id)
    reader = asyncio.create_task(_read_client(websocket, runtime, run_id, sub))
    try:
        try:
            backlog = await anyio.to_thread.run_sync(_stored, runtime, run_id, after)
        except NotFound as exc:
            await _refuse(websocket, exc, run_id=run_id)
            return
        except DATABASE_ERRORS as exc:
            await _refuse(websocket, from_database_error(exc), run_id=run_id)
            return
        last = after
        while True:
            for message in backlog:
                if message["seq"] <= last:
                    continue
                await websocket.send_text(json.dumps(message, separators=(",", ":")))
                last = message["seq"]
                if message["type"] in TERMINAL_TYPES:
                    await _close_after(websocket, message)
                    return
            backlog = []
            published = await sub.queue.get()
            if sub.closed:
                return
            if sub.lagged or published.seq > last + 1:
                # Fell behind the hub (or joined between two events): the database has them all.
                sub.lagged = False
                backlog = await anyio.to_thread.run_sync(_stored, runtime, run_id, last)
                continue
            if published.seq <= last:
                continue
            await websocket.send_text(published.text)
            last = published.seq
            if published.terminal:
                await _close_after(websocket, json.loads(published.text))
                return
    except _SEND_ERRORS:
        return  # the client went away; the run goes on
    finally:
        reader.cancel()
        hub.unsubscribe(sub)


async def _read_client(
    websocket: WebSocket, runtime: Runtime, run_id: str, sub: Subscription
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
        sub.close()


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
