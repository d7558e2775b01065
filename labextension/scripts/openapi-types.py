"""Write the sidebar's wire types (``src/generated/api.ts``) from the pool's own OpenAPI spec.

The spec is what FastAPI builds from ``jupyter_fairshare/pool/http/schemas.py``, so the sidebar's
types cannot drift from what a pool serves: rerun this after changing the schemas (or the job
states and event types of ``jupyter_fairshare/protocol.py``, which it writes too).

    python labextension/scripts/openapi-types.py [--check]

``--check`` writes nothing and exits 1 if the file on disk is out of date. The spec is built the
way ``docs/generate_api_reference.py`` builds it, over a throwaway store, with no server running.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "labextension" / "src" / "generated" / "api.ts"

HEADER = """\
/**
 * The pool's wire types, generated from its OpenAPI spec (/openapi.json) and from
 * jupyter_fairshare/protocol.py by labextension/scripts/openapi-types.py: do not edit by
 * hand; rerun `python labextension/scripts/openapi-types.py` after changing the schemas.
 * A field marked optional (`?`) has a default in the pool's model; the pool's responses
 * carry it all the same.
 */
"""


def _reference() -> Any:
    """The API reference's generator, which builds the spec: there is one way to build it."""
    spec = importlib.util.spec_from_file_location("generate_api_reference", ROOT / "docs" / "generate_api_reference.py")
    assert spec is not None and spec.loader is not None, "docs/generate_api_reference.py is missing"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def openapi() -> dict[str, Any]:
    """The pool's spec."""
    return dict(_reference().openapi())


def ts_type(schema: dict[str, Any]) -> str:
    """A JSON schema as a TypeScript type."""
    if not schema:
        return "unknown"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(dict.fromkeys(ts_type(s) for s in schema["anyOf"]))
    if "enum" in schema:
        return " | ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        items = ts_type(schema.get("items", {}))
        return f"Array<{items}>" if "|" in items else f"{items}[]"
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        return f"Record<string, {ts_type(extra) if isinstance(extra, dict) else 'unknown'}>"
    return {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}.get(
        str(kind), "unknown"
    )


def _comment(text: str, indent: str) -> list[str]:
    # A "*/" inside a description would end the comment early and break the file.
    return [f"{indent}/** {' '.join(text.split()).replace('*/', '* /')} */"]


def interface(name: str, schema: dict[str, Any]) -> list[str]:
    """One component schema as an exported interface."""
    lines = _comment(schema["description"], "") if schema.get("description") else []
    lines.append(f"export interface {name} {{")
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        if prop.get("description"):
            lines += _comment(prop["description"], "  ")
        lines.append(f"  {field}{'' if field in required else '?'}: {ts_type(prop)};")
    return [*lines, "}"]


def vocabulary() -> list[str]:
    """The job states and event types, from the protocol both sides share."""
    from jupyter_fairshare.protocol import FINAL_STATES, EventType, JobState

    def constant(name: str, values: list[str]) -> list[str]:
        return [f"export const {name} = [", *(f"  '{v}'," for v in values[:-1]), f"  '{values[-1]}'", "] as const;"]

    return [
        *constant("JOB_STATES", [s.value for s in JobState]), "",
        *constant("FINAL_STATES", [s.value for s in JobState if s in FINAL_STATES]), "",
        *constant("EVENT_TYPES", [e.value for e in EventType]),
    ]


def render(spec: dict[str, Any]) -> str:
    """The whole of ``api.ts`` for ``spec``."""
    lines = [HEADER.rstrip("\n"), "", *vocabulary()]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        lines += ["", *interface(name, schema)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    reference = _reference()
    command = "python labextension/scripts/openapi-types.py"
    return int(reference.write_or_check(OUT, render(dict(reference.openapi())), command, argv, __doc__ or ""))

if __name__ == "__main__":
    sys.exit(main())
