"""Write docs/api-reference.md from the pool's own OpenAPI spec, with no server running.

The spec is what FastAPI builds from the handlers' declarations, so this page cannot drift
from what a pool accepts: rerun this after changing the API.

    python docs/generate_api_reference.py [--check]

``--check`` writes nothing and exits 1 if the page on disk is out of date.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "api-reference.md"
METHODS = ("get", "post", "put", "patch", "delete")


def openapi() -> dict:
    """The spec of an app over a throwaway SQLite store; nothing listens, no cluster starts."""
    from jupyter_fairshare.pool.config import PoolConfig
    from jupyter_fairshare.pool.http.app import create_app
    from jupyter_fairshare.pool.pool import Pool

    with tempfile.TemporaryDirectory() as tmp:
        pool = Pool(PoolConfig(db_url=f"sqlite:///{tmp}/pool.db", data_dir=Path(tmp)))
        try:
            return create_app(pool).openapi()
        finally:
            pool.writer.close()
            pool.engine.dispose()


def _ref_name(schema: dict) -> str:
    """A schema as a short type: a component's name, ``list[X]``, or its JSON type."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_ref_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_ref_name(schema.get('items', {}))}]"
    if schema.get("format") == "binary":
        return "bytes"
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return f"dict[str, {_ref_name(schema['additionalProperties'])}]"
    return str(schema.get("type", "object"))


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(spec: dict) -> str:
    info = spec["info"]
    lines = [
        "# HTTP API reference",
        "",
        (f"Generated from the OpenAPI spec of {info['title']} {info['version']} by "
         "`docs/generate_api_reference.py`; do not edit by hand. A running pool serves the same spec "
         "at `/openapi.json` and a browsable page at `/docs`. `docs/http-api.md` describes the contract "
         "in prose."),
        "",
        ("Calls outside `/api/v1/public/` and `/api/v1/health` need `Authorization: Bearer <token>`; "
         "`admin` calls need an admin account's token. Errors are JSON `{\"detail\": \"<one sentence>\"}`."),
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                by_tag.setdefault((operation.get("tags") or ["other"])[0], []).append((path, method, operation))
    lines += ["## Contents", ""]
    for tag, operations in by_tag.items():
        lines.append(f"- **{tag}**: " + ", ".join(f"`{m.upper()} {p}`" for p, m, _ in operations))
    lines.append("")
    for tag, operations in by_tag.items():
        lines += [f"## {tag}", ""]
        for path, method, operation in operations:
            lines += _operation(path, method, operation)
    lines += _schemas(spec.get("components", {}).get("schemas", {}))
    return "\n".join(lines).rstrip() + "\n"


def _operation(path: str, method: str, operation: dict) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if operation.get("summary"):
        lines += [f"*{operation['summary']}*", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | default | description |", "| --- | --- | --- | --- | --- | --- |"]
        for p in parameters:
            schema = p.get("schema", {})
            default = schema.get("default", "")
            limits = ", ".join(f"{k} {schema[k]}" for k in ("minimum", "maximum", "exclusiveMinimum") if k in schema)
            description = _cell(" ".join(filter(None, [p.get("description") or schema.get("description", ""), limits])))
            lines.append(f"| `{p['name']}` | {p['in']} | {_cell(_ref_name(schema))} | {'yes' if p.get('required') else 'no'} "
                         f"| {_cell(default) if default != '' else ''} | {description} |")
        lines.append("")
    body = operation.get("requestBody")
    if body:
        kinds = ", ".join(f"`{ctype}` ({_ref_name(c.get('schema', {}))})" for ctype, c in body.get("content", {}).items())
        lines += [f"Request body{' (required)' if body.get('required') else ''}: {kinds}", ""]
    lines += ["| status | description | body |", "| --- | --- | --- |"]
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        shown = ", ".join(f"`{ctype}` {_ref_name(c.get('schema', {}))}" for ctype, c in content.items()) or "none"
        lines.append(f"| {status} | {_cell(response.get('description', ''))} | {shown} |")
    lines.append("")
    return lines


def _schemas(schemas: dict) -> list[str]:
    lines = ["## Schemas", ""]
    for name, schema in schemas.items():
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [_cell(schema["description"]), ""]
        properties = schema.get("properties", {})
        if not properties:
            lines += [f"Type: {_ref_name(schema)}", ""]
            continue
        required = set(schema.get("required", []))
        lines += ["| field | type | required | default | description |", "| --- | --- | --- | --- | --- |"]
        for field, prop in properties.items():
            default = prop.get("default", "")
            lines.append(f"| `{field}` | {_cell(_ref_name(prop))} | {'yes' if field in required else 'no'} "
                         f"| {_cell(default) if default != '' else ''} | {_cell(prop.get('description', ''))} |")
        lines.append("")
    return lines


def write_or_check(out: Path, text: str, command: str, argv: list[str] | None, doc: str) -> int:
    """Write ``text`` to ``out``, or with ``--check`` exit 1 when ``out`` differs from it: one
    behaviour for every file generated from the spec, so a test can pin that none drifts."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {out.name} is out of date")
    if parser.parse_args(argv).check:
        if not out.exists() or out.read_text() != text:
            print(f"{out} is out of date; run {command}.", file=sys.stderr)
            return 1
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return write_or_check(OUT, render(openapi()), "python docs/generate_api_reference.py", argv, __doc__ or "")

if __name__ == "__main__":
    sys.exit(main())
