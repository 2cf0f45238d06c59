"""Case 5: ``python -m app ingest`` killed with SIGKILL at seeded random moments while it
indexes the BBC benchmark, rerun each time; then the index is audited against the ids a
clean ingest yields (computed without embedding) and queried."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from eval.common import BBC, REPO, child_env, run_app
from eval.reliability.base import figure, log
from eval.reliability.fixtures import bbc_subset
from eval.reliability.judges import expected_index, gold_retrieval, index_audit
from eval.reliability.probe import audit_in_child

# Counts: (reduced, as in CI) and --full.
KILLS = (3, 20)
BBC_SUBSET_FILES = 150  # reduced run: this many BBC files copied to tmp (the gold articles among them)
# uniform range of the delay before each SIGKILL; the reduced run's upper end sits under the
# ~16 s a rerun needs for the ~100 articles left after two kills (start-up ~8 s), so every
# kill lands inside an ingest
KILL_DELAY_S = ((6.0, 14.0), (4.0, 32.0))


def case_ingest_kills(work: Path, full: bool, seed: int = 7, kills: int | None = None) -> dict:
    from app.config import Settings

    kills = kills if kills is not None else KILLS[full]
    if not BBC.is_dir():
        return {"figures": [figure("skipped", "BBC benchmark", f"{BBC} not found", "", None)], "skipped": True}
    corpus = BBC if full else bbc_subset(work / "bbc-subset", BBC_SUBSET_FILES, seed)
    index = work / "kill-index"
    shutil.rmtree(index, ignore_errors=True)
    settings = Settings(corpus_dir=corpus, index_dir=index, chroma_host=None, embedding_model="all-MiniLM-L6-v2")
    t = time.perf_counter()
    expected = expected_index(corpus, settings)
    expected_path = work / "kill-expected.json"
    expected_path.write_text(json.dumps(expected))
    log(f"kills: clean ingest would hold {expected['chunk_count']} chunks of {len(expected['docs'])} articles "
        f"(computed in {time.perf_counter() - t:.1f} s, no embedding); {kills} kills")  # fmt: skip
    env = child_env(embedding_model="all-MiniLM-L6-v2")
    args = ["ingest", "--corpus", str(corpus), "--index-dir", str(index), "-q", "--json"]
    rng = random.Random(seed)
    lo, hi = KILL_DELAY_S[full]
    runs: list[dict] = []
    started = time.perf_counter()
    for i in range(kills):
        runs.append(_killed_run(i, kills, rng.uniform(lo, hi), args, env, index))
    t = time.perf_counter()
    final = run_app(args, env, 3600)
    final_s = time.perf_counter() - t
    report = json.loads(final.stdout) if final.returncode == 0 else {}
    again = run_app(args, env, 1800)
    total_s = time.perf_counter() - started
    log(f"kills: final run exit {final.returncode} in {final_s:.0f} s; rerun exit {again.returncode}")
    audit = index_audit(index, expected_path, vectors=True)
    gold = gold_retrieval(index, set(expected["docs"]))
    figures = _figures(full, kills, expected, runs, final, again, audit, gold, total_s, final_s)
    consistent = (
        audit["duplicate_ids"] == 0
        and audit["duplicate_spans"] == 0
        and audit["incomplete_records"] == 0
        and audit["orphan_chunks"] == 0
        and audit["record_id_mismatch"] == 0
    )
    return {
        "figures": figures,
        "runs": runs,
        "final_report": {k: report.get(k) for k in ("chunks_added", "chunks_skipped", "chunks_removed",
                                                    "chunks_total", "docs_added", "seconds")},
        "final_stderr": final.stderr[-1000:],
        "audit": audit,
        "gold": gold,
        "consistent": consistent,
    }  # fmt: skip


def _killed_run(i: int, kills: int, delay: float, args: list[str], env: dict[str, str], index: Path) -> dict:
    """Run ``i`` of ``kills``: ``python -m app ARGS``, SIGKILLed after ``delay`` seconds unless it
    finished, and the index it leaves audited (in a fresh interpreter)."""
    proc = subprocess.Popen([sys.executable, "-m", "app", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        proc.wait(delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        killed = True
    _out, err = proc.communicate(timeout=60)
    run = {"run": i + 1, "delay_s": round(delay, 1), "killed": killed, "exit": proc.returncode}
    if not killed:  # it finished before its kill: it must have succeeded
        run["ok"] = proc.returncode == 0
        run["stderr"] = err[-500:]
    else:
        run["ok"] = True
    audit = audit_in_child(index, env) if index.exists() else None
    if audit:
        run.update(chunks=audit["chunk_count"], articles=audit["article_count"],
                   incomplete_records=audit["incomplete_records"], orphan_chunks=audit["orphan_chunks"],
                   duplicate_ids=audit["duplicate_ids"])  # fmt: skip
        run["ok"] = run["ok"] and audit["incomplete_records"] == 0 and audit["duplicate_ids"] == 0
    log(f"kill {i + 1}/{kills}: after {delay:.1f} s killed={killed} exit={proc.returncode} "
        f"chunks={run.get('chunks')} articles={run.get('articles')} "
        f"orphans={run.get('orphan_chunks')}")  # fmt: skip
    return run


def _figures(
    full: bool,
    kills: int,
    expected: dict,
    runs: list[dict],
    final,
    again,
    audit: dict,
    gold: dict,
    total_s: float,
    final_s: float,
) -> list[dict]:
    """The case's figures: the kills, the final run and a further rerun, the audit, the gold questions."""
    again_report = json.loads(again.stdout) if again.returncode == 0 else {}
    killed_runs = [r for r in runs if r["killed"]]
    mid = [r for r in killed_runs if 0 < (r.get("articles") or 0) < len(expected["docs"])]
    reruns_ok = all(r["ok"] for r in runs) and final.returncode == 0 and again.returncode == 0
    converged = (
        audit["chunk_count"] == expected["chunk_count"]
        and audit["missing_chunks"] == 0
        and audit["unexpected_chunks"] == 0
        and audit["stale_records"] == 0
        and not audit["missing_articles"]
    )
    gold_ok = gold["questions"] > 0 and gold["evidence_hits"] >= 0.8 * gold["questions"]
    no_op = bool(again_report) and again_report.get("chunks_added") == 0 and again_report.get("chunks_removed") == 0
    return [
        figure("corpus", "corpus", f"{'BBC' if full else f'BBC subset of {BBC_SUBSET_FILES} files'}: "
               f"{len(expected['docs'])} articles", "", None),
        figure("kills", "SIGKILLs (landed mid-ingest: some articles indexed, not all)",
               f"{len(killed_runs)} ({len(mid)})", f"{kills}", len(killed_runs) == kills),
        figure("reruns", "reruns that completed (or were killed by us) without an error",
               f"{sum(r['ok'] for r in runs) + (final.returncode == 0)}/{len(runs) + 1}", "all", reruns_ok),
        figure("chunks", "final chunk count / clean ingest's (computed)",
               f"{audit['chunk_count']} / {expected['chunk_count']}", "equal", converged),
        figure("duplicates", "duplicate chunk ids / duplicate chunk spans", f"{audit['duplicate_ids']} / "
               f"{audit['duplicate_spans']}", "0 / 0", audit["duplicate_ids"] == 0 and audit["duplicate_spans"] == 0),
        figure("records", "article records with missing chunks / chunks with no complete record",
               f"{audit['incomplete_records']} / {audit['orphan_chunks']}", "0 / 0",
               audit["incomplete_records"] == 0 and audit["orphan_chunks"] == 0),
        figure("vectors", "chunks missing from the vector (HNSW) index", audit.get("missing_from_vector_index"), "0",
               audit.get("missing_from_vector_index") == 0),
        figure("at_kill", "article records with missing chunks at any kill point",
               sum(r.get("incomplete_records") or 0 for r in runs), "0",
               all((r.get("incomplete_records") or 0) == 0 for r in runs)),
        figure("gold", "BBC gold questions with their evidence in the top 5 (hybrid)",
               f"{gold['evidence_hits']}/{gold['questions']} (article: {gold['doc_hits']})", ">= 80 %", gold_ok),
        figure("noop", "a further rerun is a no-op (0 chunks added/removed)", no_op, "True", no_op),
        figure("time", "wall time: kills + final run (s)", f"{total_s:.0f} (final run {final_s:.0f})", "report", None),
    ]  # fmt: skip
