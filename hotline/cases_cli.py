"""`hotline cases …`: import a court's case list, generate benchmark cases, show one case."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from hotline.cli.common import load_settings
from hotline.config import Settings
from hotline.db import Database

# Progress goes to stderr only for files this big: small imports just print their report.
PROGRESS_FROM_ROWS = 2000


def _pepper(settings: Settings) -> str:
    # The ID-number hashes are keyed with SECRET_KEY: rotating it invalidates every stored
    # id_hash (callers' IDs stop matching) until the cases are imported again.
    return settings.secret_key


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    database = Database(settings)
    try:
        with database.session() as session:
            yield session
    finally:
        database.dispose()


@click.group("cases")
def cases() -> None:
    """Court cases: import, benchmark data, lookup."""


@cases.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--region", default=None, help="Country for numbers without +code (default: CN).")
@click.option("--batch-size", default=500, show_default=True, help="Rows per commit.")
def import_command(file: Path, region: str | None, batch_size: int) -> None:
    """Import cases from FILE (.csv or .json); exit 1 if any row was rejected."""
    from workorders.case_import import CaseFileError, import_cases

    settings = load_settings()
    with _session(settings) as session:

        def progress(done: int, total: int) -> None:
            session.commit()  # a batch per transaction: a long import holds no huge one
            if total >= PROGRESS_FROM_ROWS:
                click.echo(f"\r{done}/{total} rows", err=True, nl=done >= total)

        try:
            report = import_cases(
                session,
                file,
                pepper=_pepper(settings),
                region=region or settings.default_region,
                batch_size=batch_size,
                on_progress=progress,
            )
        except CaseFileError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(report.format())
    sys.exit(1 if report.rejected else 0)


@cases.command("generate")
@click.option("--count", type=click.IntRange(min=1), required=True)
@click.option("--seed", type=int, required=True)
@click.option(
    "--fast",
    is_flag=True,
    help="Cheap password hashes: benchmark data only, never production.",
)
@click.option("--batch-size", default=2000, show_default=True, help="Cases per commit.")
def generate_command(count: int, seed: int, fast: bool, batch_size: int) -> None:
    """Load COUNT generated cases (the same ones for the same seed) for demos and benchmarks."""
    from workorders.case_generate import load_generated

    settings = load_settings()
    if not fast and count > 100:
        click.echo(
            "hashing every password with full argon2 takes ~0.25 s a case; "
            "--fast is meant for benchmarks",
            err=True,
        )
    with (
        _session(settings) as session,
        click.progressbar(length=count, label="generating cases", file=sys.stderr) as bar,
    ):

        def progress(done: int, total: int) -> None:
            session.commit()
            bar.update(done - bar.pos)

        loaded = load_generated(
            session,
            count,
            seed=seed,
            pepper=_pepper(settings),
            batch_size=batch_size,
            on_progress=progress,
            fast=fast,
        )
        session.commit()
    click.echo(f"{loaded} cases loaded ({count - loaded} already present)")


@cases.command("show")
@click.argument("case_number")
def show_command(case_number: str) -> None:
    """Show a case, its parties (IDs and phones masked), its stage and next hearing."""
    from workorders.case_numbers import CaseNumberError
    from workorders.case_registry import find_case
    from workorders.phones import mask_number

    settings = load_settings()
    with _session(settings) as session:
        try:
            case = find_case(session, case_number)
        except CaseNumberError as exc:
            raise click.ClickException(f"not a case number: {exc}") from None
        if case is None:
            raise click.ClickException(f"no case {case_number}")
        zone = ZoneInfo(settings.timezone)
        lines = [
            f"{case.case_number}  {case.court_name}",
            f"cause:        {case.cause}",
            f"stage:        {case.stage}  " + " / ".join(str(v) for v in case.status_text.values()),
            f"division:     {case.division or '-'}",
            f"filed:        {case.filing_date or '-'}",
            "next hearing: "
            + (
                f"{case.next_hearing_at.astimezone(zone):%Y-%m-%d %H:%M} ({settings.timezone})"
                f"  {case.next_hearing_place or ''}"
                if case.next_hearing_at
                else "-"
            ),
            f"judge:        {case.judge_name or '-'}",
            f"clerk:        {case.clerk_name or '-'}  {mask_number(case.clerk_phone)}",
            f"password:     {'set' if case.query_password_hash else 'not set'}",
            "parties:",
        ]
        for party in case.parties:
            id_text = f"ID …{party.id_last_digits}" if party.id_last_digits else "no ID"
            phones = ", ".join(mask_number(p.contact.phone_e164) for p in party.phones) or "-"
            lines.append(f"  {party.role:<12} {party.name}  {id_text}  {phones}")
    click.echo("\n".join(lines))
