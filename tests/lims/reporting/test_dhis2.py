"""`lims report export-dhis2`: the dataValueSets document of an issued report, and its push to a
DHIS2 server — here a real HTTP server on 127.0.0.1 in a thread that checks the payload and
answers with DHIS2-shaped import summaries (a conflict included), a 409, a 500 or nothing."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import undefer

from lims.audit.models import AuditEvent
from lims.cli import main
from lims.extensions import db
from lims.reporting.jobs import REPORT_ENTITY
from lims.reporting.models import ReportJob
from lims.reporting.published import issued_report, report_indicators
from reports.indicators import INDICATOR_CODES
from tests.lims.api.test_open_data import open_app, report_id  # noqa: F401 - the fixture

UID = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")
DATA_VALUE_KEYS = {"dataElement", "period", "orgUnit", "categoryOptionCombo", "value"}


def uid(prefix: str, code: str) -> str:
    return (prefix + re.sub(r"[^A-Za-z0-9]", "", code)).ljust(11, "x")[:11]


def write_mapping(app: Flask, path: Path) -> Path:
    """Every indicator, region and group of the report mapped to a made-up UID."""
    with app.app_context():
        job = issued_report(db.session, report_id(app), ReportJob.xlsx)
        table = report_indicators(db.session, job)
    lines = ['default_category_option_combo = "HllvX50cXC0"', "[data_elements]"]
    lines += [f'{code} = "{uid("De", code)}"' for code in sorted(INDICATOR_CODES)]
    lines += ["[org_units]"]
    lines += [f'"{code}" = "{uid("Ou", code)}"' for code in sorted(set(table["region_code"]))]
    lines += ["[category_option_combos]"]
    lines += [f'"{code}" = "{uid("Co", code)}"' for code in sorted(set(table["group"]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Dhis2Stub(BaseHTTPRequestHandler):
    """Answers each POST with the next scripted status; a 200/409 carries an import summary."""

    # set per server by the fixture (a fresh subclass each time)
    script: ClassVar[list[int]]
    received: ClassVar[list[dict[str, Any]]]
    auth: ClassVar[list[str | None]]

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(body)
        self.auth.append(self.headers.get("Authorization"))
        values = body.get("dataValues", [])
        problems = [v for v in values if not DATA_VALUE_KEYS <= set(v)
                    or not all(UID.fullmatch(v[k]) for k in ("dataElement", "orgUnit",
                                                            "categoryOptionCombo"))
                    or not re.fullmatch(r"-?\d+(\.\d+)?", v["value"])]
        status = 400 if problems or not values else (self.script.pop(0) if self.script else 200)
        if status in (200, 409):
            conflict = values[-1]["orgUnit"]
            answer = {"httpStatus": "OK" if status == 200 else "Conflict", "httpStatusCode": status,
                      "status": "WARNING" if status == 200 else "ERROR",
                      "response": {"responseType": "ImportSummary",
                                   "status": "WARNING" if status == 200 else "ERROR",
                                   "importCount": {"imported": len(values) - 1 if status == 200 else 0,
                                                   "updated": 0,
                                                   "ignored": 1 if status == 200 else len(values),
                                                   "deleted": 0},
                                   "conflicts": [{"object": conflict,
                                                  "value": "Organisation unit not in hierarchy"}]}}
        else:
            answer = {"httpStatus": "Error", "status": "ERROR", "message": "boom"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def dhis2() -> Iterator[tuple[str, type[Dhis2Stub]]]:
    handler = type("Stub", (Dhis2Stub,), {"script": [], "received": [], "auth": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/dataValueSets", handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.entity_type == REPORT_ENTITY,
            AuditEvent.action.in_(["dhis2_pushed", "dhis2_push_failed"])).order_by(AuditEvent.id)))


def frozen(app: Flask) -> tuple[Any, ...]:
    with app.app_context():
        job = db.session.scalar(sa.select(ReportJob).options(
            undefer(ReportJob.pdf), undefer(ReportJob.xlsx)).where(ReportJob.id == report_id(app)))
        assert job is not None
        return job.version, job.status, job.pdf, job.xlsx, job.finished_at


def export(app: Flask, *args: str, env: dict[str, str] | None = None) -> Any:
    return app.test_cli_runner().invoke(main, ["report", "export-dhis2", *args], env=env)


def test_export_writes_data_values_with_the_ci_as_comment(open_app: Flask,  # noqa: F811
                                                          tmp_path: Path) -> None:
    mapping = write_mapping(open_app, tmp_path / "dhis2.toml")
    out = tmp_path / "values.json"
    result = export(open_app, str(report_id(open_app)), "--mapping", str(mapping), "--out", str(out))
    assert result.exit_code == 0, result.output
    values = json.loads(out.read_text(encoding="utf-8"))["dataValues"]
    assert values and all(DATA_VALUE_KEYS <= set(v) for v in values)
    with open_app.app_context():
        table = report_indicators(db.session, issued_report(db.session, report_id(open_app),
                                                            ReportJob.xlsx))
    published = table.dropna(subset=["estimate"])
    assert len(values) == len(published)
    national = published[(published["indicator"] == "uic_median")
                         & (published["region_code"] == "national")].iloc[0]
    sent = next(v for v in values if v["dataElement"] == uid("De", "uic_median")
                and v["orgUnit"] == uid("Ou", "national")
                and v["categoryOptionCombo"] == uid("Co", national["group"]))
    assert sent["value"] == f"{national['estimate']:.1f}" and sent["period"] == national["period"]
    with_ci = [v for v in values if "comment" in v]
    assert all(re.fullmatch(r"95% CI \d+\.\d-\d+\.\d", v["comment"]) for v in with_ci)
    assert "data values" in result.output


def test_a_bad_mapping_names_its_line(open_app: Flask, tmp_path: Path) -> None:  # noqa: F811
    mapping = write_mapping(open_app, tmp_path / "dhis2.toml")
    text = mapping.read_text(encoding="utf-8").replace('"national"', '"Atlantis"')
    mapping.write_text(text, encoding="utf-8")
    line = next(i for i, raw in enumerate(text.splitlines(), 1) if "Atlantis" in raw)
    result = export(open_app, str(report_id(open_app)), "--mapping", str(mapping))
    assert result.exit_code != 0
    assert f"line {line}: unknown region 'Atlantis'" in result.output
    missing = export(open_app, "999999", "--mapping", str(write_mapping(open_app, mapping)))
    assert missing.exit_code != 0 and "no issued report 999999" in missing.output


def test_push_records_the_import_summary_with_its_conflict(
        open_app: Flask, tmp_path: Path, dhis2: tuple[str, type[Dhis2Stub]]) -> None:  # noqa: F811
    url, stub = dhis2
    mapping = write_mapping(open_app, tmp_path / "dhis2.toml")
    result = export(open_app, str(report_id(open_app)), "--mapping", str(mapping), "--push", url,
                    "--username", "admin", env={"DHIS2_PASSWORD": "district"})
    assert result.exit_code == 0, result.output
    assert "1 conflict" in result.output and "ignored 1" in result.output
    assert stub.auth == ["Basic YWRtaW46ZGlzdHJpY3Q="]  # admin:district
    sent = stub.received[0]["dataValues"]
    (event,) = events(open_app)
    assert event.action == "dhis2_pushed"
    assert event.changes["imported"] == len(sent) - 1 and event.changes["ignored"] == 1
    assert event.changes["conflicts"] == [f"{sent[-1]['orgUnit']}: Organisation unit not in hierarchy"]
    assert event.changes["values"] == len(sent) and event.changes["url"] == url


def test_a_500_is_retried_with_a_token(open_app: Flask, tmp_path: Path,  # noqa: F811
                                       dhis2: tuple[str, type[Dhis2Stub]]) -> None:
    url, stub = dhis2
    stub.script[:] = [500, 503]
    mapping = write_mapping(open_app, tmp_path / "dhis2.toml")
    result = export(open_app, str(report_id(open_app)), "--mapping", str(mapping), "--push", url,
                    "--backoff", "0", env={"DHIS2_TOKEN": "d2pat_secret"})
    assert result.exit_code == 0, result.output
    assert len(stub.received) == 3 and stub.auth == ["ApiToken d2pat_secret"] * 3
    (event,) = events(open_app)
    assert event.action == "dhis2_pushed" and event.changes["attempts"] == 3


def test_failed_pushes_leave_the_report_and_can_be_retried(
        open_app: Flask, tmp_path: Path, dhis2: tuple[str, type[Dhis2Stub]]) -> None:  # noqa: F811
    url, stub = dhis2
    mapping = write_mapping(open_app, tmp_path / "dhis2.toml")
    before = frozen(open_app)
    rid = str(report_id(open_app))
    stub.script[:] = [409]
    refused = export(open_app, rid, "--mapping", str(mapping), "--push", url, "--backoff", "0")
    assert refused.exit_code != 0 and "409" in refused.output
    assert len(stub.received) == 1  # a 409 is DHIS2's answer, not retried
    stub.script[:] = [500, 500]
    broken = export(open_app, rid, "--mapping", str(mapping), "--push", url, "--backoff", "0",
                    "--attempts", "2")
    assert broken.exit_code != 0 and "500" in broken.output and len(stub.received) == 3
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/api/dataValueSets"
    unreachable = export(open_app, rid, "--mapping", str(mapping), "--push", closed,
                         "--backoff", "0", "--attempts", "2")
    assert unreachable.exit_code != 0 and "cannot reach" in unreachable.output
    assert frozen(open_app) == before
    retried = export(open_app, rid, "--mapping", str(mapping), "--push", url)
    assert retried.exit_code == 0, retried.output
    trail = events(open_app)
    assert [e.action for e in trail] == ["dhis2_push_failed"] * 3 + ["dhis2_pushed"]
    assert trail[0].changes["http_status"] == 409 and trail[0].changes["dhis2_status"] == "ERROR"
    assert trail[1].changes["http_status"] == 500 and trail[1].changes["attempts"] == 2
    assert trail[2].changes["http_status"] is None and "cannot reach" in trail[2].changes["error"]
    assert frozen(open_app) == before
