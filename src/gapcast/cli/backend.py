"""Where the run and config commands read from: a server's REST API (``--server URL``) or, without
one, the configured database directly — so ``runs list`` works with no server running, and gives the
same JSON either way (the API's own response schemas are used for both)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from gapcast.client import SyncClient
from gapcast.errors import InvalidInput, NotFound

RUN_ID_LENGTH = 36


class Backend(Protocol):
    def configs(self) -> list[dict[str, Any]]: ...
    def config(self, ref: str) -> dict[str, Any]: ...
    def create_config(self, name: str, config: dict[str, Any]) -> dict[str, Any]: ...
    def runs(
        self, *, status: str | None, dataset: str | None, limit: int, model: str | None = None
    ) -> list[dict[str, Any]]: ...
    def run(self, run_id: str) -> dict[str, Any]: ...
    def label_run(self, run_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...
    def delete_run(self, run_id: str) -> None: ...
    def artifact(self, run_id: str, kind: str) -> bytes: ...
    def predict(
        self, run_id: str, data: dict[str, list[Any]] | None, start: str | None = None
    ) -> dict[str, Any]: ...


class ServerBackend:
    def __init__(self, url: str, token: str | None) -> None:
        self.client = SyncClient(url, token)

    def configs(self) -> list[dict[str, Any]]:
        return list(self.client.configs())

    def config(self, ref: str) -> dict[str, Any]:
        return dict(self.client.config(ref))

    def create_config(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.create_config(name, config))

    def runs(
        self, *, status: str | None, dataset: str | None, limit: int, model: str | None = None
    ) -> list[dict[str, Any]]:
        return list(self.client.runs(status=status, dataset=dataset, model=model, limit=limit))

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.client.run(run_id))

    def label_run(self, run_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """``changes``: the labels to set (name, tags, note; None clears one), sent as they are."""
        return dict(self.client.label_run(run_id, **changes))

    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    def artifact(self, run_id: str, kind: str) -> bytes:
        data: bytes = self.client.download(run_id, kind)
        return data

    def predict(
        self, run_id: str, data: dict[str, list[Any]] | None, start: str | None = None
    ) -> dict[str, Any]:
        return dict(self.client.predict(run_id, data, start))


class DatabaseBackend:
    def __init__(self, database_url: str) -> None:
        from gapcast.db.migrate import upgrade
        from gapcast.db.session import make_engine, make_sessionmaker

        self.engine = make_engine(database_url)
        upgrade(database_url, engine=self.engine)
        self.sessions = make_sessionmaker(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def configs(self) -> list[dict[str, Any]]:
        from gapcast.api.schemas import ConfigOut
        from gapcast.db import repository

        with self.sessions() as session:
            return [_json(ConfigOut.of(r)) for r in repository.list_configs(session)]

    def config(self, ref: str) -> dict[str, Any]:
        from gapcast.api.schemas import ConfigOut
        from gapcast.db import repository

        with self.sessions() as session:
            return _json(ConfigOut.of(repository.get_config(session, ref)))

    def create_config(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        from gapcast.api.schemas import ConfigOut
        from gapcast.api.submit import validate_config
        from gapcast.db import repository
        from gapcast.db.session import transaction

        checked = validate_config(config)
        with transaction(self.sessions) as session:
            return _json(ConfigOut.of(repository.create_config(session, name=name, config=checked)))

    def runs(
        self, *, status: str | None, dataset: str | None, limit: int, model: str | None = None
    ) -> list[dict[str, Any]]:
        from gapcast.api.schemas import RunSummary
        from gapcast.db import runs as run_store

        with self.sessions() as session:
            rows = run_store.list_runs(
                session, status=status, dataset=dataset, model=model, limit=limit
            )
            return [_json(RunSummary.of(r)) for r in rows]

    def label_run(self, run_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """What ``PATCH /runs/{id}`` does, with its schema, so a refusal reads the same."""
        from pydantic import ValidationError

        from gapcast.api.errors import invalid_from_validation
        from gapcast.api.schemas import RunLabelsIn, RunOut
        from gapcast.db import runs as run_store
        from gapcast.db.session import transaction

        try:
            labels = RunLabelsIn.model_validate(changes)
        except ValidationError as exc:
            raise invalid_from_validation(exc, changes) from exc
        with transaction(self.sessions) as session:
            fields = labels.model_dump(include=labels.model_fields_set)
            row = run_store.label_run(session, run_id, **fields)
            return _json(RunOut.full(row, run_store.artifact_refs(session, run_id)))

    def delete_run(self, run_id: str) -> None:
        from gapcast.db import runs as run_store
        from gapcast.db.session import transaction

        with transaction(self.sessions) as session:
            run_store.delete_run(session, run_id)

    def run(self, run_id: str) -> dict[str, Any]:
        from gapcast.api.schemas import RunOut
        from gapcast.db import runs as run_store

        with self.sessions() as session:
            row = run_store.get_run(session, run_id)
            return _json(RunOut.full(row, run_store.artifact_refs(session, run_id)))

    def artifact(self, run_id: str, kind: str) -> bytes:
        from gapcast.db import runs as run_store

        with self.sessions() as session:
            return bytes(run_store.get_artifact(session, run_id, kind).data)

    def predict(
        self, run_id: str, data: dict[str, list[Any]] | None, start: str | None = None
    ) -> dict[str, Any]:
        """The same forecast the server's predict route makes, computed in this process."""
        import pandas as pd

        from gapcast.db import repository
        from gapcast.library import TrainedModel

        run = self.run(run_id)
        if run["status"] != "succeeded":
            raise InvalidInput(f"run {run_id} is {run['status']}; only a succeeded run can predict")
        kinds = {a["kind"] for a in run["artifacts"]}
        trained = TrainedModel(
            self.artifact(run_id, "model"),
            json.loads(self.artifact(run_id, "pipeline")),
            self.artifact(run_id, "gap_model") if "gap_model" in kinds else None,
        )
        if data is not None:
            frame: Any = pd.DataFrame(data)
        else:
            if run["dataset_id"] is None:
                raise InvalidInput("the run's dataset was deleted; give recent points with --csv")
            with self.sessions() as session:
                frame = repository.load_dataset_frame(session, run["dataset_id"], through_end=True)
        return {
            "run_id": run_id,
            "source": "dataset" if data is None else "request",
            **trained.forecast_document(frame, start),
        }


def _json(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(model.model_dump_json())
    return out


@contextmanager
def open_backend(server: str | None, token: str | None, database_url: str) -> Iterator[Backend]:
    if server:
        yield ServerBackend(server, token)
        return
    backend = DatabaseBackend(database_url)
    try:
        yield backend
    finally:
        backend.close()


def resolve_run_id(backend: Backend, ref: str) -> str:
    """A full run id from an id or a unique prefix of one (``runs list`` shows 8 characters)."""
    if len(ref) == RUN_ID_LENGTH:
        return ref
    matches = [r["id"] for r in backend.runs(status=None, dataset=None, limit=1000)]
    found = [m for m in matches if m.startswith(ref)]
    if len(found) == 1:
        return str(found[0])
    if not found:
        raise NotFound(f"no run with an id starting {ref!r}", field="run_id")
    raise InvalidInput(
        f"{len(found)} runs have ids starting {ref!r}; give more characters", field="run_id"
    )
