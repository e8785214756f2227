"""Secrets out of everything a recording writes: cassettes and log lines.

Two nets, because a secret can be anywhere: by name (the Authorization header, API-key headers, query
parameters such as ``key`` and ``signature``, signed URLs' signatures in any body) and by value (every secret
seen in a request is remembered and scrubbed wherever it shows up again: an echoed key, a token in a path).
JWTs (Kling's tokens) are recognised by their shape as well.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qsl, quote, unquote

REDACTED = "REDACTED"
#: Header and parameter names that carry secrets (matched anywhere in the name, case-insensitively).
SECRET_NAME = re.compile(r"authorization|api[-_]?key|apikey|token|secret|cookie|signature|credential|password|session|^key$|^sig$",
                         re.IGNORECASE)
#: A secret-named parameter inside any text (a signed URL in a JSON body, a Location header).
_SECRET_PARAM_IN_TEXT = re.compile(
    r"([?&](?:[\w.-]*(?:key|token|signature|credential|secret|password)[\w.-]*|sig)=)[^&\"'\s#\\]+", re.IGNORECASE)
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}")
_SCHEME = re.compile(r"^(\w+)\s+(.+)$")
#: Shorter values are not worth scrubbing by value: they would match ordinary text.
MIN_SECRET_LENGTH = 6


class Redactor:
    """Redacts by name and by value; remembers each secret it is shown (thread-safe: the proxy serves
    requests on several threads)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def remember(self, value: str) -> None:
        for candidate in {value, quote(value, safe=""), unquote(value)}:
            if len(candidate) >= MIN_SECRET_LENGTH:
                with self._lock:
                    self._secrets.add(candidate)

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """Headers with every secret-named value redacted (an Authorization keeps its scheme), each remembered."""
        clean = {}
        for name, value in headers.items():
            if SECRET_NAME.search(name):
                scheme = _SCHEME.match(value)
                self.remember(value)
                if scheme is not None:
                    self.remember(scheme[2])
                clean[name] = f"{scheme[1]} {REDACTED}" if scheme is not None else REDACTED
            else:
                clean[name] = self.text(value)
        return clean

    def query(self, query: str) -> str:
        """A query string with every secret-named parameter's value redacted, each remembered."""
        if not query:
            return query
        parts = []
        for name, value in parse_qsl(query, keep_blank_values=True):
            if SECRET_NAME.search(name):
                self.remember(value)
                value = REDACTED
            parts.append(f"{quote(name, safe='')}={quote(self.text(value), safe='')}")
        return "&".join(parts)

    def text(self, text: str) -> str:
        """Any text with every remembered secret, JWT and signed-URL parameter redacted."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        text = _JWT.sub(REDACTED, text)
        return _SECRET_PARAM_IN_TEXT.sub(lambda m: m[1] + REDACTED, text)
