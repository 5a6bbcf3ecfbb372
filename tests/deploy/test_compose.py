"""compose.yaml: valid under the Compose specification's JSON schema, and what no schema says.

No ``docker compose`` plugin here, so the file is validated with ``jsonschema`` against
the schema check-jsonschema vendors (and with its CLI, as CI does); then the rest is
checked: the replicas wait for the one migration and for healthy services, every
long-running service has a health check, the settings the replicas must agree on are
defined once and the secrets among them are required, and the app accepts them.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from klantroef_app.cli import check_workers
from klantroef_app.settings import Settings
from tests.compose_file import (
    COMPOSE_FILE,
    MissingVariable,
    compose_schema,
    interpolate,
    load,
    required_variables,
)
from tests.dockerfile import ROOT, stages
from tests.services import require_tool

SECRETS_REQUIRED = {
    "KLANTROEF_ACCESS_SECRET",
    "KLANTROEF_STREAM_SECRET",
    "KLANTROEF_IP_HASH_SECRET",
    "KLANTROEF_DB_PASSWORD",
    "KLANTROEF_S3_SECRET_ACCESS_KEY",
}
DOT_ENV = {
    "KLANTROEF_ACCESS_SECRET": "a" * 40,
    "KLANTROEF_STREAM_SECRET": "s" * 40,
    "KLANTROEF_IP_HASH_SECRET": "h" * 40,
    "KLANTROEF_DB_PASSWORD": "database password",
    "KLANTROEF_S3_SECRET_ACCESS_KEY": "s3 secret key",
}


def validator() -> Draft202012Validator:
    schema, _ = compose_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(document: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator().iter_errors(document)]


def test_the_file_is_valid_under_the_compose_specification_schema() -> None:
    raw = load()
    assert errors(raw) == []
    assert errors(interpolate(raw, DOT_ENV)) == []


def test_the_schema_refuses_what_compose_would_refuse() -> None:
    broken = copy.deepcopy(load())
    broken["services"]["app"]["healthcheck"]["test"] = 5
    broken["services"]["app"]["depends_on"]["migrate"]["condition"] = "service_finished"
    found = errors(broken)
    assert any("healthcheck" in e for e in found), found
    assert any("depends_on" in e for e in found), found


def test_check_jsonschema_accepts_it_as_ci_runs_it() -> None:
    check = require_tool("check-jsonschema", "check-jsonschema")
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_replicas_start_after_the_one_migration_and_healthy_services() -> None:
    services = load()["services"]
    app, migrate = services["app"], services["migrate"]
    assert app["deploy"]["replicas"] == 2
    assert migrate["entrypoint"] == ["klantroef", "migrate"]
    assert "deploy" not in migrate  # once
    assert migrate["restart"] == "no"
    assert "--no-migrate" in app["command"]  # no replica races to change the schema
    assert (app["build"], app["image"]) == (migrate["build"], migrate["image"])
    assert app["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "mariadb": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "s3": {"condition": "service_healthy"},
    }
    assert migrate["depends_on"] == {"mariadb": {"condition": "service_healthy"}}


def test_every_long_running_service_has_a_health_check() -> None:
    services = load()["services"]
    for name, service in services.items():
        if name == "migrate":
            continue
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", name
        assert len(test) > 1, name
    _, run = stages()
    assert services["app"]["healthcheck"]["test"][1:] == run.all("HEALTHCHECK")[-1].exec_form()


def test_redis_keeps_revocations_and_rate_limits_across_restarts() -> None:
    redis = load()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert "ports" not in redis  # on the compose network only
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_the_settings_replicas_share_are_defined_once_and_the_secrets_are_required() -> None:
    raw = load()
    services = raw["services"]
    assert services["app"]["environment"] is services["migrate"]["environment"]  # one anchor
    shared = services["app"]["environment"]
    assert required_variables(raw) >= SECRETS_REQUIRED
    for name in SECRETS_REQUIRED:
        with pytest.raises(MissingVariable):
            interpolate(raw, {k: v for k, v in DOT_ENV.items() if k != name})

    # Everything the README says every host must agree on is set here, once.
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("What must be set the same on every host", 1)[1].split("\n\n", 2)[1]
    named = set(re.findall(r"KLANTROEF_[A-Z0-9_]*[A-Z0-9]\b(?!_\*)", section))
    assert named, section
    assert named - shared.keys() == set()


def test_the_app_accepts_the_shared_settings_and_they_agree_with_the_services() -> None:
    document = interpolate(load(), DOT_ENV)
    services = document["services"]
    environment = {k: str(v) for k, v in services["app"]["environment"].items()}
    settings = Settings.from_env(environment)
    check_workers(settings, 2)  # what several processes need: shared state, no SQLite
    assert settings.database_url.startswith("mysql+asyncmy://")
    assert settings.redis_url is not None
    assert settings.s3 is not None
    assert settings.s3.endpoint == "http://s3:8333"
    assert None not in (settings.access_secret, settings.stream_secret, settings.ip_hash_secret)
    assert int(environment["KLANTROEF_SHUTDOWN_GRACE"]) < _seconds(
        services["app"]["stop_grace_period"]
    )

    mariadb = services["mariadb"]["environment"]
    url = f"mysql+asyncmy://{mariadb['MARIADB_USER']}:{mariadb['MARIADB_PASSWORD']}@mariadb:3306/{mariadb['MARIADB_DATABASE']}"
    assert settings.database_url == url
    identities = json.loads(document["configs"]["s3-identities"]["content"])
    keys = identities["identities"][0]["credentials"][0]
    assert (keys["accessKey"], keys["secretKey"]) == (
        settings.s3.access_key_id,
        settings.s3.secret_access_key,
    )


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return int(match[1])
