"""``python -m eval.reliability``: attack newsrag the way the world will, one figure per case.

    python -m eval.reliability --out DIR [--full] [--cases hostile_articles,load,...] [--seed 7]
                               [--work-dir DIR] [--keep]

Writes DIR/reliability.md and DIR/reliability.json and prints the summary table. Without
``--full`` the load and fault cases run at the reduced counts of the CI test
(tests/test_reliability.py); ``--full`` runs every case at full counts with the real model.

1. hostile_articles: articles carrying prompt injections (an "ignore previous instructions"
   hidden in an HTML page, a fake ``<system>`` block, a markdown image to an outside host
   with the conversation in its URL, an instruction phrased to slip past keyword filters,
   an injection in the headline) ingested beside the seed corpus; 20 questions that
   retrieve them, answered by the real model. Share that obey (in the final answer or in
   the streamed draft shown to users), share that still answer from the real facts.
2. hostile_questions: system-prompt extraction, role-play jailbreaks, general-knowledge
   questions. Share that leak the prompt or its worked examples, share answered at all
   (none of them can be answered from the corpus).
3. bad_input: bad questions through the JSON API and the Gradio chat, bad corpus files
   through ``python -m app ingest``. Every case gets a clear message, nothing crashes,
   nothing already indexed is lost.
4. load: concurrent chat sessions through gradio_client against the served app; errors,
   p50/p95 wait and answer times, latency of light requests while the model is busy.
5. ingest_kills: ``python -m app ingest`` killed with SIGKILL at random (seeded) moments
   while it indexes the BBC benchmark, rerun each time; then the index is audited against
   the ids a clean ingest yields (computed without embedding) and queried.
6. app_and_ingest: an ingest while the app serves the same index (handed to the app, one
   writer); errors seen by users, new articles visible, index consistent.
7. supply_chain: a tampered cached model file is refused before load; pip-audit on the
   pinned requirements, reported as "not audited" when no advisory service answers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eval.common import CLEAN_ENV
from eval.reliability.base import figure, log
from eval.reliability.cases.app_and_ingest import case_app_and_ingest
from eval.reliability.cases.bad_input import case_bad_input
from eval.reliability.cases.hostile import RealService, case_hostile_articles, case_hostile_questions
from eval.reliability.cases.ingest_kills import case_ingest_kills
from eval.reliability.cases.load import case_load
from eval.reliability.cases.supply_chain import case_supply_chain
from eval.reliability.report import print_summary, write_reports

CASES = [
    "hostile_articles",
    "hostile_questions",
    "bad_input",
    "load",
    "ingest_kills",
    "app_and_ingest",
    "supply_chain",
]
CASE_TITLES = {
    "hostile_articles": "1. Hostile articles (indirect prompt injection)",
    "hostile_questions": "2. Hostile questions",
    "bad_input": "3. Bad input",
    "load": "4. Load",
    "ingest_kills": "5. Faults during ingest (SIGKILL)",
    "app_and_ingest": "6. App and ingest at once",
    "supply_chain": "7. Supply chain",
}


def run_case(name: str, fn: Callable[[], dict]) -> dict:
    log(f"== {CASE_TITLES[name]}")
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # one broken case must not hide the others' figures
        import traceback

        result = {"figures": [figure("error", "the case could not run", f"{type(exc).__name__}: {exc}", "", False)],
                  "traceback": traceback.format_exc()}  # fmt: skip
    result["case"] = name
    result["title"] = CASE_TITLES[name]
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["ok"] = all(f["ok"] is not False for f in result["figures"])
    log(f"   {name}: {'ok' if result['ok'] else 'FAILED'} in {result['seconds']:.0f} s")
    return result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.reliability", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="output folder (reliability.md, reliability.json)")
    p.add_argument("--full", action="store_true", help="full counts and the real model for every case")
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of: {', '.join(CASES)}")
    p.add_argument("--seed", type=int, default=7, help="seed of the kill delays and the BBC subset")
    p.add_argument("--work-dir", type=Path, help="scratch folder (default: a temporary folder, removed after)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for key, value in CLEAN_ENV.items():
        os.environ.setdefault(key, value)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}", file=sys.stderr)
        return 2
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="newsrag-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": "full" if args.full else "reduced",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "out": str(args.out),
        "seed": args.seed,
    }
    results: list[dict] = []
    real: RealService | None = None

    def service() -> RealService:
        nonlocal real
        if real is None:
            real = RealService(work)
        return real

    try:
        for name in cases:
            if name == "hostile_articles":
                results.append(run_case(name, lambda: case_hostile_articles(service().service)))
            elif name == "hostile_questions":
                results.append(run_case(name, lambda: case_hostile_questions(service().service)))
            elif name == "bad_input":
                embedding = "all-MiniLM-L6-v2" if args.full else "hashing"
                results.append(run_case(name, lambda e=embedding: case_bad_input(service(), work, e)))
            elif name == "load":
                results.append(run_case(name, lambda: case_load(work, args.full)))
            elif name == "ingest_kills":
                results.append(run_case(name, lambda: case_ingest_kills(work, args.full, args.seed)))
            elif name == "app_and_ingest":
                results.append(run_case(name, lambda: case_app_and_ingest(work, args.full)))
            elif name == "supply_chain":
                results.append(run_case(name, lambda: case_supply_chain(work)))
            write_reports(args.out, results, meta)  # after every case: a long run leaves partial results
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    write_reports(args.out, results, meta)
    print_summary(results)
    print(f"\nwrote {args.out / 'reliability.md'} and {args.out / 'reliability.json'}")
    return 0 if all(r["ok"] for r in results) else 1
