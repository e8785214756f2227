"""The application factory. Configuration comes in as an argument; nothing is read from globals."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response

from videomock.config import check_config, default_cache_dir
from videomock.core.backend import VideoBackend
from videomock.core.runtime import publish_config
from videomock.dialects import adapters
from videomock.http import meta, webhook_admin
from videomock.http.admin import admin
from videomock.http.bodies import FormRequest
from videomock.http.cors import CrossOrigin
from videomock.http.dashboard import dashboard
from videomock.http.errors import ErrorRenderers, register_error_handlers
from videomock.http.fastpath import FastPath
from videomock.http.fault_header import install_fault_header
from videomock.http.journal import install_journal
from videomock.http.json_text import AnswerJSON
from videomock.http.middleware import open_exchanges
from videomock.http.transport import TransportFaults
from videomock.media.library import VideoLibrary
from videomock.store import Store, open_store

#: The key, in ``app.extensions``, of the answers the app gives without waiting (see FastPath.answer).
INLINE = "videomock.inline"
#: The key, in ``app.extensions``, of the app's :class:`~videomock.http.fastpath.FastPath`.
FAST_PATH = "videomock.fast_path"


class FakeProviderApp(Flask):
    """Flask, answering OPTIONS with a 204 and Allow. Flask's own answer is an empty 200 labelled text/html:
    a client or a proxy that checks content types sees an HTML page where the API promises JSON or nothing.
    Its forms are parsed whole (:class:`~videomock.http.bodies.FormRequest`)."""

    request_class = FormRequest
    json_provider_class = AnswerJSON

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response


def video_library(cfg: Mapping[str, Any]) -> VideoLibrary:
    """The video cache a (checked) config describes; the caller closes it."""
    video_cfg = cfg["video"]
    return VideoLibrary(Path(video_cfg["cache_dir"]) if video_cfg["cache_dir"] else default_cache_dir(),
                        max_bytes=video_cfg["cache_max_bytes"], image_max_bytes=video_cfg["image_cache_max_bytes"],
                        ffmpeg=video_cfg["ffmpeg"], render_timeout=video_cfg["render_timeout"])


def create_app(config: Mapping[str, Any] | None = None, *, store: Store | None = None,
               videos: VideoLibrary | None = None, real_time: Callable[[], float] = time.time) -> Flask:
    """A fake provider app. ``config`` is a (partial) config document; defaults fill the rest.

    ``store`` and ``videos`` let callers share state or a video cache between apps (the fixtures share
    one video cache across tests so each placeholder is rendered once per session). Without ``store``, the
    app opens the one ``server.store`` names, and this config replaces any a previous run left in it (tasks,
    journal and virtual time carry on). With ``store``, the runtime configuration already in it stays (so a
    worker process started later does not undo a change made through the admin API); ``config`` then only
    supplies the startup-only sections, which cannot have changed.
    """
    cfg = check_config(dict(config or {}))
    app = FakeProviderApp("videomock")
    app.config["MAX_CONTENT_LENGTH"] = cfg["server"]["max_body_bytes"]
    # A form's text field may be as large as a body (an image's data URI, as the openai SDK sends
    # input_reference[image_url]); Flask's default of 500 kB answered such a form 413, naming max_body_bytes.
    app.config["MAX_FORM_MEMORY_SIZE"] = cfg["server"]["max_body_bytes"]
    app.url_map.strict_slashes = False
    # Werkzeug would answer "//" in a path with a 308 whose body is HTML; an unknown route is a JSON 404 here.
    app.url_map.merge_slashes = False
    if videos is None:
        videos = video_library(cfg)
    if store is None:
        store = open_store(cfg["server"]["store"])
        publish_config(store, cfg, real_time=real_time)
    backend = app.extensions["videomock"] = VideoBackend(cfg, store, videos, real_time=real_time)
    register_error_handlers(app)
    dialects = adapters()
    install_fault_header(app, {**meta.FAULT_ENDPOINTS,
                               **{name: kind for adapter in dialects for name, kind in adapter.fault_endpoints.items()}})
    for adapter in dialects:
        app.register_blueprint(adapter.blueprint)
        for shape in adapter.webhook_shapes(backend):
            backend.webhooks.register(shape)
    app.extensions["videomock.error_renderers"] = ErrorRenderers(
        {a.blueprint.name: a.render_error for a in dialects if a.render_error is not None},
        tuple((prefix, a.render_error) for a in dialects if a.render_error is not None for prefix in a.prefixes))
    app.register_blueprint(meta.meta)
    app.register_blueprint(admin)
    app.register_blueprint(webhook_admin.admin)
    app.register_blueprint(dashboard)
    install_journal(app)
    # Outermost first: CORS when asked for, plain polls and submits, then transport faults, then the per-request
    # Exchange, then Flask. The fast path serialises exactly as Flask's JSON responses do (compact, with a
    # trailing newline).
    fast_path = app.extensions[FAST_PATH] = FastPath(
        TransportFaults(open_exchanges(app.wsgi_app)), backend, app.json.dumps,
        [adapter.fast_poll for adapter in dialects if adapter.fast_poll is not None],
        [adapter.fast_submit for adapter in dialects if adapter.fast_submit is not None])
    app.wsgi_app = fast_path  # type: ignore[method-assign]
    if cfg["server"]["cors_origins"]:
        app.wsgi_app = CrossOrigin(app.wsgi_app, cfg["server"]["cors_origins"])  # type: ignore[method-assign]
    else:
        # What a server with an event loop may answer there, without handing the request to a thread
        # (with CORS on, every answer goes through CrossOrigin).
        app.extensions[INLINE] = fast_path.answer
    return app
