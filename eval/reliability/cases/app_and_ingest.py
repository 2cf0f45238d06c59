"""Case 6: an ingest while the app serves the same index (handed to the app, the one
writer); errors seen by users, new articles visible, index consistent."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from eval.common import SEED_CORPUS, ServedApp, child_env, percentile, run_app
from eval.reliability.base import figure, rounded
from eval.reliability.fixtures import write_md


def case_app_and_ingest(work: Path, full: bool, new_articles: int = 40) -> dict:
    """test_single_writer.py's approach: ingest while the app serves; users keep asking."""
    import httpx

    corpus, index = work / "writer-corpus", work / "writer-index"
    for path in (corpus, index):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(SEED_CORPUS, corpus)
    # one client asks the same question as fast as answers come: the answers are what is measured,
    # so neither the cache nor the per-client limit (the load case's business) stands in between
    serving = {"answer_cache_entries": "0", "answer_rate_per_minute": "0"}
    env = child_env(**serving) if full else child_env(embedding_model="hashing", llm_backend="fake", **serving)
    first = run_app(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "-q"], env, 900)
    if first.returncode != 0:
        raise RuntimeError(f"ingest failed: {first.stderr[-2000:]}")
    ports = ["Odesa", "Izmail", "Reni", "Chornomorsk", "Mykolaiv"]
    for i in range(new_articles):
        port = ports[i % len(ports)]
        write_md(corpus, f"new/{i:02}.md", f"Grain convoy {i} leaves {port}", "Port Wire", "2025-08-01",
                 f"Grain convoy number {i} left the port of {port} on Tuesday carrying {1000 + 37 * i} tonnes of "
                 f"wheat, the port authority said. It was escorted by {i % 5 + 2} tugboats. "
                 "Insurers reported no incidents on the route this week.")  # fmt: skip
    question = "Where are talks involving Ukrainian, U.S. and European officials set to continue?"
    answers: list[float] = []
    errors: list[str] = []
    stop = threading.Event()
    with ServedApp(index, env, work / "writer-serve.log") as app:

        def ask_while_ingesting() -> None:
            with httpx.Client(base_url=app.url, timeout=300) as http:
                while not stop.is_set() and len(answers) + len(errors) < 500:
                    t0 = time.monotonic()
                    try:
                        r = http.post("/api/ask", json={"question": question})
                        if r.status_code == 200 and "London" in r.json().get("answer", ""):
                            answers.append(time.monotonic() - t0)
                        else:
                            errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc))

        asker = threading.Thread(target=ask_while_ingesting)
        asker.start()
        t0 = time.monotonic()
        try:
            result = run_app(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json"], env, 1800)
        finally:
            stop.set()
            asker.join(600)
        ingest_s = time.monotonic() - t0
        report = json.loads(result.stdout) if result.returncode == 0 else {}
        listed = httpx.get(app.url + "/api/articles", timeout=60).json()
        probe = httpx.post(app.url + "/api/ask", json={"question": "How many tonnes of wheat did grain convoy "
                           "number 7 carry from the port of Reni?"}, timeout=300).json()  # fmt: skip
        again = run_app(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json"], env, 900)
        again_report = json.loads(again.stdout) if again.returncode == 0 else {}
    handed = "runs the ingest" in result.stderr
    visible = listed.get("count") == 2 + new_articles
    new_cited = any(c["doc_id"].startswith("new/") for c in probe.get("citations", []))
    consistent = again_report.get("chunks_added") == 0 and again_report.get("chunks_removed") == 0
    figures = [
        figure("model", "model", "real" if full else "fake + hashing embedder", "", None),
        figure("handed", "ingest handed to the serving app (one writer)", handed, "True", handed),
        figure("user_errors", "errors seen by users during the ingest", len(errors), "0", not errors),
        figure("answers", "answers served during the ingest", len(answers), ">= 1", bool(answers)),
        figure("visible", "articles listed after the ingest", f"{listed.get('count')} / {2 + new_articles}",
               "all", visible),
        figure("new_answerable", "a new article is cited right after", new_cited, "True", new_cited),
        figure("consistent", "re-ingest afterwards is a no-op (index consistent)", consistent, "True", consistent),
        figure("time", "ingest time (s) / answer p50 during it (s)",
               f"{ingest_s:.1f} / {rounded(percentile(answers, 50))}", "report", None),
    ]  # fmt: skip
    return {
        "figures": figures,
        "errors": errors[:20],
        "ingest_report": {k: report.get(k) for k in ("docs_added", "chunks_added", "failures")},
        "ingest_stderr": result.stderr[-600:],
    }
