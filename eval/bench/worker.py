"""Answer worker of ``eval.bench`` for when there is no server to start.

``python -m eval.bench.worker`` builds the answer service from the environment's settings
(``NEWSRAG_*``), loads the embedding model and the LLM, prints ``{"event": "ready"}``, then
answers one JSON question per stdin line with one JSON line per answer until stdin closes.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    from app.config import Settings
    from app.errors import NewsragError
    from app.wiring import build_answer_service

    service = build_answer_service(Settings())
    embedder = service.retriever.embedder
    if hasattr(embedder, "load"):
        embedder.load()
    if hasattr(service.llm, "load"):
        service.llm.load()
    print(json.dumps({"event": "ready"}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        question = json.loads(line)["question"]
        try:
            answer = service.ask(question).as_dict()
            event = {
                "event": "answer",
                "timings": answer["timings"],
                "abstained": answer["abstained"],
                "answer": answer["answer"][:300],
            }
        except NewsragError as exc:
            event = {"event": "answer", "timings": {}, "error": str(exc)}
        print(json.dumps(event), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
