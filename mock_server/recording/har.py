"""HAR files (what browsers' developer tools and mitmproxy export) as cassettes: each entry becomes an
:class:`~videomock.recording.cassette.Exchange` for the same :class:`~videomock.recording.cassette.Book` the
proxy records into, so traffic captured elsewhere gives the same cassettes, redacted the same way.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from videomock.recording.cassette import Book, CassetteError, Exchange


def _headers(entries: Any) -> dict[str, str]:
    if not isinstance(entries, list):
        return {}
    return {str(h["name"]).lower(): str(h.get("value", "")) for h in entries if isinstance(h, dict) and "name" in h}


def _content(content: Any) -> bytes:
    if not isinstance(content, dict) or not isinstance(content.get("text"), str):
        return b""
    if content.get("encoding") == "base64":
        return base64.b64decode(content["text"])
    return content["text"].encode()


def _form(post: Any) -> dict[str, str] | None:
    """A form body's fields as the HAR lists them (a file part as its name: HAR keeps no file's bytes)."""
    if not isinstance(post, dict) or not isinstance(post.get("params"), list) or not post["params"]:
        return None
    return {str(p["name"]): str(p.get("value", p.get("fileName", ""))) for p in post["params"] if isinstance(p, dict)}


def read_har(path: Path) -> tuple[str, list[Exchange]]:
    """The origin of the first lifecycle entry and every entry as an exchange, in the order they were sent; a
    CassetteError names what is wrong with a file that is not a HAR log."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["log"]["entries"]
        if not isinstance(entries, list):
            raise TypeError("log.entries is not a list")
        exchanges = []
        origin = ""
        for index, entry in enumerate(entries):
            request, response = entry["request"], entry["response"]
            url = urlsplit(request["url"])
            origin = origin or f"{url.scheme}://{url.netloc}"
            exchanges.append(Exchange(
                method=str(request["method"]).upper(), path=url.path or "/", query=url.query,
                request_headers=_headers(request.get("headers")),
                request_body=str((request.get("postData") or {}).get("text", "")).encode(),
                form=_form(request.get("postData")),
                status=int(response["status"]), response_headers=_headers(response.get("headers")),
                response_body=_content(response.get("content")),
                at=datetime.fromisoformat(str(entry["startedDateTime"]).replace("Z", "+00:00")).timestamp() + index * 1e-6))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise CassetteError(f"{path}: not a HAR file this can read ({type(exc).__name__}: {exc})") from None
    return origin, sorted(exchanges, key=lambda e: e.at)


def import_har(path: Path, out: Path, **book_options: Any) -> tuple[Book, int]:
    """Write the cassettes of a HAR file's tasks into ``out``; returns the Book and how many entries were
    part of a task."""
    origin, exchanges = read_har(path)
    book = Book(out, origin, source="har", **book_options)
    return book, sum(book.add(e) is not None for e in exchanges)
