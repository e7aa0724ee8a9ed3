"""`hotline models …` (the catalogue and installed models), `hotline speech …` (operator tools)
and `hotline stream` (the Media Streams websocket process)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hotline.cli.common import load_settings


@click.group()
def models() -> None:
    """Speech models: the catalogue, what is installed, which one each language uses."""


@models.command("list")
def models_list() -> None:
    """Catalogue and installed models; per flow language, the model in use or why none."""
    from hotline.flows import load_checked_flows
    from hotline.speech import models as m

    settings = load_settings()
    installed = {model.name: model for model in m.installed(settings)}
    click.echo(f"models folder: {m.models_dir(settings)}")
    click.echo("catalogue:")
    for entry in m.catalogue().values():
        mark = "installed" if entry.name in installed else ""
        size = f"{entry.size / 1e6:.0f} MB" if entry.size else "?"
        click.echo(f"  {entry.name:<32} {entry.language:<6} {size:>8}  {mark}")
    others = [model for name, model in installed.items() if name not in m.catalogue()]
    if others:
        click.echo("also installed:")
        for model in others:
            click.echo(f"  {model.name:<32} {model.language:<6} {model.path}")
    languages = sorted(
        {lang for flow in load_checked_flows(settings).values() for lang in flow.languages}
    )
    click.echo("in use:")
    for language, state in m.status(settings, languages).items():
        click.echo(f"  {language:<6} {state}")


@models.command("install")
@click.argument("ref")
@click.option("--name", help="Folder name for the model (default: from the archive).")
@click.option("--language", help="Language tag, e.g. zh-CN (default: catalogue or name).")
@click.option("--sha256", help="Expected sha256 of the archive (refused on mismatch).")
def models_install(ref: str, name: str | None, language: str | None, sha256: str | None) -> None:
    """Install REF: a catalogue name, a URL (zip/tar.gz) or a local folder or archive."""
    from hotline.speech import models as m

    settings = load_settings()
    with click.progressbar(length=1, label="downloading", show_pos=True) as bar:
        state = {"done": 0}

        def progress(done: int, total: int | None) -> None:
            if total and bar.length != total:
                bar.length = total
            bar.update(done - state["done"])
            state["done"] = done

        try:
            model, digest = m.install(
                settings, ref, name=name, language=language, sha256=sha256, progress=progress
            )
        except m.ModelError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"installed {model.name} ({model.language}) at {model.path}")
    if digest and not sha256:
        click.echo(
            f"sha256 of the archive: {digest} (no published hash to compare; kept in the manifest)"
        )


@models.command("verify")
@click.argument("names", nargs=-1)
def models_verify(names: tuple[str, ...]) -> None:
    """Check models' files against their manifest (or pip's RECORD); exit 1 on problems."""
    from hotline.speech import models as m

    settings = load_settings()
    chosen = [model for model in m.installed(settings) if not names or model.name in names]
    if not chosen:
        raise click.ClickException("no installed model to verify (hotline models install NAME)")
    bad = 0
    for model in chosen:
        problems = m.verify(model)
        click.echo(f"{'ok  ' if not problems else 'BAD '} {model.name} ({model.path})")
        for problem in problems:
            click.echo(f"     {problem}")
        bad += bool(problems)
    if bad:
        raise click.exceptions.Exit(1)


@models.command("default")
@click.argument("name")
def models_default(name: str) -> None:
    """Use NAME for its language from now on."""
    from hotline.speech import models as m

    try:
        model = m.set_default(load_settings(), name)
    except m.ModelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{model.language} now uses {model.name}")


@click.group()
def speech() -> None:
    """Speech tools for operators."""


@speech.command("transcribe")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--phrases", help='Grammar mode: the answer is one of "a|b|c".')
@click.option("--telephone", is_flag=True, help="Pass the audio through an 8 kHz µ-law line first.")
@click.option("--language", help="Model language (default: the only model loaded).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
def speech_transcribe(
    files: tuple[Path, ...],
    phrases: str | None,
    telephone: bool,
    language: str | None,
    as_json: bool,
) -> None:
    """Recognise WAV FILES with the configured model: text, word confidences, real-time factor."""
    from hotline.speech.audio import AudioError, decimate_to_8k, read_wav, telephone_channel
    from hotline.speech.grammar import build_grammar, decide
    from hotline.speech.recognizer import load_models, recognise

    settings = load_settings()
    speech_models = load_models(settings)
    model = (
        speech_models.get(language) if language else next(iter(speech_models.loaded.values()), None)
    )
    if model is None:
        reasons = "; ".join(f"{k}: {v}" for k, v in speech_models.missing.items())
        raise click.ClickException(
            f"no speech model for {language or 'any language'} "
            f"({reasons or 'none installed'}); see hotline models list"
        )
    grammar = None
    if phrases:
        options = [p.strip() for p in phrases.split("|") if p.strip()]
        grammar = build_grammar({p: p for p in options}, model.vocabulary)
        if grammar.dropped:
            click.echo(
                f"not in the model's vocabulary (left out): {', '.join(grammar.dropped)}", err=True
            )
        if grammar.empty:
            raise click.ClickException("none of the phrases can be said with this model's words")
    failed = 0
    for path in files:
        try:
            audio = read_wav(path)
            pcm, rate = audio.pcm, audio.rate
            if telephone:
                pcm, rate = telephone_channel(decimate_to_8k(pcm, rate)), 8000
        except AudioError as exc:
            click.echo(f"{path}: {exc}", err=True)
            failed += 1
            continue
        result = recognise(model, pcm, rate, grammar, seed=settings.speech_seed)
        decision = decide(grammar, result.text, result.words) if grammar is not None else None
        record = {
            "file": str(path),
            "model": model.name,
            "rate": rate,
            "text": result.text,
            "words": [
                {"word": w.get("word"), "conf": round(float(w.get("conf", 0)), 3)}
                for w in result.words
            ],
            "audio_s": round(result.audio_s, 2),
            "rtf": round(result.rtf, 3),
        }
        if grammar is not None:
            record["phrase"] = decision.key if decision else None
            record["confidence"] = round(decision.confidence, 3) if decision else 0.0
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        click.echo(f"{path}: {result.text or '(nothing recognised)'}")
        if grammar is not None:
            click.echo(f"  phrase: {record['phrase'] or '-'} (confidence {record['confidence']})")
        words = " ".join(f"{w.get('word')}({float(w.get('conf', 0)):.3f})" for w in result.words)
        click.echo(f"  words: {words or '-'}")
        click.echo(
            f"  {result.audio_s:.2f} s of audio at {rate} Hz, real-time factor {result.rtf:.3f}"
        )
    if failed:
        sys.exit(1)


@speech.command("purge")
def speech_purge() -> None:
    """Apply the retention periods now (the sweep does it on its own): audio older than
    HOTLINE_RECORDING_RETENTION_DAYS, transcripts older than HOTLINE_TRANSCRIPT_RETENTION_DAYS."""
    from hotline.db import Database
    from hotline.retention import purge_expired

    settings = load_settings()
    database = Database(settings)
    try:
        total = [0, 0]
        while True:  # in batches, until nothing is left
            with database.session() as session:
                done = purge_expired(settings, session)
                session.commit()
            total = [total[0] + done.recordings, total[1] + done.transcripts]
            if not (done.recordings or done.transcripts):
                break
    finally:
        database.dispose()
    click.echo(
        f"{total[0]} recording(s) older than {settings.recording_retention_days} days and "
        f"{total[1]} transcript(s) older than {settings.transcript_retention_days} days purged"
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, envvar="HOTLINE_STREAM_PORT", default=5001, show_default=True)
def stream(host: str, port: int) -> None:
    """Serve the Media Streams websocket (/voice/stream) with the speech models loaded."""
    import logging

    from hotline.speech.stream import serve

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(settings, host=host, port=port)
