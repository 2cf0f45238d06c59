"""Case 3: bad questions through the JSON API and the Gradio chat, bad corpus files
through ``python -m app ingest``: clear messages, no crash, nothing indexed lost."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

from eval.common import SEED_CORPUS, child_env, run_app
from eval.reliability.base import figure
from eval.reliability.fixtures import BAD_QUESTIONS, BAD_UI_QUESTIONS, write_bad_files
from eval.reliability.judges import is_clear_error
from eval.reliability.probe import snapshot_in_child


def bad_questions_api(url: str) -> list[dict]:
    import httpx

    rows = []
    with httpx.Client(base_url=url, timeout=300) as http:
        for name, body, expect in BAD_QUESTIONS:
            for path in ("/api/ask", "/api/ask/stream"):
                started = time.perf_counter()
                try:
                    if isinstance(body, bytes):
                        r = http.post(path, content=body, headers={"content-type": "application/json"})
                    else:
                        r = http.post(path, json=body)
                    status, text = r.status_code, r.text
                except httpx.HTTPError as exc:
                    status, text = 0, repr(exc)
                seconds = time.perf_counter() - started
                row = {"channel": f"API {path}", "case": name, "status": status, "seconds": round(seconds, 2)}
                parsed: Any = None
                if path == "/api/ask/stream" and status == 200:
                    events = [json.loads(line) for line in text.splitlines() if line.strip()]
                    final = next((e for e in events if e.get("event") == "final"), None)
                    err = next((e for e in events if e.get("event") == "error"), None)
                    parsed = final["answer"] if final else err
                else:
                    with contextlib.suppress(ValueError):
                        parsed = json.loads(text)
                if expect == "4xx":
                    ok = is_clear_error(status, parsed)
                    row["message"] = parsed.get("message") if isinstance(parsed, dict) else text[:200]
                else:
                    ok = (
                        status == 200
                        and isinstance(parsed, dict)
                        and bool(parsed.get("answer"))
                        and (parsed.get("abstained") or bool(parsed.get("citations")))
                    )
                    row["message"] = parsed.get("answer") if isinstance(parsed, dict) else text[:200]
                    row["abstained"] = parsed.get("abstained") if isinstance(parsed, dict) else None
                row["ok"] = bool(ok) and "Traceback" not in text
                rows.append(row)
        health = http.get("/api/health").status_code
    rows.append({"channel": "API", "case": "server still healthy afterwards", "status": health, "ok": health == 200})
    return rows


def bad_questions_ui(url: str) -> list[dict]:
    from gradio_client import Client

    rows = []
    user = Client(url + "/", verbose=False, analytics_enabled=False, download_files=False)
    for name, question, expect in BAD_UI_QUESTIONS:
        date_from = "last Tuesday" if "date" in name else ""
        started = time.perf_counter()
        try:
            chat, _sources, _box = user.predict(question, [], date_from, "", api_name="/chat")
            reply = chat[-1]["content"][0]["text"] if chat and chat[-1]["role"] == "assistant" else ""
            ok = bool(re.search(expect, reply)) and "Traceback" not in reply
            message = re.sub(r"<[^>]+>", "", reply)[:300]
        except Exception as exc:
            ok, message = False, f"{type(exc).__name__}: {exc}"
        rows.append(
            {
                "channel": "UI /chat",
                "case": name,
                "ok": ok,
                "message": message,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    return rows


def bad_corpus(work: Path, embedding_model: str) -> tuple[list[dict], dict]:
    """Index the seed corpus, then add bad files (and break a seed article) and ingest again."""
    corpus, index = work / "bad-corpus", work / "bad-index"
    for path in (corpus, index):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(SEED_CORPUS, corpus)
    env = child_env(embedding_model=embedding_model, llm_backend="fake")
    first = run_app(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json", "-q"], env, 900)
    if first.returncode != 0:
        raise RuntimeError(f"the first ingest failed: {first.stderr[-2000:]}")
    before = snapshot_in_child(index, env)
    files = write_bad_files(corpus)
    # an article already indexed whose file is now broken keeps its previous version
    broken_seed = "seed/2025-07-22-zelenskyy-offer-istanbul-talks.md"
    (corpus / broken_seed).write_bytes(b"\x00\x01\x02 overwritten by a binary blob \x00" * 50)
    files[broken_seed] = "indexed article overwritten with binary"
    started = time.perf_counter()
    second = run_app(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json", "-q"], env, 1800)
    seconds = time.perf_counter() - started
    after = snapshot_in_child(index, env)
    report = json.loads(second.stdout) if second.returncode == 0 and second.stdout.strip() else {}
    failures = {f["source"].split(":")[0]: f["reason"] for f in report.get("failures", [])}
    for f in report.get("failures", []):  # a JSONL line failure names "file:line"
        failures.setdefault(f["source"], f["reason"])
    warnings = report.get("warnings", [])
    rows = []
    for rel, what in files.items():
        reason = failures.get(rel)
        warning = next((w for w in warnings if w.startswith(rel + ":")), None)
        doc_id = rel.rsplit(".", 1)[0]
        indexed = doc_id in after["articles"] or any(d.startswith(doc_id + "/") for d in after["articles"])
        if reason:
            message, ok = f"FAILED {rel}: {reason}", True
        elif warning:
            message, ok = f"warning {warning}", True
        elif indexed:
            message, ok = "indexed (no message)", what in ("300 KB without a sentence break",)
        else:
            message, ok = "neither indexed nor reported", False
        rows.append({"channel": "ingest", "case": what, "file": rel, "message": message, "ok": ok})
    kept = {d: v for d, v in before["articles"].items()}
    lost = [d for d, v in kept.items() if after["articles"].get(d) != v]
    chunks_changed = [d for d in kept if before["chunks"].get(d) != after["chunks"].get(d)]
    consistency = {
        "ingest_exit_code": second.returncode,
        "traceback": "Traceback" in second.stderr,
        "stderr_tail": second.stderr[-600:],
        "seconds": round(seconds, 1),
        "articles_before": sorted(kept),
        "lost_or_changed_articles": lost,
        "articles_with_changed_chunks": chunks_changed,
        "chunks_before": before["chunk_count"],
        "chunks_after_of_previous_articles": sum(len(after["chunks"].get(d, [])) for d in kept),
        "report_failures": report.get("failures", []),
        "report_warnings": warnings,
    }
    rows.append(
        {
            "channel": "ingest",
            "case": "the ingest itself: exit 0, no traceback",
            "file": "",
            "message": f"exit {second.returncode}" + (", traceback" if consistency["traceback"] else ""),
            "ok": second.returncode == 0 and not consistency["traceback"],
        }
    )
    return rows, consistency


def case_bad_input(service, work: Path, embedding_model: str = "hashing") -> dict:
    from app.adapters.server import ServerThread, create_app

    rows: list[dict] = []
    with ServerThread(create_app(service.services)) as url:
        rows += bad_questions_api(url)
        rows += bad_questions_ui(url)
    corpus_rows, consistency = bad_corpus(work, embedding_model)
    rows += corpus_rows
    q_rows = [r for r in rows if r["channel"] != "ingest"]
    c_rows = [r for r in rows if r["channel"] == "ingest"]
    lost = consistency["lost_or_changed_articles"] + consistency["articles_with_changed_chunks"]
    nothing_lost = not lost and consistency["chunks_after_of_previous_articles"] == consistency["chunks_before"]
    figures = [
        figure("questions_clear", "bad questions (API + UI) answered with a clear message",
               f"{sum(r['ok'] for r in q_rows)}/{len(q_rows)}", "all", all(r["ok"] for r in q_rows)),
        figure("files_clear", "bad corpus files named with a reason (or a warning)",
               f"{sum(r['ok'] for r in c_rows)}/{len(c_rows)}", "all", all(r["ok"] for r in c_rows)),
        figure("nothing_lost", "previously indexed articles and chunks unchanged",
               f"{len(consistency['articles_before'])} articles, {consistency['chunks_before']} chunks; "
               f"{len(set(lost))} changed", "0 changed", nothing_lost),
        figure("crashes", "crashes (5xx, traceback, dead server, non-zero ingest exit)",
               sum(1 for r in rows if not r["ok"] and (r.get("status", 200) >= 500 or r.get("status") == 0)),
               "0", None),
    ]  # fmt: skip
    crashes = figures[-1]
    crashes["value"] += int(consistency["ingest_exit_code"] != 0 or consistency["traceback"])
    crashes["ok"] = crashes["value"] == 0
    return {"figures": figures, "rows": rows, "ingest": consistency}
