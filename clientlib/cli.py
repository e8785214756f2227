"""``videomock generate | verify``: the client library from the command line (``validate`` is
:mod:`videomock.recording.commands`, which checks cassettes too).

Registered on the ``videomock`` group in :mod:`videomock.cli`. Progress goes to stderr and results to
stdout, so the commands compose in scripts; on a non-terminal, progress is a line per change instead of a
redrawn bar, so CI logs stay readable.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from videomock.client.client import VideoClient
from videomock.client.errors import APIError, ContractViolation, VideoClientError
from videomock.client.generation_request import image_data_uri
from videomock.client.task import Task
from videomock.client.verify import format_report, verify_provider
from videomock.contracts import Catalog, CatalogError, default_catalog

BAR_WIDTH = 30
#: On a non-terminal, a new progress line is printed each time progress crosses one of these steps.
LOG_STEP_PERCENT = 10


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--api-key", envvar="VIDEOMOCK_API_KEY", required=True,
                           help="API key, sent as a Bearer token. [env: VIDEOMOCK_API_KEY]")(command)
    command = click.option("--base-url", envvar="VIDEOMOCK_BASE_URL", default="http://127.0.0.1:8000", show_default=True,
                           help="The provider's root URL. [env: VIDEOMOCK_BASE_URL]")(command)
    return command


class ProgressLine:
    """Progress on stderr: one redrawn bar on a terminal, otherwise a line per status change or step."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last: tuple[str, int] | None = None

    def task(self, task: Task) -> None:
        self.show(task.status, task.progress or 0)

    def download(self, done: int, total: int | None) -> None:
        self.show("downloading", 100 * done // total if total else 0, f" {done / 1e6:.1f} MB")

    def show(self, phase: str, percent: int, suffix: str = "") -> None:
        filled = BAR_WIDTH * percent // 100
        text = f"{phase:<12} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {percent:3d}%{suffix}"
        if self.tty:
            click.echo("\r" + text, nl=False, err=True)
            return
        key = (phase, percent // LOG_STEP_PERCENT)
        if key != self.last:
            click.echo(text, err=True)
        self.last = key

    def end(self) -> None:
        if self.tty:
            click.echo(err=True)


def catalog_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Check requests against the models of this videomock config file (its [models] table) instead of "
             "asking the server; for offline use.")(command)


def rules_for(client: VideoClient, config_file: Path | None) -> Catalog:
    """The model rules to check requests against: the config file's, else the server's own (from its model
    list), else, for a provider that does not describe its models, the built-in catalog."""
    if config_file is not None:
        try:
            with config_file.open("rb") as fh:
                models = tomllib.load(fh).get("models", {})
            return Catalog.load(models)
        except tomllib.TOMLDecodeError as exc:
            raise click.BadParameter(f"{config_file} is not valid TOML: {exc}", param_hint="--config") from None
        except CatalogError as exc:
            raise click.BadParameter(f"{config_file}: {exc}", param_hint="--config") from None
    try:
        catalog = client.server_catalog()
    except APIError as exc:
        if exc.status != 404:  # a provider with no model list (Kling's native API) is not an error
            raise fail(exc) from None
        catalog = None
    except CatalogError as exc:
        raise click.ClickException(f"the server's model list describes an inconsistent catalog: {exc}") from None
    except VideoClientError as exc:
        raise fail(exc) from None
    return catalog if catalog is not None else default_catalog()


def check_output_file(path: Path, option: str = "--out") -> None:
    """Refuse an output file whose directory is missing or read-only before any work is done: a job submitted
    to a real provider costs money, and its video would have nowhere to go."""
    directory = path.parent
    if not directory.exists():
        problem = f"directory {directory} does not exist"
    elif not directory.is_dir():
        problem = f"{directory} is not a directory"
    elif not os.access(directory, os.W_OK | os.X_OK):
        problem = f"directory {directory} is not writable"
    else:
        return
    raise click.BadParameter(problem, param_hint=f"'{option}'")


def fail(exc: VideoClientError) -> click.ClickException:
    """An error for click to print (exit status 1); a contract violation lists each broken rule."""
    if isinstance(exc, ContractViolation):
        lines = [str(exc).partition(":")[0] + ":", *(f"  {v.pointer or '/'}: {v.message}" for v in exc.violations)]
        return click.ClickException("\n".join(lines))
    return click.ClickException(str(exc))


@click.command()
@connection_options
@click.option("--model", required=True, help="Model id, e.g. kling-v2-5-turbo.")
@click.option("--prompt", help="What the video shows.")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Image to animate (sent inline as a data URI).")
@click.option("--duration", type=int, help="Seconds.")
@click.option("--width", type=int)
@click.option("--height", type=int)
@click.option("--fps", type=int)
@click.option("--seed", type=int)
@click.option("--metadata", "metadata_json", metavar="JSON", help="Model-specific fields, as a JSON object.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Where to write the MP4.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Give up waiting after this many seconds.")
@click.option("--poll-interval", type=float, default=1.0, show_default=True, help="First poll interval (grows to 10 s).")
@click.option("--idempotency-key", help="Send this Idempotency-Key, which lets a failed submit be retried safely.")
@click.option("--lenient", is_flag=True, help="Warn instead of failing when a response breaks the contract.")
@catalog_option
def generate(base_url: str, api_key: str, model: str, image: Path | None, metadata_json: str | None, out: Path,
             timeout: float, poll_interval: float, idempotency_key: str | None, lenient: bool,
             config_file: Path | None, **fields: Any) -> None:
    """Generate one video: submit, wait (with a progress bar), download to --out.

    The request is checked first against the server's own model rules (its model list's capabilities), or
    --config's."""
    check_output_file(out)
    body: dict[str, Any] = {"model": model, **{k: v for k, v in fields.items() if v is not None}}
    if image is not None:
        body["image"] = image_data_uri(image)
    if metadata_json is not None:
        try:
            body["metadata"] = json.loads(metadata_json)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--metadata") from None
    progress = ProgressLine()
    with VideoClient(base_url, api_key, validate_responses="lenient" if lenient else "strict") as client:
        client.catalog = rules_for(client, config_file)
        try:
            task = client.generate(body, out=out, timeout=timeout, poll_interval=poll_interval,
                                   idempotency_key=idempotency_key, on_progress=progress.task,
                                   on_download=progress.download)
        except VideoClientError as exc:
            progress.end()
            raise fail(exc) from None
    progress.end()
    click.echo(f"{task.id} {out} {out.stat().st_size} bytes")


@click.command()
@connection_options
@click.option("--model", "models", multiple=True, help="Model to verify (repeatable). Default: every model in the catalog.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Per-model wait limit in seconds.")
@click.option("--poll-interval", type=float, default=1.0, show_default=True, help="First poll interval (grows to 10 s).")
@click.option("--duration-tolerance", type=float, default=0.2, show_default=True, help="Allowed video duration error (s).")
@click.option("--keep-videos", type=click.Path(file_okay=False, path_type=Path), help="Keep the downloaded videos here.")
@catalog_option
def verify(base_url: str, api_key: str, models: tuple[str, ...], timeout: float, poll_interval: float,
           duration_tolerance: float, keep_videos: Path | None, config_file: Path | None) -> None:
    """Provider verification: run each model once and check every response and the video against the
    contracts; prints a pass/fail table and exits 1 on any failure. Each model costs one real job.

    The models and their rules are the server's own (its model list's capabilities), or --config's; for a
    provider that does not describe its models, the built-in catalog's."""
    with tempfile.TemporaryDirectory(prefix="videomock-verify-") as scratch, \
            VideoClient(base_url, api_key, validate_responses="lenient") as client:
        catalog = client.catalog = rules_for(client, config_file)
        unknown = [m for m in models if m not in catalog]
        if unknown:
            raise click.BadParameter(f"{', '.join(unknown)} not in the catalog (verify checks against its rules); "
                                     f"known: {', '.join(catalog)}", param_hint="--model")
        workdir = keep_videos or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = verify_provider(client, models or None, workdir=workdir, timeout=timeout, poll_interval=poll_interval,
                               duration_tolerance=duration_tolerance, log=lambda line: click.echo(line, err=True))
    click.echo(format_report(rows))
    if not all(row.ok for row in rows):
        raise click.exceptions.Exit(1)
