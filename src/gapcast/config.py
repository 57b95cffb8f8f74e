"""Server and library settings from ``GAPCAST_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gapcast.errors import InvalidInput


def _default_compile_cache() -> Path | None:
    # Per user and machine, beside other tools' caches: compiled programs are specific to this
    # JAX version and this machine's CPU (JAX keys entries by both).
    root = os.environ.get("XDG_CACHE_HOME")
    if not root:
        try:
            root = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no passwd entry (a container's arbitrary user id)
            return None
    return Path(root) / "gapcast" / "jax"


def _default_workers() -> int:
    # Small Keras models use one core each; leave one core per worker for the rest.
    return max(1, (os.cpu_count() or 2) // 2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAPCAST_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./gapcast.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    data_dir: Path = Field(default=Path("./gapcast-data"), description="cache and scratch files")
    api_token: str | None = Field(default=None, description="when set, every request needs it")
    executor: Literal["local", "ray"] = "local"
    ray_address: str = "local"
    ray_cancel_grace_s: float = Field(
        default=10.0,
        gt=0,
        description="ray executor: how long a cancelled run may take to stop by itself before its "
        "task is force-cancelled",
    )
    workers_max: int = Field(default_factory=_default_workers, ge=1)
    prestart_workers: bool = Field(
        default=True,
        description="local executor: keep one spare worker process with Keras already imported",
    )
    worker_nice: int = Field(
        default=5,
        ge=0,
        le=19,
        description="local executor: CPU priority drop (nice) of worker processes, so that "
        "training yields the CPU to the server's event loop when both need it",
    )
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_points_per_dataset: int = Field(default=20_000_000, ge=1)
    max_message_bytes: int = Field(default=1024 * 1024, ge=1)
    max_queued_runs: int = Field(default=100, ge=1)
    cache_max_bytes: int = Field(default=2 * 1024**3, ge=0)
    compile_cache_dir: Path | None = Field(
        default_factory=_default_compile_cache,
        description="where JAX keeps the models' compiled training and prediction steps between "
        "runs ('off' to compile in every run)",
    )
    compile_cache_max_bytes: int = Field(default=512 * 1024**2, ge=1)

    @field_validator("compile_cache_dir", mode="before")
    @classmethod
    def _compile_cache_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none", "0", "false"):
            return None
        return value

    @field_validator("ray_address")
    @classmethod
    def _no_ray_client(cls, value: str) -> str:
        # Ray Client is deprecated, needs ray[client] (grpcio), which the 'ray' extra does not
        # install, and is meant for interactive sessions, not a long-lived driver like this server
        # (docs/operations.md). Refused here so the server never starts half-configured.
        if value.strip().lower().startswith("ray://"):
            raise ValueError(
                f"GAPCAST_RAY_ADDRESS (--ray-address) {value!r}: Ray Client (ray://) addresses "
                "are not supported. Run the server where it reaches the cluster's network and "
                "give the head's GCS address (host:6379, as 'ray start --head' prints it), or "
                "'auto' on a node of the cluster"
            )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; a bad ``GAPCAST_*`` variable is an :class:`InvalidInput`
    that names it (not a validation traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise settings_error(exc) from None


def settings_error(exc: ValidationError) -> InvalidInput:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        variable = f"GAPCAST_{name.upper()}" if name else "GAPCAST_*"
        received = error.get("input")
        shown = f" (received {received!r})" if isinstance(received, str | int | float) else ""
        problems.append(f"{variable}: {error['msg']}{shown}")
    field = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else None
    return InvalidInput("invalid setting: " + "; ".join(problems), field=field)
