"""deploy/compose: the compose file follows the Compose Specification (its JSON Schema, pinned in
compose-go) and wires the server to every engine. It is not run here: no Docker engine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "compose" / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file."""
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def _schema() -> dict[str, Any]:
    folder = os.environ.get("CONCORD_K8S_SCHEMAS", "")
    path = Path(folder) / "compose-spec.json"
    if not folder or not path.is_file():
        pytest.fail("CONCORD_K8S_SCHEMAS has no compose-spec.json: run `make test-chart`")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def test_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    jsonschema.validate(compose, _schema())


def test_a_misspelt_key_is_refused(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["concord"]["enviroment"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _schema())


def test_every_capability_is_on_an_engine_that_the_stack_runs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = services["concord"]["environment"]
    capabilities = ["LOCKS", "EVENTS", "SAGAS", "RBAC", "CACHE", "DISCOVERY", "RATELIMIT"]
    for capability in [*capabilities, "IDEMPOTENCY"]:
        url = env[f"CONCORD_{capability}_URL"]
        host = url.split("://", 1)[1].split("@")[-1].split(":")[0]
        assert host in services, (capability, url)
    assert set(services["concord"]["depends_on"]) == {"redis", "postgres", "etcd"}
    assert {"jaeger", "prometheus"} <= set(services)


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).is_file(), source
