"""compose.yaml as Docker Compose reads it: YAML, then ``${...}`` interpolation.

The Compose specification's JSON schema comes from the check-jsonschema package
(dev extra), which vendors the compose-spec project's ``schema/compose-spec.json``
and records its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.dockerfile import ROOT

COMPOSE_FILE = ROOT / "compose.yaml"
_VENDOR = "check_jsonschema.builtin_schemas.vendor"
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})"
)


class MissingVariable(LookupError):
    """A ``${NAME:?message}`` whose variable is unset or empty: Compose refuses to start."""


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    loaded = YAML(typ="safe", pure=True).load(path.read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def compose_schema() -> tuple[dict[str, Any], str]:
    """The vendored Compose specification schema and the SHA-256 check-jsonschema recorded."""
    vendor = files(_VENDOR)
    text = vendor.joinpath("compose-spec.json").read_bytes()
    recorded = vendor.joinpath("sha256", "compose-spec.sha256").read_text("utf-8").strip()
    assert hashlib.sha256(text).hexdigest() == recorded, "the vendored schema was altered"
    schema = json.loads(text)
    assert isinstance(schema, dict)
    return schema, recorded


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with every ``${NAME}``, ``${NAME:-default}``, ``${NAME:?error}`` resolved."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def resolve(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op is not None and op.endswith("?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op is not None and op.endswith("-") and unset:
            return arg
        return current or ""

    return _VARIABLE.sub(resolve, value)


def required_variables(value: Any) -> set[str]:
    """The names of every ``${NAME:?...}`` (or ``${NAME?...}``) in ``value``."""
    if isinstance(value, dict):
        return set().union(*(required_variables(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(required_variables(item) for item in value))
    if not isinstance(value, str):
        return set()
    return {m["name"] for m in _VARIABLE.finditer(value) if (m["op"] or "").endswith("?")}
