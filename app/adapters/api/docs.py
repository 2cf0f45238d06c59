"""A self-contained HTML page of the OpenAPI schema at /docs (no CDN: this machine may be offline).

Each route shows its description, parameters, an example request (the raw HTTP request, built
from the examples in the schema), its example responses, and its request schema. OpenAPI
descriptions are CommonMark: the page renders the part our descriptions use (code spans and
paragraphs) and escapes everything else, so `code` shows as code rather than as backticks.
"""

import html
import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from app.adapters.api.responses import as_written

MISSING = object()
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)  # CommonMark: closed by a run of the same length
STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;max-width:64em;"
    "margin:2em auto;padding:0 1em;line-height:1.45}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,"
    "Consolas,'Liberation Mono',monospace}pre{background:#f4f4f5;padding:.6em;overflow:auto;white-space:pre-wrap}"
    "p code,li code,h3 code{background:#f4f4f5;padding:0 .2em;border-radius:3px}"
    "section{border-top:1px solid #ddd;padding:.4em 0}summary{cursor:pointer}h4{margin:.8em 0 .3em}"
)


def markdown(text: str) -> str:
    """CommonMark code spans and paragraphs as HTML; everything else is escaped text."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(f"<p>{_inline(p)}</p>" for p in paragraphs)


def _inline(text: str) -> str:
    out, pos = [], 0
    for match in CODE_SPAN.finditer(text):
        code = match.group(2)
        if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
            code = code[1:-1]  # CommonMark strips one space each side (so `` `x` `` can show a backtick)
        out += [html.escape(text[pos : match.start()]), f"<code>{html.escape(code)}</code>"]
        pos = match.end()
    return "".join([*out, html.escape(text[pos:])])


def _schema(openapi: dict, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return openapi.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], schema) if ref else schema


def first_example(openapi: dict, item: dict) -> Any:
    """The first example of a media type or parameter object (its ``example``, its named
    ``examples``, or its schema's ``examples``), else MISSING."""
    if "example" in item:
        return item["example"]
    if item.get("examples"):
        return next(iter(item["examples"].values())).get("value", MISSING)
    schema = _schema(openapi, item.get("schema", {}))
    return schema["examples"][0] if schema.get("examples") else schema.get("example", MISSING)


def _shown(example: Any) -> str:
    return example if isinstance(example, str) else json.dumps(example, indent=2, ensure_ascii=False)


def example_request(openapi: dict, path: str, method: str, op: dict) -> str:
    """The route's example as a raw HTTP request: path and query from the parameters'
    examples, the body from the request body's."""
    query = []
    for param in op.get("parameters", []):
        value = first_example(openapi, param)
        if value is MISSING:
            continue
        if param.get("in") == "path":
            path = path.replace("{" + param["name"] + "}", quote(str(value), safe="/"))
        elif param.get("in") == "query":
            query.append((param["name"], value))
    target = path + ("?" + urlencode(query, doseq=True) if query else "")
    lines = [f"{method.upper()} {target}"]
    for media, item in op.get("requestBody", {}).get("content", {}).items():
        body = first_example(openapi, item)
        if body is MISSING:
            continue
        body = _shown(body)
        if media.startswith("multipart/") and body.startswith("--"):
            media += "; boundary=" + body[2:].split("\r\n", 1)[0]
        lines += [f"Content-Type: {media}", "", body.replace("\r\n", "\n")]
        break
    return "\n".join(lines)


def example_responses(openapi: dict, op: dict) -> list[tuple[str, str, str, Any]]:
    """(status, description, media type, first example) of every documented response with one."""
    found = []
    for status, response in op.get("responses", {}).items():
        for media, item in response.get("content", {}).items():
            example = first_example(openapi, item)
            if example is not MISSING:
                found.append((status, response.get("description", ""), media, example))
    return found


def _section(openapi: dict, path: str, method: str, op: dict) -> str:
    esc = html.escape
    parts = [f"<h3><code>{esc(method.upper())} {esc(path)}</code> {esc(op.get('summary', ''))}</h3>"]
    parts.append(markdown(op.get("description", "")))
    if op.get("parameters"):
        items = "".join(
            f"<li><code>{esc(p['name'])}</code> ({esc(p.get('in', ''))}) {_inline(p.get('description', ''))}</li>"
            for p in op["parameters"]
        )
        parts.append(f"<h4>Parameters</h4><ul>{items}</ul>")
    parts.append(f"<h4>Example request</h4><pre>{esc(example_request(openapi, path, method, op))}</pre>")
    responses = example_responses(openapi, op)
    for status, _, media, example in responses:
        if status.startswith("2"):
            parts.append(f"<h4>Example response: {esc(status)} <code>{esc(media)}</code></h4>")
            parts.append(f"<pre>{esc(_shown(example))}</pre>")
    errors = [r for r in responses if not r[0].startswith("2")]
    if errors:
        items = "".join(f"<li>{esc(s)} {_inline(d)}<pre>{esc(_shown(e))}</pre></li>" for s, d, _, e in errors)
        parts.append(f"<details><summary>Errors ({esc(', '.join(r[0] for r in errors))})</summary><ul>{items}</ul>")
        parts.append("</details>")
    for media, item in op.get("requestBody", {}).get("content", {}).items():
        schema = {k: v for k, v in _schema(openapi, item.get("schema", {})).items() if k != "examples"}
        parts.append(f"<details><summary>Request schema (<code>{esc(media)}</code>)</summary>")
        parts.append(f"<pre>{esc(json.dumps(schema, indent=2, ensure_ascii=False))}</pre></details>")
    return '<section class="op">' + "".join(parts) + "</section>"


def docs_page(openapi: dict) -> str:
    """A self-contained HTML page of the OpenAPI schema (no CDN: this machine may be offline)."""
    rows = [
        _section(openapi, path, method, op)
        for path, methods in openapi.get("paths", {}).items()
        for method, op in methods.items()
    ]
    info = openapi.get("info", {})
    title = html.escape(info.get("title", "API"))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title} API</title>"
        f"<style>{STYLE}</style></head><body><h1>{title} HTTP API</h1>{markdown(info.get('description', ''))}"
        "<p>Machine-readable schema: <code>/openapi.json</code> (more examples there). Errors are JSON "
        '<code>{"error": code, "message": text, "status": n}</code>; under <code>/v1</code> they take '
        'OpenAI\'s shape <code>{"error": {"message", "type", "param", "code"}}</code>. The examples are '
        "invented.</p>"
        f"{''.join(rows)}</body></html>"
    )


def _restore(item: dict) -> None:
    if "example" in item:
        item["example"] = as_written(item["example"])
    for example in (item.get("examples") or {}).values():
        if isinstance(example, dict) and "value" in example:
            example["value"] = as_written(example["value"])


def keep_null_examples(app: FastAPI) -> None:
    """FastAPI drops every null from the OpenAPI document, the examples' nulls too
    (fastapi/fastapi#5559): put the examples back as examples.py wrote them."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for methods in schema.get("paths", {}).values():
            for op in methods.values():
                for param in op.get("parameters", []):
                    _restore(param)
                bodies = [op.get("requestBody", {}), *op.get("responses", {}).values()]
                for item in (i for body in bodies for i in body.get("content", {}).values()):
                    _restore(item)
        return schema

    app.openapi = openapi


def install_docs(app: FastAPI) -> None:
    """The /docs page, and null values kept in the examples of /openapi.json."""
    keep_null_examples(app)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))
