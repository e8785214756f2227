"""The ``videomock`` command. Server settings come from the table in :mod:`videomock.config`, so every
flag has a matching VIDEOMOCK_* variable and config-file key."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from videomock.config import SETTINGS, ConfigError, load_config

#: Commands that live in videomock.client and videomock.recording, imported only when run (the server's
#: processes never need them).
CLIENT_COMMANDS = {"generate": "videomock.client.cli:generate", "validate": "videomock.recording.commands:validate",
                   "verify": "videomock.client.cli:verify", "record": "videomock.recording.commands:record",
                   "import-har": "videomock.recording.commands:import_har_command"}


class VideomockGroup(click.Group):
    """A group whose client-side commands load on demand, and where a file or directory that cannot be read
    or written (a path the user gave, mostly) ends a command with one line rather than a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.filename is None:  # not about a path: a bug to see in full
                raise
            raise click.ClickException(f"{exc.filename}: {exc.strerror}") from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *CLIENT_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in CLIENT_COMMANDS:
            module, _, attribute = CLIENT_COMMANDS[name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=VideomockGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="videomock")
def main() -> None:
    """videomock: a fake video-generation provider for development and tests."""


def setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Attach one option per entry of SETTINGS, each documenting its environment variable."""
    for setting in reversed(SETTINGS):
        command = click.option(
            f"--{setting.flag}", setting.flag.replace("-", "_"), multiple=setting.multiple, default=None,
            type=click.UNPROCESSED, callback=_parse(setting.parse, setting.multiple),
            help=f"{setting.help} [env: {setting.env}]",
        )(command)
    return click.option("--config", "config_file", type=click.Path(dir_okay=False),
                        help="TOML config file. [env: VIDEOMOCK_CONFIG]")(command)


def _parse(parse: Callable[[str], Any], multiple: bool) -> Callable[..., Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or (multiple and not value):
            return value
        try:
            return tuple(parse(v) for v in value) if multiple else parse(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a valid value") from None
    return callback


def config_from_cli(config_file: str | None, flags: dict[str, Any]) -> dict[str, Any]:
    try:
        return load_config(config_file=config_file, flags=flags)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@setting_options
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def serve(config_file: str | None, quiet: bool, **flags: Any) -> None:
    """Run the fake provider under gunicorn (Ctrl-C stops it; SIGTERM lets requests under way finish)."""
    from videomock.contracts.catalog import Catalog
    from videomock.http.auth import is_loopback
    from videomock.serving.gunicorn import CannotListen, worker_count
    from videomock.serving.gunicorn import serve as serve_forever
    from videomock.store import StoreError

    config = config_from_cli(config_file, flags)
    check_replay(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server, clock = config["server"], config["clock"]

    def announce(url: str) -> None:
        if config["auth"]["admin_token"] is None and not is_loopback(server["host"]):
            click.echo(f"videomock: listening on {server['host']} without --admin-token, so the admin API "
                       "(/__admin/) answers loopback clients only", err=True)
        click.echo(f"videomock serving on {url}  "
                   f"(workers: {worker_count(server['workers'])} x {server['threads']} threads, "
                   f"clock: {clock['mode']}{' x' + format(clock['speed'], 'g') if clock['mode'] == 'speed' else ''}, "
                   f"seed: {config['seed']}, store: {server['store']}, "
                   f"models: {', '.join(Catalog.load(config['models']))})\n"
                   f"videomock dashboard: {url}/__admin/ui", err=True)

    try:
        serve_forever(config, log_requests=not quiet, on_ready=announce)
    except (ConfigError, StoreError, CannotListen) as exc:
        raise click.ClickException(str(exc)) from None


def check_replay(config: dict[str, Any]) -> None:
    """Refuse a --replay folder that holds no usable cassettes, or several workers, before anything starts."""
    server = config["server"]
    if server["replay"] is None:
        return
    from pathlib import Path

    from videomock.recording.cassette import CassetteError, load_folder
    from videomock.serving.gunicorn import worker_count

    if worker_count(server["workers"]) != 1:
        raise click.ClickException("--replay needs one worker (--workers 1): a replayed task lives in the worker "
                                   "that answered its submit")
    try:
        load_folder(Path(server["replay"]))
    except CassetteError as exc:
        raise click.ClickException(f"--replay: {exc}") from None


@main.command("render")
@click.option("--model", required=True, help="A model id from the catalog.")
@click.option("--prompt", default="", help="Text drawn on every frame.")
@click.option("--width", type=int, help="Default: the model's.")
@click.option("--height", type=int, help="Default: the model's.")
@click.option("--fps", type=int, help="Default: the model's.")
@click.option("--duration", type=int, help="Seconds. Default: the model's.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Picks the background colour.")
@click.option("--image", "image_file", type=click.Path(exists=True, dir_okay=False), help="PNG/JPEG/WebP to animate (image-to-video).")
@click.option("--ffmpeg", help="ffmpeg binary (default: the bundled one).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the MP4.")
def render_command(model: str, prompt: str, width: int | None, height: int | None, fps: int | None,
                   duration: int | None, seed: int, image_file: str | None, ffmpeg: str | None, out: str) -> None:
    """Render one placeholder video, exactly as the server would for the same request."""
    from pathlib import Path

    from videomock.client.cli import check_output_file
    from videomock.contracts import default_catalog, validate_request
    from videomock.contracts.images import data_uri, parse_image
    from videomock.contracts.media import MediaError, probe
    from videomock.core.backend import VideoBackend
    from videomock.media.render import render

    check_output_file(Path(out))
    body: dict[str, Any] = {"model": model, "seed": seed}
    given = {"prompt": prompt or None, "width": width, "height": height, "fps": fps, "duration": duration}
    body.update({k: v for k, v in given.items() if v is not None})
    if image_file:
        body["image"] = data_uri(Path(image_file).read_bytes(), image_file)  # sent inline, as a client would
    elif "prompt" not in body:
        body["prompt"] = " "  # text-to-video needs a prompt; an empty picture caption is fine here
    catalog = default_catalog()
    violations = validate_request(body, catalog)
    if violations:
        raise click.ClickException("; ".join(v.message for v in violations))
    params = catalog[model].resolve(body)
    image = parse_image(body["image"]).data if image_file else None
    spec = VideoBackend.video_spec(model, {**params, "image": None}, image, audio=catalog[model].has_audio(params))
    try:
        render(spec, Path(out), ffmpeg=ffmpeg)
        info = probe(Path(out), ffmpeg=ffmpeg)
    except MediaError as exc:
        raise click.ClickException(str(exc)) from None
    sound = f", {info.audio.codec} {info.audio.channels} {info.audio.duration:g} s" if info.audio else ", no audio"
    click.echo(f"{out}: {info.width}x{info.height}, {info.fps} fps, {info.frame_count} frames, {info.duration:g} s, "
               f"{info.codec} {info.pix_fmt}{sound}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
