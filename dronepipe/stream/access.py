"""Who may talk to the live server: the bind address rule, the token, the Host header.

- Bound to a loopback address, the server needs no token; any other address (a LAN
  interface, 0.0.0.0) requires one, or the server refuses to start.
- With a token, every request must carry it: ``Authorization: Bearer TOKEN`` or the
  query parameter ``token=TOKEN`` (the page passes it on to its own requests, since
  ``<img>`` and ``EventSource`` cannot set headers). Compared in constant time.
- Without a token (loopback), the ``Host`` header must name a loopback host, so that a
  web page elsewhere cannot reach the server through DNS rebinding.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from urllib.parse import parse_qs

from dronepipe.errors import DronepipeError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
MIN_TOKEN_CHARS = 12


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback address without a token, or with a short one."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise DronepipeError(f"the access token must have at least {MIN_TOKEN_CHARS} characters")
    if token is None and not is_loopback(host):
        raise DronepipeError(f"serving on {host} (not loopback) requires --token; "
                             "without one the server binds to 127.0.0.1 only")


def request_token(headers: Mapping[str, str], query: str) -> str | None:
    """The token a request carries (Authorization: Bearer first, then ``?token=``)."""
    auth = headers.get("Authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(query, keep_blank_values=True).get("token")
    return values[-1] if values else None


def token_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the request's token with the server's."""
    return given is not None and hmac.compare_digest(expected.encode("utf-8"),
                                                     given.encode("utf-8"))


def host_header_ok(host_header: str | None) -> bool:
    """True where the Host header names a loopback host (any port)."""
    if not host_header:
        return False
    host = host_header.strip()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host)
