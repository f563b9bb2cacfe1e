"""Make Debian's Chromium available for the browser tests: when `chromium` is not on PATH and
we are root, install the `chromium` package with apt-get (as with_postgres.py does for
PostgreSQL). Prints the Chromium and Playwright versions the tests will use. Never runs
`playwright install` (it downloads browsers, which this machine cannot)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version


def main() -> int:
    if shutil.which("chromium") is None and os.geteuid() == 0:
        print("chromium not found; installing it with apt-get", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found and not root: the browser tests will be skipped", flush=True)
        return 0
    shown = subprocess.run([chromium, "--version"], capture_output=True, text=True, check=False)
    print(f"browser tests: {shown.stdout.strip()} with playwright {version('playwright')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
