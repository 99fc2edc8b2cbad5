"""The OpenAPI schema against the live API (issue 10): schemathesis generates requests from the schema,
valid ones and invalid ones, with and without a token; every answer must be no 5xx, a documented
status, the documented content type and a body the schema describes. Bounded and derandomized, so a
CI run is repeatable and takes about a minute."""

from __future__ import annotations

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tests.factories import UserFactory
from events.tests.factories import EventFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 8  # per operation and generation mode

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


def _api_schema():
    """The schema the site serves at /api/schema/ (generated here: no request needed)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))


def _fuzz(base_url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Every operation in both generation modes; the failures of all of them, not just the first."""
    calls = 0
    failures = []
    for result in _api_schema().get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @fuzz_settings
            def run(case) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (an operation without parameters)
                continue
            except Exception as exc:  # noqa: BLE001 - collected and reported together below
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return calls, failures


@pytest.fixture
def fuzz_world(transactional_db, settings):
    """An event on sale (so some generated ids hit real rows) and a fan with a token."""
    settings.QUEUE_THROTTLE_ENABLE = False
    EventFactory()
    return UserFactory(email="fuzz@example.com")


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "with-token"])
def test_the_api_holds_to_its_schema_under_fuzzing(live_server, fuzz_world, with_token):
    headers = {"Authorization": f"Bearer {AccessToken.for_user(fuzz_world)}"} if with_token else {}

    calls, failures = _fuzz(live_server.url, headers)

    assert calls > 100, "the fuzzer ran"
    assert not failures, "\n\n".join(failures)
