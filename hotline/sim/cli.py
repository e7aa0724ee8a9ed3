"""The `sim` command group: place one simulated call, or many, against a running app."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hotline.sim.call import DEFAULT_TO, simulate_call
from hotline.sim.callbacks import STATUS_ORDERS
from hotline.sim.keys import parse_keys
from hotline.sim.load import run_load
from hotline.sim.recordings import stop_recording_server, wav_duration_s
from hotline.sim.rest import RestSim
from hotline.sim.transport import TWILIO_TIMEOUT_S

DEFAULT_FROM = "+8613800138000"


def _default_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def resolve_credentials(auth_token: str | None, account_sid: str | None) -> tuple[str, str]:
    """(account_sid, auth_token): options, then environment, then the app's local credentials."""
    auth_token = auth_token or _env("HOTLINE_TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN")
    account_sid = account_sid or _env("HOTLINE_TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID")
    if auth_token and account_sid:
        return account_sid, auth_token
    instance = Path(os.environ.get("HOTLINE_INSTANCE_PATH") or "instance")
    try:
        # Imported here: the simulator must run (with explicit credentials) without the app.
        from hotline.config import local_twilio_credentials

        local_sid, local_token = local_twilio_credentials(instance)
    except (ImportError, OSError, LookupError, ValueError) as exc:
        raise click.UsageError(
            "no Twilio credentials: pass --auth-token and --account-sid, set "
            "HOTLINE_TWILIO_AUTH_TOKEN / HOTLINE_TWILIO_ACCOUNT_SID, or start the app once so "
            f"it writes local credentials to {instance} ({exc})"
        ) from exc
    return account_sid or local_sid, auth_token or local_token


def _check_keys(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_keys(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


def _read_wav(ctx: click.Context, param: click.Parameter, value: Path | None) -> bytes | None:
    if value is None:
        return None
    audio = value.read_bytes()
    try:
        wav_duration_s(audio)
    except ValueError as exc:
        raise click.BadParameter(f"{value}: {exc}") from exc
    return audio


def _read_say(
    ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]
) -> tuple[bytes, ...]:
    from hotline.sim.media import MediaError, telephone_ulaw

    audio = []
    for path in value:
        data = path.read_bytes()
        try:
            telephone_ulaw(data)
        except MediaError as exc:
            raise click.BadParameter(f"{path}: {exc}") from exc
        audio.append(data)
    return tuple(audio)


def _default_rest_port() -> int | None:
    from urllib.parse import urlsplit

    base = _env("HOTLINE_TWILIO_API_BASE_URL", "TWILIO_API_BASE_URL")
    if not base:
        return None
    parts = urlsplit(base)
    return parts.port if parts.hostname in ("127.0.0.1", "localhost") else None


def _call_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--url", default=_default_url, show_default="http://127.0.0.1:$PORT",
                     help="Where the app listens (what the simulator connects to)."),
        click.option("--public-base-url",
                     default=lambda: _env("HOTLINE_PUBLIC_BASE_URL", "PUBLIC_BASE_URL"),
                     help="Public URL Twilio would use, signed instead of --url "
                     "[default: $HOTLINE_PUBLIC_BASE_URL / $PUBLIC_BASE_URL, else --url]"),
        click.option("--auth-token", default=None, help="Twilio auth token to sign with."),
        click.option("--account-sid", default=None, help="Twilio AccountSid (AC…)."),
        click.option("--to", "to_number", default=DEFAULT_TO, show_default=True,
                     help="The hotline's number."),
        click.option("--digits", default="", callback=_check_keys,
                     help="Keys per Gather, comma/space separated; '.' or '-' = no input."),
        click.option("--record", "recording", type=click.Path(exists=True, dir_okay=False,
                     path_type=Path), callback=_read_wav,
                     help="WAV file the caller speaks into <Record> (default: 2 s tone)."),
        click.option("--status-order", type=click.Choice(STATUS_ORDERS), default="in-order",
                     show_default=True, help="Delivery order of the status callbacks."),
        click.option("--max-requests", default=80, show_default=True,
                     help="Voice requests after which a call counts as a flow that never ends."),
        click.option("--timeout", "timeout_s", default=TWILIO_TIMEOUT_S, show_default=True,
                     help="Seconds the app has to answer each request (Twilio: 15)."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


@click.group(name="sim")
def sim() -> None:
    """Play Twilio against a running hotline app: simulated calls and load."""


@sim.command("call")
@_call_options
@click.option("--from", "from_number", default=DEFAULT_FROM, show_default=True,
              help="The caller's number (E.164).")  # fmt: skip
@click.option("--quiet", is_flag=True, help="Print only a one-line summary.")
@click.option(
    "--say",
    "say",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    callback=_read_say,
    help="WAV the caller speaks over the media stream at a Gather (repeatable; "
    "the keys script's 'say' tokens place them, else the first Gathers).",
)
@click.option(
    "--media-speed",
    default=1.0,
    show_default=True,
    help="How fast speech is streamed: 1 = real time, 4 = four times faster.",
)
@click.option(
    "--rest-port",
    type=int,
    default=_default_rest_port,
    show_default="the port of a loopback HOTLINE_TWILIO_API_BASE_URL",
    help="Answer the app's REST call updates here (its Twilio API base URL).",
)
def call_command(
    *,
    url: str,
    public_base_url: str | None,
    auth_token: str | None,
    account_sid: str | None,
    from_number: str,
    quiet: bool,
    say: tuple[bytes, ...],
    media_speed: float,
    rest_port: int | None,
    **settings: Any,
) -> None:
    """Place one call; print the transcript; exit 1 if the app broke Twilio's protocol."""
    sid, token = resolve_credentials(auth_token, account_sid)
    rest = None
    if say and rest_port:
        try:
            rest = RestSim(sid, token, port=rest_port).start()
        except OSError as exc:
            click.echo(f"REST stand-in not started on port {rest_port} ({exc}): spoken answers "
                       "are picked up when each Gather times out", err=True)  # fmt: skip
    try:
        report = simulate_call(
            url,
            auth_token=token,
            account_sid=sid,
            from_number=from_number,
            public_base_url=public_base_url,
            keys=settings.pop("digits"),
            out=None if quiet else click.echo,
            say=say,
            rest=rest,
            media_speed=media_speed,
            **settings,
        )
    finally:
        stop_recording_server()
        if rest is not None:
            rest.stop()
    click.echo(report.summary())
    if not report.ok:
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(1)


@sim.command("load")
@_call_options
@click.option("--calls", default=20, show_default=True, help="How many calls to place.")
@click.option("--concurrency", default=5, show_default=True, help="Calls in flight at once.")
@click.option("--seed", default=0, show_default=True, help="Seed for the callers' numbers.")
def load_command(
    *,
    url: str,
    public_base_url: str | None,
    auth_token: str | None,
    account_sid: str | None,
    **settings: Any,
) -> None:
    """Place many calls from distinct numbers; print failures and latency; exit 1 on failure."""
    sid, token = resolve_credentials(auth_token, account_sid)
    try:
        report = run_load(
            url,
            auth_token=token,
            account_sid=sid,
            public_base_url=public_base_url,
            keys=settings.pop("digits"),
            **settings,
        )
    finally:
        stop_recording_server()
    click.echo(report.format())
    if not report.ok:
        raise click.exceptions.Exit(1)
