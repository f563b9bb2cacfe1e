"""Put the dashboard's third-party browser files in place: `npm ci` in `assets/` (versions and
integrity hashes pinned in assets/package-lock.json; npm refuses a tarball whose hash differs),
then copy the files the pages load into src/ordergate/web/static/vendor/ (git-ignored).

Run by `make install` and by the wheel build (setup.py), so `make run` and `pip install .` both
serve htmx without committing it. Needs Node.js's npm; quiet when everything is up to date.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
VENDOR = ROOT / "src" / "ordergate" / "web" / "static" / "vendor"
# (package, file in the package, name served under /static/vendor/)
FILES = [("htmx.org", "dist/htmx.min.js", "htmx.min.js")]


def _locked_version(package: str) -> str:
    lock = json.loads((ASSETS / "package-lock.json").read_text())
    return str(lock["packages"][f"node_modules/{package}"]["version"])


def _installed_version(package: str) -> str | None:
    manifest = ASSETS / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text()).get("version"))


def _npm_ci() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("build_assets: npm (Node.js) is needed to fetch the dashboard's htmx")
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(command, cwd=ASSETS, check=True)


def build() -> None:
    if any(_installed_version(p) != _locked_version(p) for p, _, _ in FILES):
        _npm_ci()
    VENDOR.mkdir(parents=True, exist_ok=True)
    for package, source, target in FILES:
        source_path = ASSETS / "node_modules" / package / source
        target_path = VENDOR / target
        if not target_path.exists() or target_path.read_bytes() != source_path.read_bytes():
            shutil.copyfile(source_path, target_path)
            print(f"build_assets: {package} {_locked_version(package)} -> {target_path}")


if __name__ == "__main__":
    build()
