"""Property-based fuzzing of both transports with schemathesis, on a real server.

REST cases come from the published OpenAPI document and GraphQL ones from the
schema by introspection. Replies must conform: no 5xx or GraphQL server
error, only documented statuses and content types, bodies matching their
schemas, invalid input refused and valid input accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import schemathesis
from graphql import IntValueNode, ObjectValueNode, StringValueNode, ValueNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS

from tests.integration.support import LiveServer

EXAMPLES = 40
# "Expires in the future" and the like cannot be said in JSON Schema, so
# schema-valid input may still be refused; `no_internal_errors` replaces the
# stock server-error check to say exactly what a server error is here.
REPLACED_CHECKS = {"positive_data_acceptance", "not_a_server_error"}


def no_internal_errors(
    ctx: schemathesis.CheckContext,
    response: schemathesis.Response,
    case: schemathesis.Case,
) -> bool:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if "/graph" in case.path:
        for error in response.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code != "INTERNAL", error
            if code is None:
                assert "path" not in error, f"an unclassified execution error: {error}"
    return True


def datetimes() -> st.SearchStrategy[StringValueNode]:
    future = datetime.now(UTC) + timedelta(days=1)
    moments = st.datetimes(
        min_value=future.replace(tzinfo=None), timezones=st.just(UTC)
    )
    return moments.map(lambda moment: StringValueNode(value=moment.isoformat()))


def strings(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[ValueNode]:
    return strategy.map(lambda text: StringValueNode(value=text))


NAME = st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True)
schemathesis.graphql.scalar("DateTime", datetimes())
schemathesis.graphql.scalar(
    "Tag", strings(st.builds(lambda owner, name: f"@{owner}/{name}", NAME, NAME))
)
schemathesis.graphql.scalar(
    "URL", strings(st.sampled_from(["data:,hello", "data:;base64,AAAA"]) | st.text())
)
schemathesis.graphql.scalar(
    "Dtype", strings(st.sampled_from(["string", "int32", "float64", "list"]))
)
schemathesis.graphql.scalar("Client", strings(st.sampled_from(["python", "linux"])))
schemathesis.graphql.scalar(
    "JSON",
    strings(st.text()) | st.integers(0, 99).map(lambda n: IntValueNode(value=str(n))),
)
schemathesis.graphql.scalar("JSONObject", st.just(ObjectValueNode(fields=())))


def checks() -> list[schemathesis.CheckFunction]:
    kept = [
        check for check in CHECKS.get_all() if check.__name__ not in REPLACED_CHECKS
    ]
    return [*kept, no_internal_errors]


def operations(schema: schemathesis.BaseSchema) -> Iterator[schemathesis.APIOperation]:
    for result in schema.get_all_operations():
        yield result.ok()


def fuzz(schema: schemathesis.BaseSchema, live_server: LiveServer) -> int:
    headers = {"Authorization": f"Bearer {live_server.key}"}
    tested = 0
    for operation in operations(schema):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=checks())

        check()
        tested += 1
    return tested


@pytest.fixture(autouse=True)
def reset_profile(live_server: LiveServer) -> Iterator[None]:
    """Peter's spend limit as it was: fuzzing PATCH /user leaves a random one
    (often 0), which would refuse the predictions of the tests that follow."""
    yield
    reply = httpx.patch(
        f"{live_server.url}/user",
        json={"spendLimit": None},
        headers={"Authorization": f"Bearer {live_server.key}"},
        trust_env=False,
    )
    assert reply.status_code == 200, reply.text


@pytest.mark.timeout(300)
def test_rest_api_conforms_to_openapi(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")

    assert fuzz(schema, live_server) >= 6


@pytest.mark.timeout(300)
def test_graphql_api_conforms_to_schema(live_server: LiveServer) -> None:
    schema = schemathesis.graphql.from_url(f"{live_server.url}/graph")

    assert fuzz(schema, live_server) >= 5
