"""The ``videomock`` command. Server settings come from the table in :mod:`mock_server.config`, so every
flag has a matching VIDEOMOCK_* variable and config-file key."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from mock_server.config import SETTINGS, ConfigError, load_config


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    """Run the fake provider (Ctrl-C stops it)."""
    from werkzeug.serving import make_server

    from mock_server.app import create_app
    from mock_server.sqlite_store import default_store_path
    from mock_server.store import StoreError

    config = config_from_cli(config_file, flags)
    if config["server"]["store"] is None:
        config["server"]["store"] = str(default_store_path())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        app = create_app(config)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    host, port = config["server"]["host"], config["server"]["port"]
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    clock = config["clock"]
    click.echo(f"videomock serving on http://{host}:{server.server_port}  "
               f"(clock: {clock['mode']}{' x' + format(clock['speed'], 'g') if clock['mode'] == 'speed' else ''}, "
               f"seed: {config['seed']}, store: {config['server']['store']}, "
               f"models: {', '.join(app.extensions['videomock'].catalog)})", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
