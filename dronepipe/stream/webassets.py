"""The command-centre page's files, read once from the package into memory.

The server never opens a file because of a request: ``load_assets`` reads the fixed
list ``ASSETS`` from the package (``importlib.resources``, so it works from a wheel or
a zip too) when the server starts, and requests are answered from the bytes held here.
``index.html`` refers to its script and style sheet with the placeholder
``__TOKEN_QUERY__``, which ``page_html`` replaces by the request's ``?token=...``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote

ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
TOKEN_PLACEHOLDER = b"__TOKEN_QUERY__"


@dataclass(frozen=True)
class Asset:
    """A file of the page: its bytes, content type and ETag (quoted)."""

    body: bytes
    content_type: str
    etag: str


def load_assets(package: str = "dronepipe.stream", folder: str = "web") -> dict[str, Asset]:
    """Every file of ``ASSETS`` from the package's data folder, by name."""
    root = resources.files(package).joinpath(folder)
    out = {}
    for name, ctype in ASSETS.items():
        body = root.joinpath(name).read_bytes()
        etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        out[name] = Asset(body, ctype, etag)
    return out


def page_html(index: Asset, token: str | None) -> bytes:
    """``index.html`` with its asset links carrying the token (if any)."""
    query = b"" if token is None else b"?token=" + quote(token, safe="").encode("ascii")
    return index.body.replace(TOKEN_PLACEHOLDER, query)
