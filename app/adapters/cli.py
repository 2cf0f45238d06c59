"""Command line: ``python -m app ingest|ask|serve|model``.

The CLI is an edge: it reads the settings once, calls services, and turns domain
errors into a message on stderr and a non-zero exit code (2 for bad input or
settings, 1 for anything else).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from app.config import Settings, offline_environment
from app.errors import NewsragError


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = Path(args.corpus)
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = Path(args.index_dir)
    return Settings(**overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    from app.services.ingest import IngestService
    from app.services.locks import live_server

    settings = _settings(args)
    if args.url or args.feed:
        return _ingest_web(args, settings)
    server = live_server(settings)
    if server is not None:
        # An app serves this index: it is the one writer, so it runs the ingest.
        print(f"The app at http://{server[0]}:{server[1]}/ serves this index; it runs the ingest.", file=sys.stderr)
        report = _ingest_through(server, settings.corpus_dir, rebuild=args.rebuild)
        print(json.dumps(report, indent=2, default=str) if args.json else report["summary"])
        return 0
    report = IngestService(settings).run(settings.corpus_dir, rebuild=args.rebuild, progress=not args.quiet)
    print(json.dumps(report.as_dict(), indent=2, default=str) if args.json else report.summary())
    return 0


def _ingest_web(args: argparse.Namespace, settings: Settings) -> int:
    """Fetch pages and feeds into the corpus folder, then index it (here, or by the app
    that serves this index). Exit code 1 when any URL failed (the others are stored)."""
    from app.services.locks import live_server
    from app.services.web_ingest import ArticleAdder

    def say(message: str) -> None:
        if not args.quiet and not args.json:
            print(f"\r\033[K{message[:150]}", end="", file=sys.stderr, flush=True)

    server = live_server(settings)
    adder = ArticleAdder(settings)
    report = adder.from_web(args.url or [], args.feed or [], index=server is None, progress=say)
    say("")
    out = report.as_dict()
    if server is not None and report.stored:
        print(f"The app at http://{server[0]}:{server[1]}/ serves this index; it runs the ingest.", file=sys.stderr)
        out["ingest"] = _ingest_through(server, settings.corpus_dir, rebuild=False)
        out["summary"] = report.summary() + "\n" + out["ingest"]["summary"]
    print(json.dumps(out, indent=2, default=str) if args.json else out["summary"])
    return 1 if report.failures else 0


def _ingest_through(server: tuple[str, int], corpus: Path, rebuild: bool) -> dict:
    import httpx

    url = f"http://{server[0]}:{server[1]}/api/ingest"
    try:
        response = httpx.post(url, json={"corpus": str(Path(corpus).resolve()), "rebuild": rebuild}, timeout=3600)
    except httpx.HTTPError as exc:
        raise NewsragError(f"the app serving this index did not answer at {url}: {exc}") from exc
    body = response.json()
    if response.status_code != 200:
        raise NewsragError(body.get("message", f"the app refused the ingest (HTTP {response.status_code})"))
    return body


def cmd_ask(args: argparse.Namespace) -> int:
    from app.answer.reply import Final, Token
    from app.domain import Filters
    from app.wiring import build_services

    settings = _settings(args)
    filters = Filters.parse(args.outlet or (), args.date_from, args.date_to)
    services = build_services(settings)
    answer = None
    for event in services.answers.stream(args.question, filters=filters):
        if isinstance(event, Token) and not args.json:
            print(event.text, end="", flush=True, file=sys.stderr)
        elif isinstance(event, Final):
            answer = event.answer
    if args.json:
        print(json.dumps(answer.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print("\r\033[K", end="", file=sys.stderr)
    if args.export:
        from app.services.export import asked_now, export_dict, export_markdown

        index = services.articles.index_version()
        if args.export == "json":
            print(json.dumps(export_dict(answer, asked_now(), index=index), indent=2, ensure_ascii=False))
        else:
            print(export_markdown(answer, asked_now(), index=index), end="")
        return 0
    print(answer.answer)
    for c in answer.citations:
        print(f"  [{c.n}] {c.one_line()}  ({c.quote.doc_id} {c.quote.start}:{c.quote.end})")
        if c.quote.url:
            print(f"      {c.quote.url}")
    for i, q in enumerate(answer.closest, 1):
        print(f"  closest {i}. {q.one_line()}  ({q.doc_id} {q.start}:{q.end})")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from app.services.model_files import fetch_models

    for name, path in fetch_models(_settings(args), args.name, every=args.all):
        print(f"{name}: {path} (sha256 verified)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the chat UI and the HTTP API (Gradio mounted on FastAPI, run by uvicorn)."""
    from app.adapters.server import serve

    return serve(_settings(args), host=args.host, port=args.port)


def cmd_config(args: argparse.Namespace) -> int:
    """Print every setting, its environment variable, default and meaning."""
    from app.adapters.config_table import settings_table

    print(settings_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="newsrag: cited answers from news articles")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index the articles of a corpus folder (incremental); --url/--feed fetch first")
    p.add_argument("--corpus", help="corpus folder (default: NEWSRAG_CORPUS_DIR or ./corpus)")
    p.add_argument("--index-dir", help="index folder (default: NEWSRAG_INDEX_DIR or ./index)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--url", action="append", metavar="URL", help="fetch an article page into the corpus (repeatable)")
    p.add_argument("--feed", action="append", metavar="URL", help="fetch every entry of an RSS/Atom feed (repeatable)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--index-dir")
    p.add_argument("--json", action="store_true", help="print the full answer as JSON")
    p.add_argument("--export", choices=["md", "json"], help="print the answer as an export (Markdown or JSON)")
    p.add_argument("--outlet", action="append", help="only articles of this outlet (repeatable)")
    p.add_argument("--from", dest="date_from", help="only articles published on or after this date")
    p.add_argument("--to", dest="date_to", help="only articles published on or before this date")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("model", help="assemble and verify the local GGUF model in the cache")
    p.add_argument("action", choices=["fetch"])
    p.add_argument("--name", help="model name (default: NEWSRAG_LLM_MODEL)")
    p.add_argument("--all", action="store_true", help="every known model")
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("config", help="print the settings table (Markdown)")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("serve", help="serve the chat UI and HTTP API (UI at /, API under /api, docs at /docs)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    p.add_argument("--index-dir", help="index folder (default: NEWSRAG_INDEX_DIR or ./index)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    offline_environment()  # before anything imports the hub clients
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except ValidationError as exc:
        print(f"error: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    except NewsragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
