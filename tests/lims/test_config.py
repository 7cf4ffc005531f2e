"""Configuration layering and the refusal to run without a secret key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lims import create_app
from lims.config import ConfigError

PROJECT = Path(__file__).resolve().parents[2]
LIMS = str(Path(sys.executable).parent / "lims")


def run_lims(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``lims`` entry point, as a second terminal runs it: nothing exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    return subprocess.run([LIMS, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def write_instance_config(folder: Path, text: str) -> Path:
    (folder / "instance").mkdir()
    path = folder / "instance" / "lims.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_refuses_to_start_without_secret_key_in_production(monkeypatch, tmp_path):
    monkeypatch.delenv("LIMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("LIMS_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})


def test_testing_app_gets_a_throwaway_key(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert len(app.config["SECRET_KEY"]) >= 32


def test_file_then_environment_then_mapping(monkeypatch, tmp_path):
    config_file = tmp_path / "lims.toml"
    config_file.write_text('SECRET_KEY = "from-file"\nPAGE_SIZE = 20\nLAB_NAME = "File lab"\n',
                           encoding="utf-8")
    monkeypatch.setenv("LIMS_CONFIG", str(config_file))
    monkeypatch.setenv("LIMS_PAGE_SIZE", "30")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "LAB_NAME": "Test"})
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["PAGE_SIZE"] == 30  # environment beats the file
    assert app.config["LAB_NAME"] == "Test"  # the mapping beats both


def test_missing_config_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("LIMS_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        create_app({"TESTING": True})


def test_invalid_page_size(monkeypatch, tmp_path):
    monkeypatch.delenv("LIMS_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="PAGE_SIZE"):
        create_app({"TESTING": True, "PAGE_SIZE": 0,
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})


def test_database_url_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LIMS_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("LIMS_DATABASE_URL", url)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_ENGINES"]["default"]["url"] == url


def test_lims_command_reads_instance_config_without_lims_config(tmp_path):
    """What ``make run`` leaves (instance/lims.toml with a secret key) is enough for every
    command in a second terminal; the SQLite default lands in that instance folder."""
    write_instance_config(tmp_path, 'SECRET_KEY = "from-the-instance-folder"\n')
    done = run_lims(tmp_path, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    database = tmp_path / "instance" / "lims.sqlite"
    assert f"sqlite:///{database}" in done.stdout
    assert database.is_file()


def test_lims_command_without_secret_key_is_one_clear_line(tmp_path):
    write_instance_config(tmp_path, f'DATABASE_URL = "sqlite:///{tmp_path / "x.sqlite"}"\n')
    done = run_lims(tmp_path, "db", "upgrade")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: SECRET_KEY is not set"), done.stderr
    assert not (tmp_path / "x.sqlite").exists()


def test_broken_instance_config_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("LIMS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    write_instance_config(tmp_path, "SECRET_KEY = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        create_app()


def test_apps_built_from_a_test_mapping_ignore_the_instance_config(monkeypatch, tmp_path):
    monkeypatch.delenv("LIMS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    write_instance_config(tmp_path, 'SECRET_KEY = "demo"\nPAGE_SIZE = 7\n')
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert app.config["PAGE_SIZE"] == 50
    assert app.config["SECRET_KEY"] != "demo"
