"""Index audits run in a fresh interpreter, a reader that shares no Chroma state with the
process that wrote the index (or with the reliability run itself).

    python -m eval.reliability.probe snapshot INDEX_DIR
    python -m eval.reliability.probe audit INDEX_DIR [--expected EXPECTED_JSON] [--vectors]

print one JSON object: ``judges.index_snapshot`` or ``judges.index_audit`` of the index.
``snapshot_in_child`` and ``audit_in_child`` run them so and return the object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.common import python_json
from eval.reliability.judges import index_audit, index_snapshot

MODULE = "eval.reliability.probe"


def snapshot_in_child(index_dir: Path, env: dict[str, str]) -> dict:
    return python_json([MODULE, "snapshot", str(index_dir)], env)


def audit_in_child(index_dir: Path, env: dict[str, str], expected: Path | None = None, vectors: bool = False) -> dict:
    args = [MODULE, "audit", str(index_dir)]
    if expected:
        args += ["--expected", str(expected)]
    if vectors:
        args.append("--vectors")
    return python_json(args, env)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("snapshot", help="articles with their content hash and chunk ids").add_argument(
        "index_dir", type=Path
    )
    audit = sub.add_parser("audit", help="duplicates, incomplete records, orphans, difference from a clean ingest")
    audit.add_argument("index_dir", type=Path)
    audit.add_argument("--expected", type=Path, help="expected_index() JSON of a clean ingest")
    audit.add_argument("--vectors", action="store_true", help="look every chunk up in the vector index")
    args = p.parse_args(argv)
    if args.command == "snapshot":
        result = index_snapshot(args.index_dir)
    else:
        result = index_audit(args.index_dir, args.expected, args.vectors)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
