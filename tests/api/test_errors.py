"""Field paths and close codes: what a user reads when a request is wrong."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from gapcast.api.errors import close_code_of, field_path, invalid_from_validation
from gapcast.execution.logs import KeyValueFormatter
from gapcast.training_config import TrainingConfig


def test_field_path_drops_union_tags() -> None:
    data = {"preprocessing": [{"step": "scale"}, {"step": "window", "lookback": 0}]}
    loc = ("preprocessing", 1, "window", "lookback")
    assert field_path(loc, data) == "preprocessing[1].lookback"
    assert field_path(loc, data, prefix="config") == "config.preprocessing[1].lookback"
    assert field_path(("training", "epochs")) == "training.epochs"


def test_validation_error_names_the_field_and_the_value() -> None:
    data = {"training": {"epochs": 0, "batch_size": -1}}
    with pytest.raises(ValidationError) as info:
        TrainingConfig.model_validate(data)
    error = invalid_from_validation(info.value, data, prefix="config")
    assert error.field == "config.training.epochs"
    assert error.message.startswith("config.training.epochs: Input should be greater than")
    assert error.message.endswith("received 0")
    assert [e["field"] for e in error.details["errors"]] == [
        "config.training.epochs",
        "config.training.batch_size",
    ]


@pytest.mark.parametrize(
    ("code", "close"),
    [
        ("invalid_input", 1008),
        ("not_found", 1008),
        ("unauthorized", 1008),
        ("too_large", 1009),
        ("queue_full", 1013),
        ("worker_died", 1011),
        ("training_failed", 1011),
        ("interrupted", 1011),
    ],
)
def test_close_codes(code: str, close: int) -> None:
    assert close_code_of(code) == close


def test_log_lines_are_key_value() -> None:
    record = logging.LogRecord("gapcast.x", logging.INFO, "f", 1, "run started", None, None)
    record.run_id = "abc"
    record.note = 'two words "quoted"'
    line = KeyValueFormatter().format(record)
    assert "level=info logger=gapcast.x" in line
    assert 'msg="run started" run_id=abc note="two words \\"quoted\\""' in line


def test_log_lines_carry_no_ansi_codes_from_uvicorn() -> None:
    # What uvicorn logs at start: the message plus a coloured copy for its own formatter.
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, "f", 1, "Started server process [%d]", (42,), None
    )
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    line = KeyValueFormatter().format(record)
    assert 'msg="Started server process [42]"' in line
    assert "\x1b" not in line and "color_message" not in line
