"""Configuration layering and the refusal to run without a secret key."""

from __future__ import annotations

import pytest

from lims import create_app
from lims.config import ConfigError


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
