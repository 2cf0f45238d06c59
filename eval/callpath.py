"""``python -m eval.callpath``: follow one question through the answer service, call by call,
and count where it goes: the files of app/ it enters, the stages the facade calls in order,
how often it goes back into a module it had left, and how often it climbs to a higher layer.

    python -m eval.callpath                      # this checkout
    python -m eval.callpath --repo ../other-tree  # another checkout of newsrag, same questions

The question is asked with the fake model and the hashing embedder over the seed corpus, once
to warm the caches and then, traced, a second question (so what is measured is the path, not
first-use loading). Counted on the ``sys.setprofile`` call events of functions whose file is
under app/, each with the module it was called from: a *re-entry* is an entry into a module
that had been left for another (consecutive calls within one module are one entry); a *climb*
is a call from a module into a module of a higher layer (layers: text < domain < corpus <
index, llm < testing, verify, answer < claims < services < wiring < adapters), which a lower
layer can only make through an object or callback handed down to it; the *stages* are the
modules the facade calls directly, in the order of their first call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

# the layer of each package, old layout (app.verify) and new (app.answer, app.claims) alike
RANKS = {
    "app.errors": 0,
    "app.config": 1,
    "app.plugins": 1,
    "app.text": 2,
    "app.domain": 3,
    "app.corpus": 4,
    "app.index": 5,
    "app.llm": 5,
    "app.testing": 6,
    "app.verify": 6,
    "app.answer": 6,
    "app.claims": 7,
    "app.services": 8,
    "app.wiring": 9,
    "app.adapters": 10,
}
WARM_UP = "How many containers were sold at the auction?"
QUESTION = "Where are the talks set to continue?"


def rank(module: str) -> int:
    best = max((p for p in RANKS if module == p or module.startswith(p + ".")), key=len, default="app")
    return RANKS.get(best, 0)


def trace(repo: Path, corpus: Path, question: str) -> list[tuple[str, str, str]]:
    """(caller's module, module, function) of every call into app/ while the question is
    answered, in order (the caller's module is "" when it is not under app/)."""
    sys.path.insert(0, str(repo))
    from app.config import Settings
    from app.services.ingest import ingest
    from app.wiring import build_answer_service

    root = Path(tempfile.mkdtemp(prefix="callpath-"))
    settings = Settings(
        corpus_dir=corpus,
        index_dir=root / "index",
        embedding_model="hashing",
        llm_backend="fake",
        answer_model=Path("none"),
        chroma_host=None,
    )
    ingest(settings, corpus, progress=False)
    service = build_answer_service(settings)
    service.ask(WARM_UP)
    app_dir = str(repo / "app") + os.sep
    calls: list[tuple[str, str, str]] = []

    def module_of(code) -> str:
        if not code.co_filename.startswith(app_dir):
            return ""
        rel = Path(code.co_filename).relative_to(repo).with_suffix("")
        return ".".join(rel.parts).removesuffix(".__init__")

    def profile(frame, event, _arg):
        if event == "call" and (module := module_of(frame.f_code)):
            caller = frame.f_back
            while caller is not None and not module_of(caller.f_code):
                caller = caller.f_back  # through library frames (a generator, a lambda of langchain)
            calls.append((module_of(caller.f_code) if caller else "", module, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        service.ask(question)
    finally:
        sys.setprofile(None)
    return calls


def summarise(calls: list[tuple[str, str, str]]) -> dict:
    modules = [m for _, m, _ in calls]
    collapsed = [m for i, m in enumerate(modules) if i == 0 or modules[i - 1] != m]
    seen: set[str] = set()
    reentries: dict[str, int] = {}
    for m in collapsed:
        if m in seen:
            reentries[m] = reentries.get(m, 0) + 1
        seen.add(m)
    climbs = [(caller, m) for caller, m, _ in calls if caller and rank(m) > rank(caller)]
    facade = next((m for m in collapsed if m.endswith(("answer.service", "services.answer"))), collapsed[0])
    stages: list[str] = []
    for caller, m, _ in calls:
        if caller == facade and m != facade and m not in stages:
            stages.append(m)
    return {
        "files": len(set(modules)),
        "calls": len(calls),
        "module_entries": len(collapsed),
        "reentries": sum(reentries.values()),
        "climbs": len(climbs),
        "climbs_by_pair": sorted({f"{a} -> {b}": climbs.count((a, b)) for a, b in climbs}.items()),
        "most_reentered": sorted(reentries.items(), key=lambda kv: -kv[1])[:8],
        "facade": facade,
        "stages_in_call_order": stages,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.callpath", description=__doc__.split("\n\n")[0])
    here = Path(__file__).resolve().parent.parent
    parser.add_argument("--repo", type=Path, default=here, help="the newsrag checkout to follow (default: this one)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: the checkout's corpus/)")
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    calls = trace(repo, (args.corpus or repo / "corpus").resolve(), args.question)
    print(json.dumps({"repo": str(repo), "question": args.question, **summarise(calls)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
