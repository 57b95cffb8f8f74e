"""Requesting and following a run over the WebSocket, with the live display and Ctrl-C handling.

Ctrl-C stops following, then asks whether to cancel the run or detach from it (the run goes on;
``gapcast runs watch`` picks it up again). The stream resumes after the last event it showed, so
nothing is shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.prompt import Prompt

from gapcast.cli.progress import RunDisplay
from gapcast.client import Client, RunStream


@dataclass
class Followed:
    """Where following a run ended: at its terminal message, or detached from it."""

    run_id: str | None = None
    last_seq: int = 0
    terminal: dict[str, Any] | None = None
    detached: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.terminal is not None and self.terminal.get("status") == "succeeded"


async def _follow(
    url: str,
    token: str | None,
    state: Followed,
    request: dict[str, Any] | None,
    console: Console | None,
) -> None:
    async with Client(url, token) as client:
        stream: RunStream
        if state.run_id is None:
            assert request is not None
            stream = await client.train(
                request["dataset"], request.get("config"), **request.get("overrides", {})
            )
            state.run_id = stream.run_id
            if console is not None:
                console.print(f"run [bold]{stream.run_id}[/] accepted", highlight=False)
        else:
            stream = client.watch(state.run_id, after=state.last_seq)
        display = RunDisplay(console, state.run_id) if console is not None else None
        if display is not None:
            display.__enter__()
        try:
            async for event in stream:
                state.last_seq = int(event.get("seq", state.last_seq))
                state.events.append(event)
                if display is not None:
                    display.update(event)
                if event.get("type") in ("done", "error"):
                    state.terminal = event
        finally:
            if display is not None:
                display.__exit__()
            await stream.close()


async def _cancel(url: str, token: str | None, run_id: str) -> None:
    from gapcast.errors import Conflict

    async with Client(url, token) as client:
        # Conflict: it finished meanwhile, and its terminal event tells how.
        with contextlib.suppress(Conflict):
            await client.cancel(run_id)


def follow_run(
    url: str,
    token: str | None,
    *,
    request: dict[str, Any] | None = None,
    run_id: str | None = None,
    console: Console | None = None,
    on_detach: str = "",
) -> Followed:
    """Request a run (``request``: dataset, config, overrides) or follow ``run_id`` to its end.

    ``console`` None: no display (for ``--json``). ``on_detach``: what to tell the user when they
    detach (where the run goes on)."""
    state = Followed(run_id=run_id)
    while True:
        try:
            asyncio.run(_follow(url, token, state, request, console))
            return state
        except KeyboardInterrupt:
            if state.run_id is None:
                raise  # nothing was started yet
            if _ask_cancel(console or Console(stderr=True)):
                asyncio.run(_cancel(url, token, state.run_id))
                # Follow on to the run's ``done cancelled`` (or its end, if it finished first).
                continue
            state.detached = True
            if console is not None and on_detach:
                console.print(on_detach.format(run_id=state.run_id), highlight=False)
            return state


def _ask_cancel(console: Console) -> bool:
    """True to cancel the run; without a terminal to ask on, cancelling is the safe answer."""
    if not sys.stdin.isatty():
        console.print("interrupted: cancelling the run")
        return True
    try:
        answer = Prompt.ask(
            "\nInterrupted. [bold]c[/]ancel the run, or [bold]d[/]etach and let it go on?",
            choices=["c", "d"],
            default="c",
            console=console,
        )
    except (KeyboardInterrupt, EOFError):
        return False  # a second Ctrl-C: leave at once, the run goes on
    return answer == "c"
