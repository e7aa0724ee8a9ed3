"""`hotline run`: migrate, load demo data and supervise the Procfile's processes on one machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from hotline.cli.common import load_settings

# What the Procfile says, for an installed package run outside the source tree.
DEFAULT_PROCESSES = {
    "web": "gunicorn -c python:hotline.gunicorn_conf 'hotline:create_app()'",
    "worker": "hotline worker default",
    "clock": "hotline clock",
    "speech": "hotline worker speech --no-scheduler",
    "stream": "hotline stream",
}


def read_procfile(path: Path) -> dict[str, str]:
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.strip().startswith("#"):
            processes[name.strip()] = command.strip()
    return processes


@click.command()
@click.option(
    "--procfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default="Procfile",
    show_default=True,
    help="Processes to start (built-in list when the file is absent).",
)
@click.option("--port", type=int, envvar="PORT", default=5000, show_default=True)
@click.option("--no-demo", is_flag=True, help="Do not load the demo data.")
def run(procfile: Path, port: int, no_demo: bool) -> None:
    """Start everything on this machine: migrations, demo data, web, workers."""
    from honcho.manager import Manager
    from honcho.printer import Printer

    from hotline.db import Database
    from hotline.demo import load_demo_data
    from hotline.migrate import upgrade
    from hotline.redis_store import ensure_embedded_redis, stop_embedded_redis

    settings = load_settings()
    if settings.embedded_redis:
        click.echo(f"redis: embedded server on {ensure_embedded_redis(settings.instance_path)}")
    upgrade(settings)
    click.echo("database: migrated")
    if not no_demo:
        database = Database(settings)
        with database.session() as session:
            load_demo_data(session, pepper=settings.secret_key)
            session.commit()
        database.dispose()
        click.echo("demo data: loaded")

    processes = read_procfile(procfile) if procfile.exists() else dict(DEFAULT_PROCESSES)
    processes.pop("release", None)  # already done above
    env = dict(os.environ, PORT=str(port), HOTLINE_INSTANCE_PATH=str(settings.instance_path))
    # The Procfile names `gunicorn` and `hotline`: find them in this interpreter's venv even
    # when the venv is not activated (make run calls .venv/bin/hotline directly).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # The media-stream websocket listens beside the web port; without a public URL the TwiML
    # names it on loopback (the simulator's calls), behind a proxy it is derived from that URL.
    stream_port = env.setdefault("HOTLINE_STREAM_PORT", str(port + 1))
    if not settings.public_base_url and not settings.speech_stream_url:
        env["HOTLINE_SPEECH_STREAM_URL"] = f"ws://127.0.0.1:{stream_port}/voice/stream"
    base = settings.public_base_url or f"http://127.0.0.1:{port}"
    # Calls the workers place (agents, callbacks, surveys) need a webhook base to give Twilio.
    env.setdefault("HOTLINE_OUTBOUND_BASE_URL", settings.outbound_base_url or base)
    click.echo(
        f"\nhotline is starting on {base}\n"
        f"  health:          {base}/healthz\n"
        f"  simulated call:  .venv/bin/hotline sim call --url http://127.0.0.1:{port} "
        f"--from +8613800138000 --digits 1,1,1,123456#,2\n"
        f"                   (the demo caller: confirms his case, keys its password, hears it)\n"
        f"  spoken call:     .venv/bin/hotline sim call --url http://127.0.0.1:{port} "
        f"--say hello.wav  (needs a speech model: hotline models list)\n"
        f"  stop:            Ctrl-C\n"
    )
    manager = Manager(Printer(sys.stdout))
    for name, command in processes.items():
        manager.add_process(name, command, env=env)
    try:
        manager.loop()
    finally:
        if settings.embedded_redis:
            stop_embedded_redis(settings.instance_path)
    sys.exit(manager.returncode)
