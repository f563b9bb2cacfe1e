"""The dashboard's static files: our own CSS and JavaScript, and htmx, which the build puts in
`static/vendor/` from the npm registry (`scripts/build_assets.py`, pinned with its integrity in
`assets/package-lock.json`; never committed). Without it the pages still work as plain forms."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
HTMX = "vendor/htmx.min.js"


@cache
def _fingerprint(name: str) -> str | None:
    path = STATIC_DIR / name
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str | None:
    """`/static/<name>?v=<content hash>` (cached for good by the browser), None when absent."""
    fingerprint = _fingerprint(name)
    return None if fingerprint is None else f"/static/{name}?v={fingerprint}"
