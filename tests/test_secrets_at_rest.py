"""The development secret lives outside the database's folder, and both it and the SQLite file
are readable by their owner only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ordergate import migrate
from ordergate.config import Settings
from ordergate.db import make_engine

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the database, and a separate config home."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ORDERGATE_SECRET_KEY_FILE", raising=False)
    monkeypatch.delenv("ORDERGATE_SECRET_KEY", raising=False)
    return work


def test_the_secret_is_generated_in_the_config_dir_with_0600(workdir: Path) -> None:
    settings = Settings(env="development", database_url="sqlite:///./ordergate.db")
    key = settings.resolved_secret_key()
    secret = workdir.parent / "config" / "ordergate" / "secret"
    assert secret.read_text().strip() == key
    assert mode(secret) == 0o600
    assert mode(secret.parent) == 0o700
    assert list(workdir.iterdir()) == []
    assert Settings(env="development").resolved_secret_key() == key


def test_without_xdg_config_home_the_secret_goes_to_dot_config(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(workdir.parent / "home"))
    Settings(env="development").resolved_secret_key()
    assert mode(workdir.parent / "home" / ".config" / "ordergate" / "secret") == 0o600


def test_an_existing_secret_beside_the_database_keeps_working(workdir: Path) -> None:
    legacy = workdir / ".ordergate-secret"
    legacy.write_text("an-existing-development-secret-key\n")
    assert Settings(env="development").resolved_secret_key() == (
        "an-existing-development-secret-key"
    )
    assert not (workdir.parent / "config").exists()


def test_an_explicit_secret_file_setting_wins(workdir: Path) -> None:
    (workdir / ".ordergate-secret").write_text("the-legacy-secret-key-is-ignored\n")
    chosen = workdir.parent / "elsewhere" / "key"
    key = Settings(env="development", secret_key_file=chosen).resolved_secret_key()
    assert chosen.read_text().strip() == key
    assert mode(chosen) == 0o600


def test_a_new_sqlite_database_file_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    os.umask(old := os.umask(0o022))  # read the umask: the test must not depend on a lax one
    assert old & 0o077 != 0o077
    migrate.upgrade(f"sqlite:///{path}")
    assert mode(path) == 0o600
    for companion in (tmp_path / "fresh.db-wal", tmp_path / "fresh.db-shm"):
        if companion.exists():
            assert mode(companion) == 0o600, companion


def test_an_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():
        pass
    engine.dispose()
    assert mode(path) == 0o640


def test_db_upgrade_from_the_cli_creates_both_files_private(tmp_path: Path) -> None:
    work, config = tmp_path / "work", tmp_path / "config"
    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ORDERGATE_") and key != "XDG_CONFIG_HOME"
    }
    env["XDG_CONFIG_HOME"] = str(config)
    for command in (
        ["db", "upgrade"],
        ["vendors", "create", "--code", "shop", "--name", "Shop"],
        ["letzshop", "set-credentials", "--vendor", "shop", "--api-key", "sandbox-key-123456"],
    ):
        subprocess.run([ORDERGATE, *command], cwd=work, env=env, check=True, timeout=120)
    assert mode(work / "ordergate.db") == 0o600
    assert mode(config / "ordergate" / "secret") == 0o600
    assert sorted(p.name for p in work.iterdir() if not p.name.startswith("ordergate.db")) == []
