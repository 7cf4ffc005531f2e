"""Configuration: defaults here, then a TOML file, then ``LIMS_*`` environment variables
(``LIMS_DATABASE_URL``, ``LIMS_SECRET_KEY`` …), then a test mapping.

The TOML file is the one named by ``LIMS_CONFIG``; without it, ``lims.toml`` in the instance
folder, so that every ``lims`` command run in a checkout after ``make run`` (which writes
``instance/lims.toml``) finds the demo's secret key and database without exporting anything."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask


class ConfigError(RuntimeError):
    pass


#: The configuration file looked for in the instance folder when ``LIMS_CONFIG`` is not set.
INSTANCE_CONFIG = "lims.toml"


DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite file under the instance folder
    "SECRET_KEY": None,
    # The lab works in Russian and Kazakh: Russian is the language of a browser that asks for
    # none of these (and of CLI output and background jobs).
    "LANGUAGES": ["ru", "kk", "en"],
    "BABEL_DEFAULT_LOCALE": "ru",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Almaty",
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_MINUTES": 15,
    "PAGE_SIZE": 50,
    # A list counts its rows exactly up to this many, then says "more than …": an exact count
    # of a million rows takes longer than a page may (exports always count exactly).
    "LIST_COUNT_LIMIT": 10_000,
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    "INTAKE_MAX_ROWS": 50_000,
    "URINE_MIN_VOLUME_ML": "0.8",
    "SESSION_COOKIE_HTTPONLY": True,
    # None: Secure (sent over HTTPS only) unless testing or debugging; the demo's
    # instance/lims.toml says false, since `make run` serves plain http on 127.0.0.1.
    # REMEMBER_COOKIE_SECURE follows it unless set.
    "SESSION_COOKIE_SECURE": None,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # "Keep me logged in" lasts this many days (a logout, lock or role change ends it sooner).
    "REMEMBER_DAYS": 14,
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_I18N_ENABLED": True,  # WTForms' own messages ("This field is required.") in ru/kk
    "LAB_NAME": "Reference Laboratory for Iodine Deficiency Disorders",
    # Report workers: a building worker beats every REPORT_HEARTBEAT_SECONDS; a running job with
    # no beat for REPORT_TAKEOVER_SECONDS is taken over by another worker, at most
    # REPORT_MAX_ATTEMPTS claims in all, then marked failed.
    "REPORT_HEARTBEAT_SECONDS": 5,
    "REPORT_TAKEOVER_SECONDS": 30,
    "REPORT_MAX_ATTEMPTS": 3,
    # Backups (lims backup): BACKUP_DIR (None: "backups" in the instance folder; better a second
    # disk or a mounted share), the instance's name in the file names, how many daily, weekly and
    # monthly backups are kept, the hour of the scheduled one (lab time). Encrypted when
    # BACKUP_PASSPHRASE or BACKUP_KEY_FILE (a file whose bytes are the secret) is set.
    "BACKUP_DIR": None,
    "BACKUP_INSTANCE": "lims",
    "BACKUP_KEEP_DAILY": 7,
    "BACKUP_KEEP_WEEKLY": 4,
    "BACKUP_KEEP_MONTHLY": 12,
    "BACKUP_HOUR": 2,
    "BACKUP_PASSPHRASE": None,
    "BACKUP_KEY_FILE": None,
    # The report worker seals committed audit events this often (seconds).
    "AUDIT_SEAL_SECONDS": 5,
    # Login throttle, on top of the per-account lockout (LOGIN_MAX_FAILURES): at most this many
    # failed logins from one address, and for one username (known or not), within
    # LOGIN_THROTTLE_MINUTES; beyond it, logins from there or for that name are refused unchecked.
    "LOGIN_THROTTLE_MINUTES": 15,
    # Reverse proxies in front that set X-Forwarded-For/-Proto (0: the app is reached directly).
    "PROXY_HOPS": 0,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
    "LOGIN_MAX_FAILURES_PER_USERNAME": 10,
    # Instrument drivers (lims.equipment.queries): a driver whose last heartbeat is older than
    # its limit (minutes; per instrument code in INSTRUMENT_SILENT_LIMITS) shows as silent, and
    # raises a dashboard alert during working hours (lab time zone, ISO weekdays 1 = Monday);
    # its spool counts as backing up when the oldest unsent item waits INSTRUMENT_BACKLOG_MINUTES.
    "INSTRUMENT_SILENT_MINUTES": 10,
    "INSTRUMENT_SILENT_LIMITS": {},
    "INSTRUMENT_BACKLOG_MINUTES": 5,
    "WORKING_HOURS": "08:00-18:00",
    "WORKING_DAYS": [1, 2, 3, 4, 5],
}


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    app.config.update(DEFAULTS)
    config_file = os.environ.get("LIMS_CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"LIMS_CONFIG names {config_file}, which is not a file")
    else:
        path = instance_config(app) if test_config is None else None
    if path is not None:
        try:
            app.config.from_file(str(path.resolve()), load=tomllib.load, text=False)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from error
    app.config.from_prefixed_env("LIMS")
    if test_config is not None:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'lims.sqlite'}"
    app.config["SQLALCHEMY_ENGINES"] = {"default": database_engine_options(app.config["DATABASE_URL"])}
    validate_config(app)


def instance_config(app: Flask) -> Path | None:
    """The instance folder's ``lims.toml``, making its folder the app's instance folder.

    Looked for first in ``instance/`` of the current directory (a checkout, where ``make run``
    writes it and where the README's commands run), then in Flask's own instance folder (beside
    the package in a checkout, ``<prefix>/var/lims-instance`` for an installed one). Apps built
    from a test mapping never read it: tests must not depend on a developer's demo file.
    """
    for folder in (Path.cwd() / "instance", Path(app.instance_path)):
        if (folder / INSTANCE_CONFIG).is_file():
            app.instance_path = str(folder.resolve())
            return folder / INSTANCE_CONFIG
    return None


def database_engine_options(url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"url": url}
    if url.startswith("postgresql"):
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
    return options


def validate_config(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        if app.testing or app.debug:
            app.config["SECRET_KEY"] = os.urandom(32).hex()
        else:
            raise ConfigError(
                "SECRET_KEY is not set: put SECRET_KEY in the file named by LIMS_CONFIG or in"
                f" {Path(app.instance_path) / INSTANCE_CONFIG}, or set LIMS_SECRET_KEY"
                " (the app refuses to start without one outside debug and testing;"
                " 'make run' writes one for the demo)"
            )
    languages = app.config["LANGUAGES"]
    if app.config["BABEL_DEFAULT_LOCALE"] not in languages:
        raise ConfigError("BABEL_DEFAULT_LOCALE must be one of LANGUAGES")
    for key in ("LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT_MINUTES", "PAGE_SIZE", "INTAKE_MAX_ROWS",
                "REPORT_MAX_ATTEMPTS", "REMEMBER_DAYS", "BACKUP_KEEP_DAILY", "BACKUP_KEEP_WEEKLY",
                "BACKUP_KEEP_MONTHLY", "LOGIN_THROTTLE_MINUTES", "LOGIN_MAX_FAILURES_PER_ADDRESS",
                "LOGIN_MAX_FAILURES_PER_USERNAME", "LIST_COUNT_LIMIT"):
        if not isinstance(app.config[key], int) or app.config[key] <= 0:
            raise ConfigError(f"{key} must be a positive whole number")
    beat, takeover = app.config["REPORT_HEARTBEAT_SECONDS"], app.config["REPORT_TAKEOVER_SECONDS"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 86400
               for v in (beat, takeover)):
        raise ConfigError("REPORT_HEARTBEAT_SECONDS and REPORT_TAKEOVER_SECONDS must be positive"
                          " numbers of seconds")
    if takeover < 3 * beat:
        # a worker that is merely slow for one beat must not lose its job
        raise ConfigError("REPORT_TAKEOVER_SECONDS must be at least three heartbeats"
                          " (3 × REPORT_HEARTBEAT_SECONDS)")
    hour = app.config["BACKUP_HOUR"]
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise ConfigError("BACKUP_HOUR must be a whole hour from 0 to 23 (laboratory time)")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(app.config["BACKUP_INSTANCE"])):
        raise ConfigError("BACKUP_INSTANCE may hold only letters, digits, '-' and '_' (it names"
                          " the backup files)")
    seal = app.config["AUDIT_SEAL_SECONDS"]
    if not isinstance(seal, int | float) or isinstance(seal, bool) or not 0 < seal < 3600:
        raise ConfigError("AUDIT_SEAL_SECONDS must be a positive number of seconds")
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=app.config["REMEMBER_DAYS"])
    hops = app.config["PROXY_HOPS"]
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 5:
        raise ConfigError("PROXY_HOPS must be a whole number from 0 to 5")
    if app.config["SESSION_COOKIE_SECURE"] is None:
        # Secure outside tests and debugging: the cookies then never travel over plain http.
        app.config["SESSION_COOKIE_SECURE"] = not (app.testing or app.debug)
    if not isinstance(app.config["SESSION_COOKIE_SECURE"], bool):
        raise ConfigError("SESSION_COOKIE_SECURE must be true or false")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])
