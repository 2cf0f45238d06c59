"""A self-contained HTML page of the OpenAPI schema at /docs (no CDN: this machine may be offline)."""

import html
import json

from fastapi import FastAPI
from fastapi.responses import HTMLResponse


def docs_page(openapi: dict) -> str:
    """A self-contained HTML page of the OpenAPI schema (no CDN: this machine may be offline)."""
    esc = html.escape
    rows = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            params = op.get("parameters", [])
            parts = [f"<h3><code>{esc(method.upper())} {esc(path)}</code> {esc(op.get('summary', ''))}</h3>"]
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            if params:
                items = "".join(
                    f"<li><code>{esc(p['name'])}</code> ({esc(p.get('in', ''))}) {esc(p.get('description', ''))}</li>"
                    for p in params
                )
                parts.append(f"<p>Parameters:</p><ul>{items}</ul>")
            if body:
                ref = body.get("$ref", "").rsplit("/", 1)[-1]
                schema = openapi.get("components", {}).get("schemas", {}).get(ref, body)
                parts.append(f"<p>Request body (JSON):</p><pre>{esc(json.dumps(schema, indent=2))}</pre>")
            responses = op.get("responses", {}).items()
            codes = ", ".join(f"{esc(code)} {esc(r.get('description', ''))}" for code, r in responses)
            parts.append(f"<p>Responses: {codes}</p>")
            rows.append("<section>" + "".join(parts) + "</section>")
    info = openapi.get("info", {})
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "pre{background:#f4f4f5;padding:.6em;overflow:auto}section{border-top:1px solid #ddd}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(info.get('title', 'API'))} API</title>"
        f"<style>{style}</style></head><body><h1>{esc(info.get('title', 'API'))} HTTP API</h1>"
        f"<p>{esc(info.get('description', ''))}</p><p>Machine-readable schema: <code>/openapi.json</code>. Errors are "
        'JSON <code>{"error": code, "message": text, "status": n}</code>.</p>'
        f"{''.join(rows)}</body></html>"
    )


def install_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))
