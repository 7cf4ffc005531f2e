"""A hostile or slow upload stalls nobody: while one user uploads a workbook, another logs in and
registers a sample within 2 s, and the workbook is refused by its limits with nothing stored.

Each request runs in its own thread with its own connection on a committed database, as under
gunicorn. On SQLite the point is the write lock: it is taken at the first write, after the file
has been read and checked, not when the request's first statement runs."""

from __future__ import annotations

import io
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lims.extensions import db
from lims.samples import intake_views
from lims.samples.models import IntakeBatch, Sample
from tests.conftest import make_app
from tests.instruments.workbooks import xlsx_with_entity, zip_bomb_xlsx
from tests.lims.samples.test_accession_concurrency import set_up
from tests.lims.samples.test_intake_views import urine_form

PASSWORD = "correct-horse-9"  # set_up's user "tech"


@pytest.fixture()
def lab(new_database: Any) -> Any:
    app = make_app(new_database())
    _user_id, cluster_id = set_up(app)
    from lims.monitoring.models import Cluster

    with app.app_context():
        found = db.session.get(Cluster, cluster_id)
        cluster = SimpleNamespace(round_id=found.round_id, code=found.code)  # type: ignore[union-attr]
    yield SimpleNamespace(app=app, cluster=cluster)
    with app.app_context():
        db.engine.dispose()


def logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": "tech", "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def upload_while_registering(lab: Any, workbook: bytes, *, start_after: float) -> dict[str, Any]:
    """Upload ``workbook`` in one thread; ``start_after`` seconds later, in another, log in and
    register a urine sample. The responses and how long each took."""
    uploader = logged_in(lab.app)
    result: dict[str, Any] = {}

    def upload() -> None:
        started = time.monotonic()
        result["upload"] = uploader.post("/samples/batch", content_type="multipart/form-data", data={
            "round_id": str(lab.cluster.round_id), "kind": "urine",
            "file": (io.BytesIO(workbook), "field-week-20.xlsx")})
        result["upload_seconds"] = time.monotonic() - started

    def register() -> None:
        time.sleep(start_after)
        started = time.monotonic()
        other = logged_in(lab.app)
        result["register"] = other.post("/samples/register/urine", data=urine_form(lab.cluster))
        result["register_seconds"] = time.monotonic() - started

    threads = [threading.Thread(target=upload), threading.Thread(target=register)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return result


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context():
        batches = db.session.scalar(sa.select(sa.func.count()).select_from(IntakeBatch))
        samples = db.session.scalar(sa.select(sa.func.count()).select_from(Sample))
        return batches or 0, samples or 0


def test_zip_bomb_is_refused_at_once_while_others_register(lab: Any) -> None:
    bomb = zip_bomb_xlsx(77 * 2**20)
    assert len(bomb) < 1024 * 1024  # small on the wire
    result = upload_while_registering(lab, bomb, start_after=0.0)
    assert result["register"].status_code == 302, result["register"].get_data(as_text=True)
    assert result["register_seconds"] < 2.0
    refused = result["upload"]
    assert refused.status_code == 422
    assert "the file unpacks to more than 48 MiB" in refused.get_data(as_text=True)
    assert result["upload_seconds"] < 1.0
    assert stored(lab.app) == (0, 1)  # only the other user's sample


def test_a_slow_upload_holds_no_lock(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """However long reading a file takes, it happens before the write transaction."""
    real_parse = intake_views.parse_file

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        time.sleep(3.0)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(intake_views, "parse_file", slow_parse)
    rows = zip_bomb_xlsx(2 * 2**20)  # within the size limit; far over the row limit
    lab.app.config["INTAKE_MAX_ROWS"] = 1000
    result = upload_while_registering(lab, rows, start_after=0.5)
    assert result["register"].status_code == 302
    assert result["register_seconds"] < 2.0
    assert result["upload"].status_code == 422 and result["upload_seconds"] >= 3.0
    assert "the file has more than 1000 rows" in result["upload"].get_data(as_text=True)
    assert stored(lab.app) == (0, 1)


def test_xml_entities_are_refused_not_a_500(lab: Any) -> None:
    hostile = xlsx_with_entity([["cluster_code", "participant_code"]])
    client = logged_in(lab.app)
    response = client.post("/samples/batch", content_type="multipart/form-data", data={
        "round_id": str(lab.cluster.round_id), "kind": "urine",
        "file": (io.BytesIO(hostile), "entities.xlsx")})
    assert response.status_code == 422
    assert "the file declares XML entities" in response.get_data(as_text=True)
