"""``videomock record | validate | import-har``: recording a provider, checking recordings, importing HAR.

Registered on the ``videomock`` group in :mod:`videomock.cli`, loaded only when run. Every bad argument or
unusable file ends the command with one line naming it, never a traceback.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import click

from videomock.client.recordings import check_recording
from videomock.contracts import default_catalog
from videomock.recording.cassette import DEFAULT_MAX_BODY_BYTES, Book, Cassette, CassetteError, load, load_folder
from videomock.recording.check import check_cassettes
from videomock.recording.proxy import RecordingProxy, UpstreamError, check_on_record, make_proxy_server, media_facts


def _output_folder(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} is not a directory", param_hint="'--out'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"directory {out.parent} does not exist", param_hint="'--out'")
    out.mkdir(exist_ok=True)
    return out


_max_bytes = click.option("--max-video-bytes", type=click.IntRange(0, 1 << 30), default=DEFAULT_MAX_BODY_BYTES,
                          show_default=True, help="Keep downloads up to this size whole; larger ones as their "
                          "SHA-256 and media facts (size, fps, duration, codec).")


@click.command()
@click.option("--upstream", required=True, help="The provider's base URL, e.g. https://api.example.com.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the cassettes (created if missing; its parent must exist).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0 picks a free one).")
@_max_bytes
@click.option("--quiet", is_flag=True, help="Do not log each exchange (violations are still told).")
def record(upstream: str, out: Path, host: str, port: int, max_video_bytes: int, quiet: bool) -> None:
    """Record a provider: a proxy that forwards every request to --upstream, in any dialect videomock speaks,
    and writes each task (submit, polls with their time offsets, downloads, webhooks sent to
    /__videomock_record/webhook) as a cassette in --out. Secrets are redacted before anything is written;
    each answer is checked against its dialect's contract as it is recorded. Ctrl-C or SIGTERM stops it."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    folder = _output_folder(out)
    book = Book(folder, "", max_body_bytes=max_video_bytes, probe=media_facts)
    try:
        proxy = RecordingProxy(upstream, book)
    except UpstreamError as exc:
        raise click.BadParameter(str(exc), param_hint="'--upstream'") from None
    book.upstream = proxy.upstream
    book.on_recorded = check_on_record(book)
    server = make_proxy_server(host, port, proxy)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    click.echo(f"videomock recording on http://{host}:{server.server_port} -> {proxy.upstream}, cassettes in {folder}",
               err=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command("import-har")
@click.argument("har", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the cassettes.")
@_max_bytes
def import_har_command(har: Path, out: Path, max_video_bytes: int) -> None:
    """Turn a HAR file (browsers' developer tools, mitmproxy) into cassettes, one per task, redacted as the
    recording proxy redacts."""
    from videomock.recording.har import import_har

    folder = _output_folder(out)
    try:
        _, used = import_har(har, folder, max_body_bytes=max_video_bytes, probe=media_facts)
    except CassetteError as exc:
        raise click.ClickException(str(exc)) from None
    written = sorted(p.name for p in folder.glob("*.json"))
    click.echo(f"{used} entries of {har} were part of a task; {len(written)} cassettes in {folder}")


def _cassettes_in(path: Path) -> list[Cassette] | None:
    """The cassettes a path names (a folder of them, or one file that is one), or None for a file that is
    not a cassette (a recording of bodies, checked as before)."""
    if path.is_dir():
        return load_folder(path)
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return [load(path)] if isinstance(document, dict) and "videomock_cassette" in document else None


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check recordings against the contracts; exit 1 if any answer breaks its contract.

    A folder (or file) of cassettes: every recorded answer against its dialect's contract, each violation
    with its JSON pointer, then a drift summary (fields added, fields missing, new enum values, changed types,
    id format changes). Any other file holds one JSON document or a list of them: a bare body (its kind is
    inferred from its shape) or an envelope {"request": ..., "response": ..., "kind": ..., "status": ...};
    kind is one of request, submit, task, error, model_list.
    """
    catalog = default_catalog()
    invalid = 0
    cassettes: list[Cassette] = []
    for path in paths:
        try:
            found = _cassettes_in(path)
        except CassetteError as exc:
            click.echo(f"INVALID {exc}")
            invalid += 1
            continue
        if found is not None:
            cassettes += found
            continue
        invalid += _check_bodies(path, catalog)
    if cassettes:
        invalid += _report_cassettes(cassettes)
    if invalid:
        raise click.ClickException(f"{invalid} invalid")


def _check_bodies(path: Path, catalog: Any) -> int:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        click.echo(f"{path}: INVALID (not readable JSON: {exc})")
        return 1
    invalid = 0
    for finding in check_recording(document, str(path), catalog):
        click.echo(f"{finding.where}: {'ok' if finding.ok else 'INVALID'} ({finding.kind or 'unknown kind'})")
        for v in finding.violations:
            click.echo(f"  {v.pointer or '/'}: {v.message}")
        invalid += not finding.ok
    return invalid


def _report_cassettes(cassettes: list[Cassette]) -> int:
    findings, drift = check_cassettes(cassettes)
    for cassette in cassettes:
        own = [f for f in findings if f.cassette == cassette.name]
        click.echo(f"{cassette.path}: {'ok' if not own else 'INVALID'} ({cassette.dialect}, "
                   f"{len(cassette.polls)} polls, final status {cassette.final_status or 'none'})")
        for finding in own:
            click.echo(f"  {finding.where} {finding.violation.pointer or '/'}: {finding.violation.message}")
    lines = drift.lines()
    click.echo("Drift from the contracts:" if lines else "No drift from the contracts.")
    for line in lines:
        click.echo(f"  {line}")
    return len({f.cassette for f in findings})

