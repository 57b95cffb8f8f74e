"""Training configurations: create, list, show, replace, delete — validated by TrainingConfig."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gapcast.api.deps import RuntimeDep
from gapcast.api.schemas import ERROR_RESPONSES, ConfigIn, ConfigOut, ConfigUpdate
from gapcast.api.submit import validate_config
from gapcast.db import repository
from gapcast.db.session import transaction

router = APIRouter(prefix="/configs", tags=["configs"], responses=ERROR_RESPONSES)


@router.post("", status_code=201)
def create_config(body: ConfigIn, runtime: RuntimeDep) -> ConfigOut:
    """Store a named config; an invalid one is refused with the field named
    (``config.preprocessing[6].lookback``)."""
    config = validate_config(body.config)
    with transaction(runtime.sessions) as session:
        return ConfigOut.of(repository.create_config(session, name=body.name, config=config))


@router.get("")
def list_configs(runtime: RuntimeDep) -> list[ConfigOut]:
    with runtime.sessions() as session:
        return [ConfigOut.of(row) for row in repository.list_configs(session)]


@router.get("/{ref}")
def show_config(ref: str, runtime: RuntimeDep) -> ConfigOut:
    with runtime.sessions() as session:
        return ConfigOut.of(repository.get_config(session, ref))


@router.put("/{ref}")
def update_config(ref: str, body: ConfigUpdate, runtime: RuntimeDep) -> ConfigOut:
    """Replace a config's body (runs already queued keep the snapshot they were given)."""
    config = validate_config(body.config)
    with transaction(runtime.sessions) as session:
        return ConfigOut.of(repository.update_config(session, ref=ref, config=config))


@router.delete("/{ref}", status_code=204)
def delete_config(ref: str, runtime: RuntimeDep) -> Response:
    with transaction(runtime.sessions) as session:
        repository.delete_config(session, ref)
    return Response(status_code=204)
