"""A bare Flask app that answers every GET with one fixed JSON body (read from the file named by
``BARE_FLASK_BODY``): the floor for any Flask app under the same WSGI server, with no videomock code."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY = Path(os.environ["BARE_FLASK_BODY"]).read_bytes()

app = Flask(__name__)


@app.get("/<path:path>")
def fixed_body(path: str) -> Response:
    return Response(BODY, mimetype="application/json")
