"""Requests the fake itself makes to the outside world: fetching ``image`` URLs, and posting webhook deliveries.

A URL from a client is a request the fake makes on the client's behalf, from inside the operator's network,
so what is checked must be exactly what is used:

* The URL is parsed with urllib3's parser and must read the same to :func:`urllib.parse.urlsplit`. Where
  parsers could disagree (a backslash before an ``@``, user names, odd ports, hosts such as ``2130706433``
  or ``127.1`` that resolvers read as addresses) the URL is refused, never guessed at.
* The host must be on the policy's allow-list (exact names: a list reads as exactly what is reachable), and
  every address it resolves to must be public unless the policy's networks name it, so an allowed name that
  points into the operator's network is not a way in; a test's own image server lists ``127.0.0.1/32``.
* The connection goes to an address that was checked, looked up once: no second lookup for a DNS answer to
  change. The name is kept for the Host header and for TLS, so certificates are verified against the name.
* Redirects are not followed: any answer but 200 is a failure.
* One deadline covers the lookup, the connection, the TLS handshake, the headers and the body. Per-read
  timeouts cannot give one (a server trickling a byte a second answers every read in time), so the
  connection is shut down at the deadline whatever it is waiting for, and the body is cut off past the cap.

Every network-level failure of a fetch (no such name, refused, reset, timed out, a non-200 answer, a bad
certificate) raises :class:`Unreachable` with one message, so a client cannot use the fake to map what listens
where; the cause goes to the log for the operator. A POST's failure names its cause: it goes into a delivery
record, which only the admin API shows. Only policy refusals say why: they reveal nothing the configuration
does not. Nothing here knows Flask: the caller turns these errors into its own.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import queue
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from videomock.core.waits import waiting

log = logging.getLogger("videomock")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: One getaddrinfo answer: family, type, protocol, canonical name, socket address.
_Address = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f\\]")
_AUTHORITY = re.compile(r"(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>.*))?", re.DOTALL)
_PORT = re.compile(r"[1-9][0-9]{0,4}")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
#: A last label like these makes resolvers read the whole name as an IPv4 address (``0x7f.1``, ``2130706433``).
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_CHUNK = 64 * 1024


class OutboundError(Exception):
    """A user-facing reason an outbound request was not made or did not succeed."""


class Refused(OutboundError):
    """The URL, or an address its host resolves to, is outside the policy; the message says which rule."""


class Unreachable(OutboundError):
    """The exchange failed at the network or HTTP level; the message is the same whatever the cause."""


class TooLarge(OutboundError):
    """The answer is bigger than the policy allows; ``size`` is what was announced, or read before stopping."""

    def __init__(self, policy: Policy, size: int, *, at_least: bool = False) -> None:
        super().__init__(f"{policy.label} answered {'at least ' if at_least else ''}{size:,} bytes; "
                         f"at most {policy.max_bytes:,} allowed")
        self.size = size
        self.at_least = at_least


@dataclass(frozen=True)
class Policy:
    """What one kind of outbound request may reach and spend. ``label`` names the URL in messages
    ("image URL"); ``setting`` is the config table holding the policy, so a refusal says what to change."""

    label: str
    setting: str
    allow_hosts: tuple[str, ...]
    allow_networks: tuple[IPNetwork, ...]
    timeout: float
    max_bytes: int

    @property
    def unreachable(self) -> str:
        return (f"{self.label} could not be fetched from an allowed host within {self.timeout:g} s; the host must "
                "answer HTTP 200 (redirects are not followed, https certificates are verified)")


@dataclass(frozen=True)
class Target:
    """A checked URL: what is looked up, connected to and asked for."""

    scheme: str
    host: str  # lower case; an IPv6 literal without its brackets
    port: int
    path: str  # the request target: path and query, percent-encoded, without the fragment

    @property
    def authority(self) -> str:
        """The Host header: the name from the URL, whichever address is connected to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks; host bits are ignored ("10.0.0.1/8" is 10.0.0.0/8), as a user means them."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network; write e.g. 127.0.0.1/32, 10.0.0.0/8 "
                             "or ::1/128") from None
    return tuple(networks)


def check_hosts(entries: Iterable[str]) -> None:
    """Allow-list entries must be hosts a URL can name, in the form :func:`check_url` takes: an entry with a
    scheme, port, path or wildcard would match nothing and leave every fetch refused."""
    for entry in entries:
        try:
            _check_host(f"[{entry}]" if ":" in entry and not entry.startswith("[") else entry, "")
        except Refused:
            raise ValueError(f"{entry!r} is not a host a URL can name; list bare names or addresses such as "
                             "cdn.example.com, 127.0.0.1 or ::1 (no scheme, port, path or wildcard)") from None


def check_url(url: str, policy: Policy) -> Target:
    """The URL as it will be connected to, if it is plain enough for every parser to agree on and its host
    is allowed; otherwise :class:`Refused`, saying what is wrong. Nothing is looked up yet."""
    label = policy.label
    unsafe = _UNSAFE_CHARACTER.search(url)
    if unsafe:
        what = "a backslash" if unsafe[0] == "\\" else "whitespace or a control character"
        raise Refused(f"{label} contains {what}; percent-encode it")
    try:
        split = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for an unclosed '['
        raise Refused(f"{label} is malformed ({exc}); use a full http(s) URL") from None
    scheme = split.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise Refused(f"{label} scheme {split.scheme!r} is not supported; use http or https")
    if "@" in split.netloc:
        raise Refused(f"{label} must not contain a user name or password (the part before '@' in the host)")
    if not split.netloc.isascii():
        raise Refused(f"{label} host must be ASCII; write an international name in its IDNA form (xn--...)")
    # Both parsers forgive an empty port, leading zeros and more; the text itself must be plain.
    authority = _AUTHORITY.fullmatch(split.netloc)
    port_text = authority["port"] if authority else None
    if port_text is not None and not (_PORT.fullmatch(port_text) and int(port_text) <= 65535):
        raise Refused(f"{label} port {port_text!r} is not allowed; give a number from 1 to 65535 without "
                      "leading zeros, or no port")
    from urllib3.util import parse_url  # not at import: urllib3 is 4 MiB a worker that may check no URL

    try:
        parsed = parse_url(url)
    except ValueError as exc:
        raise Refused(f"{label} is malformed ({exc}); use a full http(s) URL") from None
    host = _check_host(parsed.host or "", label)
    # What is connected to and asked for is parse_url's reading; a URL urlsplit reads otherwise is refused.
    if (parsed.scheme, host, parsed.port) != (scheme, split.hostname, split.port):
        raise Refused(f"{label} reads differently to different URL parsers; write it as http(s)://host[:port]/path")
    if host not in {_host_key(allowed) for allowed in policy.allow_hosts}:
        raise Refused(f"{label} host {host!r} is not allowed; allowed hosts ({policy.setting}.allow_hosts): "
                      f"{', '.join(policy.allow_hosts) or '(none)'}")
    return Target(scheme, host, parsed.port or _DEFAULT_PORTS[scheme], parsed.request_uri)


def _check_host(text: str, label: str) -> str:
    """A DNS name, a dotted-quad IPv4 address or a bracketed IPv6 address (no zone), lower case; an IPv6
    address is returned without its brackets."""
    host = text.lower()
    if not host:
        raise Refused(f"{label} has no host; use a full http(s) URL")
    if host.startswith("[") and host.endswith("]"):
        if "%" not in host and _is_address(host[1:-1], ipaddress.IPv6Address):
            return host[1:-1]
    elif _DNS_NAME.fullmatch(host) and (not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1])
                                        or _is_address(host, ipaddress.IPv4Address)):
        return host
    raise Refused(f"{label} host {text!r} is not a DNS name or an IP address in canonical form; write IPv4 "
                  "addresses as four decimal numbers (a.b.c.d) and IPv6 addresses in brackets")


def _is_address(text: str, kind: type[IPAddress]) -> bool:
    """Whether ``text`` is the address in its usual spelling (IPv4Address refuses leading zeros and '127.1')."""
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _host_key(host: str) -> str:
    return host.lower().removeprefix("[").removesuffix("]")


def fetch(url: str, policy: Policy) -> bytes:
    """GET ``url`` under ``policy``: the body of its 200 answer. Refused, TooLarge or Unreachable otherwise."""
    target = check_url(url, policy)
    deadline = _Deadline(policy.timeout)
    try:
        with _connected(target, policy, deadline) as connection:
            return _get(connection, target, policy, deadline)
    except OutboundError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.info("%s from %s could not be fetched: %s", policy.label, target.authority, str(exc) or type(exc).__name__)
        raise Unreachable(policy.unreachable) from None


def post(url: str, body: bytes, headers: Mapping[str, str], policy: Policy, *, send: int | None = None) -> int:
    """POST ``body`` to ``url`` under ``policy``, checked, resolved and connected to exactly as a fetch is; returns
    the answer's status, whatever it is (a redirect is an answer too, never followed). With ``send``, only that
    many bytes of the body go out after headers that announce all of it, and the connection is closed: there
    is no answer, so Unreachable. Refused or Unreachable (naming the cause) otherwise."""
    target = check_url(url, policy)
    deadline = _Deadline(policy.timeout)
    try:
        with _connected(target, policy, deadline) as connection:
            return _post(connection, target, body, headers, policy, deadline, send)
    except OutboundError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        cause = "timed out" if deadline.cut.is_set() or isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        log.info("%s to %s failed: %s", policy.label, target.authority, cause)
        raise Unreachable(f"{policy.label} to {target.authority} failed: {cause}") from None


@contextmanager
def _connected(target: Target, policy: Policy, deadline: _Deadline) -> Iterator[http.client.HTTPConnection]:
    """A connection to ``target``: looked up once, every address checked against the policy, connected to a
    checked one; the request's turn goes to others meanwhile (it waits, it does not compute)."""
    with waiting():
        addresses = _resolve(target, deadline)
        _check_addresses(target, addresses, policy)
        with _connection(target, addresses, deadline) as connection:
            yield connection


def _post(connection: http.client.HTTPConnection, target: Target, body: bytes, headers: Mapping[str, str],
          policy: Policy, deadline: _Deadline, send: int | None) -> int:
    connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
    for name, value in {"Host": target.authority, "User-Agent": "videomock", **headers,
                        "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    if send is not None:
        connection.send(body[:send])
        raise ConnectionAbortedError(f"sent {send} of the body's {len(body)} bytes, then closed the connection")
    connection.send(body)
    response = connection.getresponse()
    read = 0
    while read <= policy.max_bytes:   # the answer is read (so the connection ends cleanly) but not kept
        chunk = response.read1(_CHUNK)
        deadline.left()
        if not chunk:
            break
        read += len(chunk)
    return response.status


class _Deadline:
    """The one moment the whole exchange must be over by. ``cut`` is set when the connection is shut down
    at it, so a read it ended (which may look like a short but complete answer) is known to have failed,
    whatever the clocks say."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.cut = threading.Event()

    def left(self) -> float:
        """Seconds to go; TimeoutError once the deadline has passed."""
        left = self.at - time.monotonic()
        if left <= 0 or self.cut.is_set():
            raise TimeoutError("the deadline passed")
        return left


def _resolve(target: Target, deadline: _Deadline) -> Sequence[_Address]:
    """getaddrinfo has no timeout of its own, so it runs in a thread of its own; a lookup still running at
    the deadline is left to finish there, and its answer is dropped."""
    answers: queue.SimpleQueue[Sequence[_Address] | OSError] = queue.SimpleQueue()

    def look_up() -> None:
        try:
            answers.put(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except OSError as exc:
            answers.put(exc)

    threading.Thread(target=look_up, name="videomock-lookup", daemon=True).start()
    try:
        answer = answers.get(timeout=deadline.left())
    except queue.Empty:
        raise TimeoutError(f"looking up {target.host} took too long") from None
    if isinstance(answer, OSError):
        raise answer
    return answer


def _check_addresses(target: Target, addresses: Sequence[_Address], policy: Policy) -> None:
    """Every address must pass, not just the first: the connection may fall back to any of them."""
    for *_, sockaddr in addresses:
        address = _unmapped(ipaddress.ip_address(sockaddr[0]))
        if not _is_public(address) and not any(address in network for network in policy.allow_networks):
            raise Refused(f"{policy.label} host {target.host!r} resolves to {address}, which is not a public "
                          "address; loopback, private, link-local and other non-public addresses are reached only "
                          f"if {policy.setting}.allow_private_networks lists them")


def _unmapped(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is the IPv4 address it carries."""
    return (address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else address


def _is_public(address: IPAddress) -> bool:
    """Globally routable unicast. A 6to4 address (2002::/16) is judged by the IPv4 address it carries too."""
    carried = address.sixtofour if isinstance(address, ipaddress.IPv6Address) else None
    return (address.is_global and not address.is_multicast and not address.is_reserved
            and (carried is None or _is_public(carried)))


@contextmanager
def _connection(target: Target, addresses: Sequence[_Address], deadline: _Deadline) -> Iterator[http.client.HTTPConnection]:
    """An HTTP connection over a socket to a checked address, TLS-wrapped for https, shut at the deadline."""
    sock = _connect(addresses, deadline)
    connection = http.client.HTTPConnection(target.host, target.port)
    try:
        with _shut_at(deadline, sock):
            if target.scheme == "https":
                sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
            connection.sock = sock  # already connected: http.client does not connect (or look up) again
            yield connection
    finally:
        connection.close()
        sock.close()


def _connect(addresses: Sequence[_Address], deadline: _Deadline) -> socket.socket:
    """The first of the checked addresses that accepts, as socket.create_connection would pick, without its
    second lookup."""
    failure: OSError = ConnectionError("no address to connect to")
    for family, kind, protocol, _, sockaddr in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(deadline.left())
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            failure = exc
        else:
            return sock
    raise failure


@contextmanager
def _shut_at(deadline: _Deadline, sock: socket.socket) -> Iterator[None]:
    """Shut the connection down at the deadline, waking whatever read or handshake is waiting on it. The
    TLS layer takes ``sock`` over, so a duplicate of its descriptor is what names the connection here."""
    handle = sock.dup()

    def shut() -> None:
        deadline.cut.set()
        try:
            handle.shutdown(socket.SHUT_RDWR)
        except OSError:  # the peer has closed it already
            pass

    timer = threading.Timer(max(0.0, deadline.at - time.monotonic()), shut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        handle.close()


@cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store, hostname checks on; loading it takes milliseconds, so it is loaded once."""
    return ssl.create_default_context()


def _get(connection: http.client.HTTPConnection, target: Target, policy: Policy, deadline: _Deadline) -> bytes:
    """The body of a 200 answer, read a chunk at a time with the deadline and the cap checked after every read."""
    connection.request("GET", target.path, headers={"Host": target.authority, "User-Agent": "videomock",
                                                    "Accept": "*/*"})
    response = connection.getresponse()
    if response.status != 200:
        raise http.client.HTTPException(f"HTTP {response.status}")
    if response.length is not None and response.length > policy.max_bytes:  # the Content-Length announced
        raise TooLarge(policy, response.length)
    body = bytearray()
    while True:
        chunk = response.read1(_CHUNK)
        deadline.left()  # a read that returned after the deadline (or was cut off by it) fails the fetch
        if not chunk:
            break
        body += chunk
        if len(body) > policy.max_bytes:
            raise TooLarge(policy, len(body), at_least=True)
    if response.length:
        raise http.client.IncompleteRead(bytes(body), response.length)
    return bytes(body)
