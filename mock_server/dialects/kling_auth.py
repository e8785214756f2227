"""Kling's authentication: each request carries a JWT its client signed, not a key.

Kling's reference: ``Authorization: Bearer <token>``, the token an HS256 JWT signed with the secret key, its
``iss`` the access key, ``exp`` its end and ``nbf`` its start (clients set ``nbf`` 5 s early, for clock skew).
The signature is checked by PyJWT; the times are checked here, against the server's wall clock (the
injectable one the backend runs on), so that a test that sets the fake's time sets what "expired" means too.
With no key pairs configured, any well-formed, unexpired HS256 token is taken, as any Bearer key is by the
other dialects, and its ``iss`` names the caller. The domain sees only a fingerprint of the access key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from jwt.types import Options

from videomock.core.errors import provider_error
from videomock.core.keys import fingerprint
from videomock.http.auth import bearer_token

#: Seconds a token's exp may have passed, or its nbf be still to come, before it is refused: the clocks of a
#: client and a server are never quite one.
CLOCK_SKEW_SECONDS = 10
ALGORITHM = "HS256"
#: Beyond any time a token could mean (year 33658).
LATEST_TIME = 1e12
#: The error table's codes for a refused token, each of them one of Kling's service codes
#: (:data:`videomock.contracts.dialects.kling.SERVICE_CODES`): failed (unknown access key, wrong signature: 1000),
#: empty (1001), invalid (not a well-formed HS256 JWT with iss and exp: 1002), not yet valid (nbf: 1003), expired
#: (exp: 1004).
FAILED, EMPTY, INVALID, NOT_YET_VALID, EXPIRED = ("invalid_api_key", "missing_token", "invalid_token",
                                                  "token_not_yet_valid", "token_expired")
#: The times are this module's to check (against the backend's clock); audiences are no part of Kling's tokens.
_VERIFY_SIGNATURE_ONLY: Options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                          "verify_iss": False}


def owner(access_key: str) -> str:
    """Whom a Kling caller's tasks belong to: the access key's fingerprint, in a name of its own, so that a
    client of another dialect sending the access key (no secret: it is in every token) as its Bearer key does
    not see them. Fault rules and journal filters name a Kling caller as ``kling:<access key>``."""
    return fingerprint(f"kling:{access_key}")


def authenticate(authorization: str | None, keys: Mapping[str, str], *, now: float) -> str:
    """The access key a request's token was issued for, checked against ``keys`` (access key -> secret key;
    empty: any signature) at wall-clock time ``now``; 401 with Kling's service code for the reason otherwise."""
    # PyJWT loads cryptography, a tenth of the pytest plugin's start-up: imported by Kling's requests only.
    import jwt

    token = bearer_token(authorization)
    if token is None:
        raise provider_error(EMPTY, "Authorization is empty: send 'Authorization: Bearer <token>', the token a JWT "
                                   "signed (HS256) with your secret key.")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise provider_error(INVALID, f"Authorization is invalid: the token is not a JWT ({exc}).") from None
    if header.get("alg") != ALGORITHM:
        raise provider_error(INVALID, f"Authorization is invalid: the token is signed with {header.get('alg')!r}; "
                                     f"Kling's tokens are {ALGORITHM}.")
    access_key = claims.get("iss")
    if not isinstance(access_key, str) or not access_key:
        raise provider_error(INVALID, "Authorization is invalid: the token has no iss claim; iss is your access key.")
    if keys:
        _check_signature(token, access_key, keys)
    _check_times(claims, now)
    return access_key


def _check_signature(token: str, access_key: str, keys: Mapping[str, str]) -> None:
    import jwt

    secret = keys.get(access_key)
    if secret is None:
        raise provider_error(FAILED, f"Authentication failed: access key {access_key!r} (the token's iss) is not one "
                                    "this server knows.")
    try:
        jwt.decode(token, secret, algorithms=[ALGORITHM], options=_VERIFY_SIGNATURE_ONLY)
    except jwt.InvalidSignatureError:
        raise provider_error(FAILED, "Authentication failed: the token's signature does not verify with the secret "
                                    f"key of access key {access_key!r}.") from None
    except jwt.InvalidTokenError as exc:
        raise provider_error(INVALID, f"Authorization is invalid: {exc}.") from None


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not _is_time(exp):
        raise provider_error(INVALID, "Authorization is invalid: the token needs exp, a number of seconds since the "
                                     "epoch (Kling's clients set it 1800 s ahead).")
    if nbf is not None and not _is_time(nbf):
        raise provider_error(INVALID, "Authorization is invalid: the token's nbf must be a number of seconds since "
                                     "the epoch.")
    if exp + CLOCK_SKEW_SECONDS < now:
        raise provider_error(EXPIRED, f"Authorization has expired: the token's exp was {now - exp:.0f} s ago; sign "
                                     "a new one.")
    if _is_time(nbf) and nbf - CLOCK_SKEW_SECONDS > now:
        raise provider_error(NOT_YET_VALID, f"Authorization is not yet valid: the token's nbf is {nbf - now:.0f} s "
                                           "from now.")


def _is_time(value: Any) -> TypeGuard[float]:
    """A number a time can be: not a boolean, NaN or infinity, nor an integer too large for a float (JSON's
    numbers are unbounded, and comparing one with a float would not fail, but formatting it would)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < LATEST_TIME
