"""Case 7: a tampered cached model file is refused before load; pip-audit on the pinned
requirements, reported as "not audited" when no advisory service answers."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from eval.common import REPO, child_env, run_app
from eval.reliability.base import figure

REQUIREMENTS = REPO / "requirements.txt"
KEY_PACKAGES = ["gradio", "chromadb", "llama-cpp-python", "langchain"]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tampered_model_checks(work: Path) -> list[dict]:
    """A cached model file whose bytes differ from the pinned sha256 is refused before load:
    through ensure_model, through the chat-model factory, and through the CLI."""
    from app.config import Settings
    from app.errors import ModelError
    from app.llm import models
    from app.llm.backends import make_chat_model

    rows = []
    cache = work / "model-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    payload = b"GGUF" + bytes(range(256)) * 64
    spec = models.ModelSpec("reliability-tiny", "test model", (), hashlib.sha256(payload).hexdigest(), len(payload))
    path = cache / spec.filename
    models.MODELS[spec.name] = spec
    try:
        path.write_bytes(payload)
        ok_path = models.ensure_model(spec.name, cache)
        rows.append({"case": "genuine file (pinned sha256) is accepted", "ok": ok_path == path, "message": "loaded"})
        settings = Settings(llm_backend="llamacpp", llm_model=spec.name, model_cache_dir=cache, chroma_host=None)
        for what, data in (
            ("one byte flipped, same size", payload[:100] + bytes([payload[100] ^ 1]) + payload[101:]),
            ("bytes appended", payload + b"\x00evil"),
            ("truncated", payload[:-10]),
        ):
            path.write_bytes(data)
            for via, call in (
                ("ensure_model", lambda: models.ensure_model(spec.name, cache)),
                ("make_chat_model", lambda: make_chat_model(settings)),
            ):
                try:
                    call()
                    rows.append({"case": f"{what} ({via})", "ok": False, "message": "ACCEPTED"})
                except ModelError as exc:
                    refused = "refusing to load" in str(exc) or "corrupt or truncated" in str(exc)
                    rows.append({"case": f"{what} ({via})", "ok": refused, "message": str(exc)[:160]})
    finally:
        models.MODELS.pop(spec.name, None)
    # The real model's name, a same-size file of other bytes (sparse: no disk used), the CLI.
    real = models.MODELS[Settings(chroma_host=None).llm_model]
    cli_cache = work / "model-cache-cli"
    shutil.rmtree(cli_cache, ignore_errors=True)
    cli_cache.mkdir()
    with open(cli_cache / real.filename, "wb") as fh:
        fh.truncate(real.size)
    result = run_app(["model", "fetch"], child_env(model_cache_dir=str(cli_cache)), 600)
    rows.append(
        {
            "case": f"same-size tampered {real.name} (python -m app model fetch)",
            "ok": result.returncode != 0 and "refusing to load" in result.stderr and "Traceback" not in result.stderr,
            "message": f"exit {result.returncode}: {result.stderr.strip()[:160]}",
        }
    )
    shutil.rmtree(cli_cache, ignore_errors=True)
    return rows


def pip_audit(requirements: Path = REQUIREMENTS, timeout: float = 600) -> dict:
    """pip-audit on the pinned requirements; per package: audited (with its advisories) or not."""
    exe = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or shutil.which("pip-audit")
    if exe is None:
        return {"available": False, "reason": "pip-audit is not installed", "packages": {}}
    cmd = [exe, "-r", str(requirements), "--no-deps", "--disable-pip", "-f", "json", "--progress-spinner", "off"]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"available": True, "reason": f"pip-audit did not finish in {timeout:.0f} s", "packages": {}}
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return {"available": True, "reason": f"pip-audit failed: {result.stderr.strip()[-300:]}", "packages": {}}
    packages = {}
    for dep in data.get("dependencies", []):
        name = _canonical(dep["name"])
        if dep.get("skip_reason"):
            packages[name] = {"audited": False, "reason": dep["skip_reason"]}
        else:
            packages[name] = {"audited": True, "version": dep.get("version"),
                              "vulns": [v.get("id") for v in dep.get("vulns", [])]}  # fmt: skip
    audited = [n for n, p in packages.items() if p["audited"]]
    # osv.dev, the other advisory source pip-audit knows: is it reachable from here?
    osv = subprocess.run([exe, "-r", str(requirements), "--no-deps", "--disable-pip", "-s", "osv", "-f", "json"],
                         capture_output=True, text=True, timeout=timeout)  # fmt: skip
    osv_reason = ""
    if osv.returncode != 0:
        last = (osv.stderr.strip().splitlines() or ["?"])[-1]
        osv_reason = "unreachable: " + (re.search(r"Failed to resolve[^)]*|Max retries exceeded", last) or [last])[0]
    return {
        "available": True,
        "exit_code": result.returncode,
        "printed": (result.stderr.strip().splitlines() or [""])[-1],
        "packages": packages,
        "audited": len(audited),
        "not_audited": len(packages) - len(audited),
        "service_reachable": bool(audited),
        "osv": osv_reason or "answered",
    }


def case_supply_chain(work: Path) -> dict:
    rows = tampered_model_checks(work)
    audit = pip_audit()
    key = {}
    for name in KEY_PACKAGES:
        p = audit["packages"].get(name)
        if p is None:
            key[name] = "not audited: " + audit.get("reason", "not in the report")
        elif not p["audited"]:
            key[name] = "not audited: advisory service unreachable"
        else:
            key[name] = "no known advisory" if not p["vulns"] else "ADVISORIES: " + ", ".join(p["vulns"])
    audited_any = audit.get("audited", 0) > 0
    key_audited = all(audit["packages"].get(n, {}).get("audited") for n in KEY_PACKAGES)
    key_clean = key_audited and all(not audit["packages"][n]["vulns"] for n in KEY_PACKAGES)
    total = len(audit["packages"])
    figures = [
        figure("tampered", "tampered model files refused before load", f"{sum(r['ok'] for r in rows)}/{len(rows)}",
               "all", all(r["ok"] for r in rows)),
        figure("audited", "pinned requirements audited by pip-audit",
               f"{audit.get('audited', 0)}/{total}" + ("" if audited_any else " (advisory service unreachable; "
               f"pip-audit printed {audit.get('printed', '')!r})"), "report", None),
        *[figure(f"audit_{n}", f"pip-audit: {n}", key[n], "no advisory", key_clean if key_audited else None)
          for n in KEY_PACKAGES],
    ]  # fmt: skip
    return {"figures": figures, "rows": rows, "pip_audit": {k: v for k, v in audit.items() if k != "packages"},
            "key_packages": key, "key_audited": key_audited}  # fmt: skip
