"""Schemathesis over the OpenAPI document: no input, valid or not, gets a 5xx.

Runs in process against the real app and database (both kinds), as an owner's browser
session so that every operation is reachable, with a bounded number of examples for each
operation and each generation mode (valid and invalid input). The operations are dealt into
``SHARDS`` tests by their position in the document, so that the test workers share them
and no single test runs for minutes. Besides "no 5xx" it checks
that the document tells the truth: documented status codes, content types and response
schemas, and that invalid input is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from .helpers import World, session_headers

EXAMPLES_PER_OPERATION = 15
SHARDS = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        # A body over the size limit is refused with 413 before its content is read: that
        # refuses invalid data too (a string past its maxLength can make the body too big).
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "406", "413", "422", "428"]
            }
        },
    }
)


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_input_gets_a_server_error(
    app: FastAPI, client: TestClient, world: World, shard: int
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_CONFIG)
    tried = 0
    for position, result in enumerate(schema.get_all_operations()):
        assert isinstance(result, Ok), result
        if position % SHARDS != shard:
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                # A session of its own for each example: logging out, signing out everywhere
                # or changing the password end sessions on the server.
                headers = session_headers(app, world.a.users["owner"])
                # A minute, not the client's 10 s: on a loaded 2-core machine an export or a
                # report can take longer, and only a 5xx or a wrong answer is a failure.
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)

            try:
                check()
            except Unsatisfiable:
                # Nothing invalid can be made for an operation without inputs.
                if mode is GenerationMode.POSITIVE:
                    raise
            tried += 1
    assert tried >= 2 * (29 // SHARDS)


def test_every_operation_is_in_a_shard(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_CONFIG)
    operations = list(schema.get_all_operations())
    assert len(operations) >= 29
    dealt = {position % SHARDS for position in range(len(operations))}
    assert dealt == set(range(SHARDS))
