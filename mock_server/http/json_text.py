"""The app's JSON answers: Flask's compact, insertion-ordered JSON with its non-ASCII escaped, encoded by orjson.

Encoding an answer with the json module was a tenth of a served poll (bench/README.md). orjson writes the
same text for what the app answers, except that it writes non-ASCII characters as they are and some floats'
exponents shorter (``1e-5`` for ``1e-05``: the same number); an answer with a non-ASCII character is encoded
by the json module, so it stays escaped as Flask's always was. The types Flask encodes its own way (dates,
dataclasses, subclasses of str and dict) go to Flask's ``default`` as they did, and what orjson refuses (an
integer beyond 64 bits, a key that is not a string) to the json module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

#: What Flask's ``response`` passes ``dumps`` for a compact answer.
_COMPACT = {"separators": (",", ":")}
_PASS_TO_DEFAULT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """The function encoding a value as the app answers it, with ``default`` for the types JSON has not."""
    escaped = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=default).encode

    def encode(value: Any) -> str:
        try:
            text = orjson.dumps(value, default=default, option=_PASS_TO_DEFAULT)
        except TypeError:
            return escaped(value)
        return text.decode("ascii") if text.isascii() else escaped(value)

    return encode


class AnswerJSON(DefaultJSONProvider):
    """Flask's JSON provider, compact and in insertion order, encoding with :func:`encoder`."""

    sort_keys = False
    compact = True

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.encode = encoder(self.default)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Compact, as the app's answers are: Flask's ``response`` (``jsonify``, a view returning a dict) asks
        for it with compact separators, the fast path with no options."""
        return self.encode(obj) if not kwargs or kwargs == _COMPACT else super().dumps(obj, **kwargs)
