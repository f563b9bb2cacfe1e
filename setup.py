"""Only a build hook; the project is described in pyproject.toml. Building the package (wheel or
sdist) first fetches the dashboard's pinned third-party browser files (scripts/build_assets.py)."""

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithAssets(build_py):
    def run(self) -> None:
        script = Path(__file__).parent / "scripts" / "build_assets.py"
        if script.exists():  # absent when building from an sdist that already carries them
            runpy.run_path(str(script), run_name="__main__")
        super().run()


setup(cmdclass={"build_py": BuildWithAssets})
