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

from app.config import Settings
from app.errors import NewsragError


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = Path(args.corpus)
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = Path(args.index_dir)
    return Settings(**overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    from app.ingest import ingest

    settings = _settings(args)
    report = ingest(settings, settings.corpus_dir, rebuild=args.rebuild, progress=not args.quiet)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(report.summary())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    print("The chat UI is not there yet; the index is built and ready to query.", file=sys.stderr)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print every setting, its environment variable, default and meaning."""
    from app.config import settings_table

    print(settings_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="newsrag: cited answers from news articles")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index the articles of a corpus folder (incremental)")
    p.add_argument("--corpus", help="corpus folder (default: NEWSRAG_CORPUS_DIR or ./corpus)")
    p.add_argument("--index-dir", help="index folder (default: NEWSRAG_INDEX_DIR or ./index)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("config", help="print the settings table (Markdown)")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("serve", help="serve the chat UI and HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--index-dir")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
