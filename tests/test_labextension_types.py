"""The sidebar's wire types are the pool's: regenerated from its OpenAPI spec, they match the committed file."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "labextension" / "scripts" / "openapi-types.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_types", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_sidebar_types_match_the_pools_openapi_spec():
    script = generator()
    expected = script.render(script.openapi())
    committed = script.OUT.read_text()
    assert committed == expected, (
        "labextension/src/generated/api.ts is out of date with the pool's schemas; "
        "run python labextension/scripts/openapi-types.py and commit the result."
    )


def test_a_field_the_pool_adds_shows_up_in_the_generated_types():
    script = generator()
    spec = {"components": {"schemas": {"Job": {
        "properties": {"id": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                       "site": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        "required": ["id", "tags"],
    }}}}
    text = script.render(spec)
    assert "export interface Job {\n  id: string;\n  tags: string[];\n  site?: string | null;\n}" in text


def test_the_job_states_and_event_types_come_from_the_protocol():
    from jupyter_fairshare.protocol import EventType

    text = generator().render({})
    events = text.split("export const EVENT_TYPES = [")[1].split("]")[0]
    assert [e.strip(" ',\n") for e in events.split(",") if e.strip(" ',\n")] == [e.value for e in EventType]
