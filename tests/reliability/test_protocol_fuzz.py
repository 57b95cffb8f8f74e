"""Fuzzing the protocol: hypothesis-generated WebSocket messages (wrong types, missing fields, huge
numbers, NaN/Infinity, deep nesting, binary and oversized frames) and schemathesis-generated REST
requests from the live server's own ``/openapi.json``.

Every WebSocket message gets one ``error`` naming the problem and a close code that says why
(1008 bad input, 1009 too large) — never 1011 (a server fault) nor a connection dropped without a
close code; every REST request gets a 4xx with an ``error`` body or a success, never a 5xx. The
server stays up, the stored rows stay consistent, and requests that are all refused change nothing.

The server holds one dataset of a single row, so that no train request can be valid (each is
refused at the latest by "too short"): the fuzz reaches every validation step yet creates no run.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from gapcast.api.testing import LiveServer, converse, running_server
from gapcast.training_config import OVERRIDABLE, TrainingParams

from .support import examples, settings_for, snapshot, upload, violations

WS_EXAMPLES = 150
REST_EXAMPLES_PER_OPERATION = 10
MAX_MESSAGE = 64 * 1024
# Error codes a bad request may get, with their close codes.
REQUEST_ERRORS = {"invalid_input": 1008, "not_found": 1008, "too_large": 1009}
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_tally(record_testsuite_property: Any) -> Iterator[None]:
    """How much was fuzzed, for docs/reliability.md (a report, so not a test that cannot fail)."""
    yield
    record_testsuite_property("ws_messages", TALLY["ws"])
    record_testsuite_property("rest_requests", TALLY["rest"])
    print(f"fuzzed: {TALLY['ws']} WebSocket messages, {TALLY['rest']} REST requests")


@pytest.fixture(scope="module")
def server(server_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = settings_for(
        server_db_url, tmp_path_factory.mktemp("data"), max_message_bytes=MAX_MESSAGE
    )
    with running_server(settings) as live:
        with live.http() as http:
            one = upload(http, "one", b"timestamp,v\n2024-01-01,1\n")
            assert one.status_code == 201, one.text
        yield live


# --- WebSocket messages -------------------------------------------------------------------------

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
override_keys = st.sampled_from(sorted({*OVERRIDABLE, *TrainingParams.model_fields, "bogus"}))
config_keys = st.sampled_from(
    ["model", "target", "covariates", "preprocessing", "hyperparameters", "training", "resources"]
)
step = st.fixed_dictionaries(
    {"step": st.sampled_from(["resample", "window", "split", "scale", "fill_gaps", "nope"])},
    optional=dict.fromkeys(
        ("freq", "lookback", "horizon", "stride", "val", "test", "method", "fitted"), values
    ),
)
configs = st.one_of(
    values,
    st.dictionaries(config_keys, values, max_size=4),
    st.fixed_dictionaries(
        {"model": st.sampled_from(["linear", "mlp", "lstm", "nope"])},
        optional={
            "preprocessing": st.lists(step, max_size=3),
            "training": st.dictionaries(
                st.sampled_from(sorted(TrainingParams.model_fields)), values
            ),
            "hyperparameters": st.dictionaries(st.text(max_size=8), values, max_size=3),
            "resources": st.dictionaries(
                st.sampled_from(["num_cpus", "num_gpus", "memory", "max_retries"]), values
            ),
        },
    ),
)
train_requests = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["train", "train", "cancel", "fit"]) | values,
        "dataset": st.sampled_from(["one", "1", 1, "nope", ""]) | values,
        "config": configs,
        "overrides": st.dictionaries(override_keys, values, max_size=4) | values,
        "extra": values,
    },
)


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, str | bytes]:
    kind = draw(
        st.sampled_from(["request", "request", "request", "json", "nested", "binary", "text"])
    )
    if kind == "request":
        return kind, json.dumps(draw(train_requests))  # NaN / Infinity as JS tokens
    if kind == "json":
        return kind, json.dumps(draw(values))
    if kind == "nested":
        depth = draw(st.sampled_from([10, 1_000, 5_000, 12_000]))
        inner = draw(
            st.sampled_from(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth])
        )
        return kind, '{"type":"train","dataset":"one","config":' + inner + "}"
    if kind == "binary":
        return kind, draw(st.binary(max_size=64)) or b"\x00"
    return kind, draw(st.text(max_size=64))


def _check_refused(live: LiveServer, frame: str | bytes) -> str:
    """The error code the frame was refused with."""
    talk = asyncio.run(converse(f"{live.ws_url}/ws/train", [frame], timeout_s=30))
    if len(frame.encode() if isinstance(frame, str) else frame) > MAX_MESSAGE:
        # Refused by the WebSocket layer before the app reads it: the close code says why.
        assert (talk.close_code, talk.messages) == (1009, [])
        return "too_large"
    assert len(talk.messages) == 1, talk.messages
    error = talk.messages[0]
    assert error["type"] == "error" and error["run_id"] is None, error
    assert error["code"] in REQUEST_ERRORS, error
    assert isinstance(error["message"], str) and 0 < len(error["message"]) < 2000
    assert talk.close_code == REQUEST_ERRORS[error["code"]], (talk.close_code, error)
    return str(error["code"])


def _request(**fields: Any) -> tuple[str, str]:
    return "request", json.dumps({"type": "train", **fields})


def test_websocket_fuzz(server: LiveServer, server_db_url: str) -> None:
    before = snapshot(server_db_url)
    kinds: Counter[str] = Counter()
    codes: Counter[str] = Counter()

    @settings(
        max_examples=examples(WS_EXAMPLES), deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(frame=frames())
    # Found by fuzzing (issue 17): ids beyond SQLite's INTEGER dropped the socket (1006).
    @example(frame=_request(dataset="99999999999999999999999"))
    @example(frame=_request(dataset=10**30))
    @example(frame=_request(dataset="one", config=10**30))
    @example(frame=_request(dataset=3584247239885692338176))
    def run(frame: tuple[str, str | bytes]) -> None:
        kinds[frame[0]] += 1
        codes[_check_refused(server, frame[1])] += 1

    run()
    TALLY["ws"] += sum(kinds.values())
    # The generator reaches every kind of frame, and requests get past parsing to the lookups.
    assert set(kinds) == {"request", "json", "nested", "binary", "text"}, kinds
    assert codes["invalid_input"] > 0 and codes["not_found"] > 0, codes
    with server.http() as http:
        assert http.get("/healthz").status_code == 200
    assert snapshot(server_db_url) == before
    assert violations(server_db_url) == []


SPECIAL = [
    ("NaN", '{"type":"train","dataset":"one","overrides":{"learning_rate":NaN}}'),
    ("Infinity", '{"type":"train","dataset":"one","config":{"resources":{"num_cpus":Infinity}}}'),
    ("-Infinity", '{"type":"train","dataset":"one","overrides":{"seed":-Infinity}}'),
    ("huge int", '{"type":"train","dataset":"one","overrides":{"epochs":1' + "0" * 4000 + "}}"),
    (
        "deep list",
        '{"type":"train","dataset":"one","config":' + "[" * 30_000 + "]" * 30_000 + "}",
    ),
    ("deep object", '{"a":' * 10_000 + "1" + "}" * 10_000),
    ("lone surrogate", '{"type":"train","dataset":"\\ud800"}'),
    ("NUL in name", '{"type":"train","dataset":"a\\u0000b"}'),
    ("binary JSON", b'{"type":"train","dataset":"one"}'),
    ("binary garbage", b"\xff\xfe\x00\x01"),
    ("empty text", ""),
    ("empty binary", b""),
]


@pytest.mark.parametrize("frame", [s[1] for s in SPECIAL], ids=[s[0] for s in SPECIAL])
def test_websocket_special_frames(server: LiveServer, frame: str | bytes) -> None:
    _check_refused(server, frame)
    TALLY["ws"] += 1


@pytest.mark.parametrize("size", [MAX_MESSAGE + 1, 4 * MAX_MESSAGE, 64 * MAX_MESSAGE])
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_oversized_frame_closes_1009(server: LiveServer, size: int, binary: bool) -> None:
    """Refused by the WebSocket layer before the app sees it: a close code, no message."""
    frame: str | bytes = b"x" * size if binary else "x" * size
    talk = asyncio.run(converse(f"{server.ws_url}/ws/train", [frame], timeout_s=30))
    assert talk.close_code == 1009
    TALLY["ws"] += 1
    with server.http() as http:
        assert http.get("/healthz").status_code == 200


def test_watch_socket_fuzz(server: LiveServer, server_db_url: str) -> None:
    before = snapshot(server_db_url)

    @settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        # "/" would make another path (no route: the handshake is refused, not our socket).
        run_id=st.text(
            st.characters(exclude_characters="/.\\", exclude_categories=["Cs"]),
            min_size=1,
            max_size=40,
        ),
        # Lone surrogates cannot be put in a URL at all (quote() raises before any request).
        after=st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
        | st.integers().map(str),
    )
    @example(run_id="x", after=str(2**63))  # issue 17: beyond the sequence column
    @example(run_id="x", after="9" * 23)
    def run(run_id: str, after: str) -> None:
        path = f"{server.ws_url}/ws/runs/{quote(run_id, safe='')}?after={quote(after, safe='')}"
        talk = asyncio.run(converse(path, timeout_s=30))
        assert len(talk.messages) == 1
        assert talk.messages[0]["code"] in ("invalid_input", "not_found")
        assert talk.close_code == 1008
        TALLY["ws"] += 1

    run()
    assert snapshot(server_db_url) == before


STRICT_JSON = [
    ("NaN", '{"name":"n","config":{"training":{"learning_rate":NaN}}}', "NaN"),
    ("Infinity", '{"name":"i","config":{"resources":{"num_cpus":Infinity}}}', "Infinity"),
    ("deep", '{"name":"d","config":' + "[" * 30_000 + "]" * 30_000 + "}", "nested too deeply"),
    ("surrogate", '{"name":"\\ud800","config":{}}', "surrogate"),
    ("not json", "{'name': 'x'}", "not valid JSON"),
]


@pytest.mark.parametrize("path", ["/configs", "/runs", "/runs/x/predict"])
@pytest.mark.parametrize(
    ("body", "text"), [s[1:] for s in STRICT_JSON], ids=[s[0] for s in STRICT_JSON]
)
def test_rest_json_must_be_strict(
    server: LiveServer, server_db_url: str, path: str, body: str, text: str
) -> None:
    before = snapshot(server_db_url)
    with server.http() as http:
        refused = http.post(path, content=body, headers={"content-type": "application/json"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_input"
    assert text in refused.json()["error"]["message"]
    assert snapshot(server_db_url) == before
    TALLY["rest"] += 1


@pytest.mark.parametrize("name", ["a\x00b", "line\nbreak", "n" * 201])
def test_config_names_are_checked(server: LiveServer, server_db_url: str, name: str) -> None:
    before = snapshot(server_db_url)
    with server.http() as http:
        refused = http.post("/configs", json={"name": name, "config": {"model": "linear"}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "name"
    assert snapshot(server_db_url) == before
    TALLY["rest"] += 1


def test_unknown_route_and_method_answer_in_the_error_shape(server: LiveServer) -> None:
    with server.http() as http:
        missing = http.get("/no/such/route")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        wrong = http.patch("/datasets")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method_not_allowed"
    TALLY["rest"] += 2


# --- REST, from the OpenAPI description ---------------------------------------------------------


def _rest_fuzz(live: LiveServer, mode: GenerationMode) -> Counter[tuple[str, str, int]]:
    doc = httpx.get(f"{live.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(base_url=live.url)
    seen: Counter[tuple[str, str, int]] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=examples(REST_EXAMPLES_PER_OPERATION),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=operation.as_strategy(mode))
        def run(case: Any) -> None:
            response = case.call(timeout=60)
            seen[(case.method, case.path, response.status_code)] += 1
            if response.status_code >= 500 or not _clear(response):
                failures.append(
                    f"{case.method} {case.formatted_path} query={case.query} "
                    f"body={str(case.body)[:120]!r} → {response.status_code} {response.text[:200]}"
                )

        try:
            run()
        except Unsatisfiable:
            continue  # no invalid input exists for this operation (e.g. no parameters at all)
    assert failures == [], "\n".join(failures[:20])
    return seen


def _clear(response: Any) -> bool:
    """A refusal says what is wrong: a JSON ``error`` with a code and a message."""
    if response.status_code < 400:
        return True
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error.get("code"), str) and bool(error.get("message"))


def test_rest_fuzz_invalid_requests_change_nothing(server: LiveServer, server_db_url: str) -> None:
    before = snapshot(server_db_url)
    seen = _rest_fuzz(server, GenerationMode.NEGATIVE)
    TALLY["rest"] += sum(seen.values())
    assert snapshot(server_db_url) == before
    assert violations(server_db_url) == []


def test_rest_fuzz_valid_shaped_requests(server: LiveServer, server_db_url: str) -> None:
    seen = _rest_fuzz(server, GenerationMode.POSITIVE)
    TALLY["rest"] += sum(seen.values())
    assert len({(m, p) for (m, p, _) in seen}) >= 20  # every operation was exercised
    with server.http() as http:
        assert http.get("/healthz").status_code == 200
        # A valid-shaped DELETE may have removed it; the list and the lookup must agree.
        listed = "one" in [d["name"] for d in http.get("/datasets").json()]
        assert http.get("/datasets/one").status_code == (200 if listed else 404)
    assert violations(server_db_url, allow_active=True) == []


# --- boundary sweep: every id and number field, at the edges of every integer type ---------------

# As JSON they are numbers (NaN/Infinity as the JS tokens strict JSON refuses); in a path or a
# query they are the same text.
BOUNDARY: list[tuple[str, str]] = [
    ("0", "0"),
    ("-1", "-1"),
    ("2**63-1", str(2**63 - 1)),
    ("2**63", str(2**63)),
    ("10**30", str(10**30)),
    ("'9'*30", json.dumps("9" * 30)),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
]
BOUNDARY_IDS = [b[0] for b in BOUNDARY]
NUMERIC_OVERRIDES = ["epochs", "batch_size", "lookback", "horizon", "learning_rate", "seed"]
SPACE = '{"learning_rate":{"type":"float","low":0.001,"high":0.01}}'
# (method, path, JSON body): "{v}" is where the value goes. Every train request or sweep names the
# one-row dataset, so even an acceptable number is refused ("too short") and nothing is stored.
REST_FIELDS: list[tuple[str, str, str | None]] = [
    ("GET", "/datasets/{v}", None),
    ("DELETE", "/datasets/{v}", None),
    ("GET", "/datasets/{v}/series", None),
    ("GET", "/configs/{v}", None),
    ("PUT", "/configs/{v}", '{"config":{}}'),
    ("DELETE", "/configs/{v}", None),
    ("GET", "/runs/{v}", None),
    ("GET", "/runs/{v}/events", None),
    ("GET", "/runs/x/events?after={v}", None),
    ("POST", "/runs/{v}/cancel", None),
    ("DELETE", "/runs/{v}", None),
    ("GET", "/runs/{v}/artifacts", None),
    ("GET", "/runs/{v}/model", None),
    ("POST", "/runs/{v}/predict", None),
    ("GET", "/runs?limit={v}", None),
    ("GET", "/sweeps/{v}", None),
    ("POST", "/sweeps/{v}/cancel", None),
    ("GET", "/sweeps?limit={v}", None),
    ("GET", "/datasets/one/series?max_points={v}", None),
    ("GET", "/datasets/one/series?max_fill={v}", None),
    ("POST", "/runs", '{"dataset":{v}}'),
    ("POST", "/runs", '{"dataset":"one","config":{v}}'),
    *(
        ("POST", "/runs", f'{{"dataset":"one","overrides":{{"{k}":{{v}}}}}}')
        for k in NUMERIC_OVERRIDES
    ),
    ("POST", "/sweeps", f'{{"dataset":{{v}},"space":{SPACE}}}'),
    ("POST", "/sweeps", f'{{"dataset":"one","config":{{v}},"space":{SPACE}}}'),
    *(
        ("POST", "/sweeps", f'{{"dataset":"one","{k}":{{v}},"space":{SPACE}}}')
        for k in ("trials", "parallel", "seed")
    ),
]
# Values a field accepts, answered 2xx: the boundary sweep asks for no refusal there.
ACCEPTED = {("GET", "/datasets/one/series?max_fill={v}"): {"0"}}


def _in_path(value: str) -> str:
    return quote(json.loads(value) if value.startswith('"') else value, safe="")


@pytest.mark.parametrize(("method", "path", "body"), REST_FIELDS, ids=lambda x: str(x)[:60])
def test_rest_boundary_values_are_refused(
    server: LiveServer, server_db_url: str, method: str, path: str, body: str | None
) -> None:
    before = snapshot(server_db_url)
    answers: dict[str, int] = {}
    with server.http() as http:
        for name, value in BOUNDARY:
            content = body.replace("{v}", value) if body is not None else None
            url = path.replace("{v}", _in_path(value))
            response = http.request(
                method, url, content=content, headers={"content-type": "application/json"}
            )
            answers[name] = response.status_code
            if name in ACCEPTED.get((method, path), set()):
                assert response.status_code < 300, (name, response.text)
                continue
            assert 400 <= response.status_code < 500, (name, url, content, response.text)
            assert response.json()["error"]["code"] in ("invalid_input", "not_found")
    assert snapshot(server_db_url) == before, answers
    TALLY["rest"] += len(BOUNDARY)


WS_FIELDS: list[str] = [
    '{"type":"train","dataset":{v}}',
    '{"type":"train","dataset":"one","config":{v}}',
    *(f'{{"type":"train","dataset":"one","overrides":{{"{k}":{{v}}}}}}' for k in NUMERIC_OVERRIDES),
]


@pytest.mark.parametrize("frame", WS_FIELDS, ids=lambda x: x[:60])
def test_websocket_boundary_values_are_refused(
    server: LiveServer, server_db_url: str, frame: str
) -> None:
    before = snapshot(server_db_url)
    for name, value in BOUNDARY:
        code = _check_refused(server, frame.replace("{v}", value))
        assert code in ("invalid_input", "not_found"), (name, code)
    assert snapshot(server_db_url) == before
    TALLY["ws"] += len(BOUNDARY)


def test_watch_socket_boundary_values_are_refused(server: LiveServer) -> None:
    for name, value in BOUNDARY:
        talk = asyncio.run(
            converse(f"{server.ws_url}/ws/runs/x?after={_in_path(value)}", timeout_s=30)
        )
        assert [m["code"] for m in talk.messages] in (["invalid_input"], ["not_found"]), name
        assert talk.close_code == 1008, name
    TALLY["ws"] += len(BOUNDARY)
