"""The helpers list commands share: records as JSON or a table, and JSON-object files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gapcast.cli.common import read_json_object
from gapcast.cli.output import print_records, timestamp
from gapcast.errors import InvalidInput

ROWS = [{"id": 1, "name": "co2", "at": "2024-05-01T12:30:45.123+00:00"}]


def cells(r: dict[str, Any]) -> tuple[str, ...]:
    return str(r["id"]), r["name"], timestamp(r["at"])


def test_print_records_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    print_records(ROWS, as_json=True, columns=("id", "name", "at"), cells=cells)
    assert json.loads(capsys.readouterr().out) == ROWS


def test_print_records_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_records(ROWS, as_json=False, columns=("id", "name", "at"), cells=cells)
    out = capsys.readouterr().out
    assert "name" in out
    assert "2024-05-01 12:30:45" in out


def test_timestamp_keeps_seconds_and_drops_the_t() -> None:
    assert timestamp("2024-05-01T12:30:45.999999+00:00") == "2024-05-01 12:30:45"
    assert timestamp(None) == "None"


def test_read_json_object(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"epochs": 3}')
    assert read_json_object(good, label="--config good.json", field="config") == {"epochs": 3}

    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(InvalidInput, match=r"^--space x: expected a JSON object$") as caught:
        read_json_object(listed, label="--space x", field="space")
    assert caught.value.field == "space"

    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    with pytest.raises(InvalidInput, match=r"^broken: Expecting property name"):
        read_json_object(broken, label="broken", field="file")

    with pytest.raises(InvalidInput, match=r"^missing: .*No such file"):
        read_json_object(tmp_path / "missing.json", label="missing", field="file")


def test_a_printed_database_url_hides_its_password() -> None:
    from gapcast.cli.training import shown_url

    assert shown_url("postgresql://gapcast:hunter2@db/x") == "postgresql://gapcast:***@db/x"
    assert shown_url("sqlite:///./gapcast.db") == "sqlite:///./gapcast.db"
    assert "hunter2" not in shown_url("not a url hunter2")
