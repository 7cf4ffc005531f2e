"""A hostile-input sweep generated from the app's URL map and its forms.

For every route and method (routes and URL objects enumerated as in ``test_access_matrix``), as a
user holding every role (and with an instrument's token on the API):

- every integer path parameter gets 2^63 and a 20-digit number: 404 (the bounded ``int``
  converter), never 500; every other path parameter (accessions, codes, file names) NUL, a
  right-to-left override and a zero-width space: 404;
- every id cursor and filter of the query string (``before``, ``after``, ``instrument``, ``batch``,
  ``programme``, ``round``, ``round_id``) gets the same: 400 naming the parameter where a page
  reads it, and no 500 anywhere; date filters get 9999-12-31, text parameters (scans, searches,
  pre-filled forms) NUL / a right-to-left override / a zero-width space;
- POST routes get the form their page offers (harvested from the HTML of every GET page), with
  one field at a time made hostile: every numeric field (by its type on the app's ``LimsForm``
  classes) NaN, ±Infinity, 1e999 and a 20-digit integer, every date field 9999-12-31, every JSON
  field a document nested 100,000 deep, every code and text field NUL / a right-to-left
  override / a zero-width space, every choice 2^63, 20 digits, "abc" and NUL; a POST whose form
  no page shows gets every field of every form at once, kind by kind.

Each answer must be a 4xx, a redirect or a form re-rendered with its error (200), and no request
may write a row of the main tables (counted after each POST route). Targeted tests below check the precise answers of the cases the issue named.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from wtforms import (
    DateField,
    DateTimeField,
    DecimalField,
    FloatField,
    IntegerField,
    SelectFieldBase,
    StringField,
)
from wtforms.fields.core import UnboundField

from lims.analysis.models import AnalyticalRun, MethodVersionRow, ReagentLot, Result
from lims.auth.models import User
from lims.auth.services import create_api_token
from lims.capture.models import Instrument, InstrumentReading, Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.forms import LimsForm, is_code_field
from lims.core.inputs import ID_MAX, JsonProblem, loads_strict, parse_id
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster, Household, Participant, Programme, SurveyRound
from lims.qc.models import ControlLot, ControlResult
from lims.reporting.models import ReportJob
from lims.samples.models import IntakeBatch, Sample
from tests.conftest import FIXED_NOW
from tests.lims.test_access_matrix import ARGUMENT, ROUTE_APP, add_user, build_url, url_objects

__all__ = ["url_objects"]  # the fixture, shared with the access matrix

BIG_INTS = (str(2**63), "9" * 20)
NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999", "9" * 20, "9" * 14 + ".99", "2147483648")
DEEP_JSON = "[" * 100_000 + "]" * 100_000
HIDDEN = ("P\x0001", "P\u202e10", "P\u200b01")
ID_PARAMETERS = ("before", "after", "instrument", "batch", "programme", "round", "round_id")
DATE_PARAMETERS = ("collected_from", "collected_to", "collected_at")
#: Text a page reads from its query string (a scan, a search, a filter, a pre-filled form).
TEXT_PARAMETERS = ("accession", "q", "method", "status", "last", "next", "sheet", "start",
                   "cluster_code", "container", "population_group", "salt_source", "kind")
ALLOWED = {200, 301, 302, 303, 400, 404, 405, 409, 413, 415, 422}
#: Pages that read an id from the query string: each must answer 400 naming it.
READS_IDS = {
    "capture.inbox": ("instrument", "before", "after"),
    "api.reports": ("before", "limit"),
    "analysis.index": ("before",),
    "analysis.review_queue": ("after",),
    "samples.index": ("before", "after", "region"),
    "analysis.results": ("run", "after"),
    "audit.index": ("before",),
    "reporting.index": ("after",),
    "monitoring.cluster_detail": ("after",),
    "monitoring.coverage": ("round",),
    "samples.batch_intake": ("batch",),
}
#: A re-rendered form says what it refused: a field's errors or an error message.
REFUSED = re.compile(r'class="errors"|class="flash error"')
#: Never swept: they end the sweep's own session.
SKIPPED = {"auth.logout", "auth.login", "static"}
COUNTED = (Sample, Participant, Household, Result, AnalyticalRun, MethodVersionRow, ReagentLot,
           ControlLot, ControlResult, Instrument, InstrumentReading, Programme, SurveyRound, Cluster,
           IntakeBatch, ReportJob)


def _form_classes() -> Iterator[type[LimsForm]]:
    pending = list(LimsForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        yield cls


def _fields() -> dict[str, set[str]]:
    """Field names of every form of the app, by kind."""
    kinds: dict[str, set[str]] = {"number": set(), "date": set(), "datetime": set(), "json": set(),
                                  "code": set(), "text": set(), "choice": set()}
    with ROUTE_APP.app_context():
        for cls in _form_classes():
            for name in dir(cls):
                unbound = getattr(cls, name, None)
                if not isinstance(unbound, UnboundField):
                    continue
                field_class = unbound.field_class
                label = str(unbound.args[0] if unbound.args else unbound.kwargs.get("label", ""))
                if issubclass(field_class, (IntegerField, DecimalField, FloatField)):
                    kinds["number"].add(name)
                elif issubclass(field_class, DateField):  # a DateTimeField subclass: first
                    kinds["date"].add(name)
                elif issubclass(field_class, DateTimeField):
                    kinds["datetime"].add(name)
                elif issubclass(field_class, StringField) and "JSON" in label:
                    kinds["json"].add(name)
                elif issubclass(field_class, SelectFieldBase):
                    kinds["choice"].add(name)
                elif issubclass(field_class, StringField) and name not in ("password", "csrf_token"):
                    kinds["code" if is_code_field(name) else "text"].add(name)
    return kinds


FIELDS = _fields()


def _routes() -> list[tuple[str, str, str]]:
    routes = []
    for rule in ROUTE_APP.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, rule.rule, method))
    return sorted(routes, key=lambda r: (r[1], r[2]))


ROUTES = _routes()


def _counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in COUNTED}


class Sweep:
    def __init__(self, app: Flask, client: FlaskClient, headers: dict[str, str],
                 report_headers: dict[str, str] | None = None) -> None:
        self.app, self.client, self.headers = app, client, headers
        #: The open-data and EQA participant routes refuse an instrument's token: they get the
        #: token of the sweep's user (who holds every role).
        self.report_headers = report_headers or headers
        self.sent = 0
        self.failures: list[str] = []
        self.user_id = self.instrument_id = self.harvested = 0
        self.last_page = ""

    def send(self, method: str, url: str, *, data: dict[str, Any] | None = None,
             json_body: str | None = None, expect: set[int] | None = None,
             names: str | None = None) -> int:
        self.sent += 1
        readers = urlsplit(url).path.startswith(("/api/v1/reports", "/api/v1/eqa"))
        kwargs: dict[str, Any] = {"headers": dict(self.report_headers if readers else self.headers)}
        if json_body is not None:
            kwargs["data"] = json_body
            kwargs["content_type"] = "application/json"
        elif data is not None and method != "GET":
            kwargs["data"] = data
        try:
            response = self.client.open(url, method=method, **kwargs)
        except Exception as error:  # noqa: BLE001 - the sweep reports every crash, then goes on
            db.session.rollback()
            self.failures.append(f"{method} {url}: raised {type(error).__name__}: {error}"[:300])
            return 500
        status = response.status_code
        self.last_page = (response.get_data(as_text=True) if response.mimetype.startswith("text/")
                          or "json" in response.mimetype else "")
        if status not in (expect or ALLOWED):
            self.failures.append(f"{method} {url} {sorted(data or {})[:6]}: got {status}, "
                                 f"expected {sorted(expect or ALLOWED)}")
        elif names and names not in self.last_page:
            self.failures.append(f"{method} {url}: the answer does not name {names!r}")
        return status


@pytest.fixture()
def sweep(app: Flask, client: FlaskClient, session: Session,
          login: Callable[[User], FlaskClient], url_objects: dict[str, Any]) -> Sweep:
    user = add_user(session, tuple(Role))
    instrument = create_instrument(session, actor=user, now=FIXED_NOW, fields=InstrumentFields(
        code=f"SWEEP-{uuid.uuid4().hex[:8]}", name="sweep", protocol=Protocol.ASTM))
    secret = issue_instrument_token(session, actor=user, now=FIXED_NOW, instrument=instrument)
    _token, reader = create_api_token(session, actor=user, now=FIXED_NOW, name="sweep reader")
    login(user)
    sweep = Sweep(app, client, {"Authorization": f"Bearer {secret}"},
                  {"Authorization": f"Bearer {reader}"})
    sweep.user_id, sweep.instrument_id = user.id, instrument.id
    return sweep


@pytest.fixture()
def objects(session: Session, url_objects: dict[str, Any], make_sample: Callable[..., Any],
            sweep: Sweep) -> dict[str, Any]:
    """The access matrix's URL objects plus the analysis ones (methods, QC lots, a run, a result,
    a plate reading, a report job), so that every route reaches its form and its service."""
    from datetime import timedelta

    from lims.analysis import catalogue
    from lims.analysis.demo import seed_demo_qc
    from lims.analysis.models import Analyte, ResultStatus
    from lims.analysis.runs import create_run
    from lims.capture.models import ReadingSource, ReadingStatus, ReadingType
    from lims.reporting.models import JobStatus
    from lims.samples.lifecycle import SampleStatus
    from lims.samples.models import SampleKind

    user = session.get(User, sweep.user_id)
    seed_demo_qc(session, actor=user, now=FIXED_NOW)
    lot = session.scalars(sa.select(ControlLot).order_by(ControlLot.id)).first()
    method = catalogue.current_version(session, "UIC-SK-PLATE")
    received = [make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED,
                            received_at=FIXED_NOW - timedelta(hours=i)) for i in range(2)]
    run = create_run(session, actor=user, now=FIXED_NOW, method_version=method)
    result = Result(sample_id=received[0].id, analyte=Analyte.UIC, method_version_id=method.id,
                    run_id=run.id, status=ResultStatus.PRELIMINARY, value=120.0, unit="µg/L",
                    created_at=FIXED_NOW, created_by_id=user.id)
    reading = InstrumentReading(
        instrument_id=sweep.instrument_id, idempotency_key=uuid.uuid4().hex,
        type=ReadingType.PLATE, source=ReadingSource.DRIVER, status=ReadingStatus.PENDING,
        received_at=FIXED_NOW, payload={"wells": {}, "over_range": []})
    job = ReportJob(params={}, params_key="0" * 64, lang="ru", title="sweep",
                    status=JobStatus.QUEUED, requested_at=FIXED_NOW)
    session.add_all([result, reading, job])
    session.commit()  # a request's rollback (a refused input) must not take the fixtures with it
    assert lot is not None
    return {**url_objects, "lot_id": lot.id, "material_id": lot.material_id,
            "method_version_id": method.id, "run_id": run.id, "result_id": result.id,
            "instrument_id": sweep.instrument_id, "reading_id": reading.id, "job_id": job.id}


class _Forms(HTMLParser):
    """The POST forms of a page: action -> {field: default value}, as a browser would send them
    unchanged (checked boxes, selected or first options, text areas)."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.found: dict[str, dict[str, str]] = {}
        self.form: dict[str, str] | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self.form = self.found.setdefault(urljoin(self.page_url, a.get("action") or
                                                          self.page_url), {})
        elif self.form is None or not a.get("name"):
            if tag == "option" and self.form is not None and self.select is not None and (
                    self.select not in self.form or "selected" in a):
                self.form[self.select] = a.get("value", "")
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.form.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "textarea":
            self.textarea = a["name"]
            self.form[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self.form is not None and self.textarea is not None:
            self.form[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def harvest(url: str, page: str, into: dict[str, dict[str, str]]) -> None:
    parser = _Forms("http://localhost" + url)
    parser.feed(page)
    for action, fields in parser.found.items():
        into.setdefault(urlsplit(action).path, fields)


def _url_with_int(rule: str, endpoint: str, objects: dict[str, Any], name: str,
                  value: str) -> str:
    """The URL with ``value`` in place of the parameter (``url_for`` itself refuses it)."""
    marker = build_url(ROUTE_APP, _route(endpoint, rule), {**objects, name: 424242424242})
    return marker.replace("424242424242", value)


def _url_with_text(rule: str, endpoint: str, objects: dict[str, Any], name: str,
                   value: str) -> str:
    marker = build_url(ROUTE_APP, _route(endpoint, rule), {**objects, name: "MARKER4242"})
    return marker.replace("MARKER4242", quote(value))


def _route(endpoint: str, rule: str) -> Any:
    from tests.lims.test_access_matrix import Route

    return Route(endpoint, rule, "GET")


def _hostile_bodies(defaults: dict[str, str]) -> Iterator[dict[str, str]]:
    """The form as the page offers it, with one field at a time made hostile: every number
    field of the form gets each of ``NUMBERS``, every date 9999-12-31, every JSON field the
    deep document, every code and text field each of ``HIDDEN``."""
    for name in defaults:
        if name in FIELDS["number"]:
            values: tuple[str, ...] = NUMBERS
        elif name in FIELDS["date"]:
            values = ("9999-12-31",)
        elif name in FIELDS["datetime"]:
            values = ("9999-12-31T23:59",)
        elif name in FIELDS["json"]:
            values = (DEEP_JSON,)
        elif name in FIELDS["code"] | FIELDS["text"]:
            values = HIDDEN
        elif name in FIELDS["choice"]:
            values = (*BIG_INTS, "abc", HIDDEN[0])
        else:
            continue
        for value in values:
            yield {**defaults, name: value}


def _blind_bodies() -> Iterator[dict[str, str]]:
    """For a POST whose form no page showed: every field of a kind, of every form, at once."""
    for number in NUMBERS:
        yield {name: number for name in FIELDS["number"]}
    yield {**{name: "9999-12-31" for name in FIELDS["date"]},
           **{name: "9999-12-31T23:59" for name in FIELDS["datetime"]}}
    yield {name: DEEP_JSON for name in FIELDS["json"]}
    for text in HIDDEN:
        yield {name: text for name in FIELDS["code"] | FIELDS["text"]}


def test_hostile_input_sweep(sweep: Sweep, session: Session, objects: dict[str, Any]) -> None:
    before = _counts(session)
    forms: dict[str, dict[str, str]] = {}
    posts: list[tuple[str, str, str]] = []
    for endpoint, rule, method in ROUTES:
        url = build_url(ROUTE_APP, _route(endpoint, rule), objects)
        # Integer path parameters: 2^63 and 20 digits match no route.
        for match in ARGUMENT.finditer(rule):
            if match["converter"] == "int":
                for big in BIG_INTS:
                    sweep.send(method, _url_with_int(rule, endpoint, objects, match["name"], big),
                               data={}, expect={404})
            elif match["converter"] != "path":
                for text in HIDDEN:
                    sweep.send(method, _url_with_text(rule, endpoint, objects, match["name"], text),
                               data={}, expect={400, 404})
        separator = "&" if "?" in url else "?"
        if method == "GET":
            if sweep.send("GET", url) == 200:
                harvest(url, sweep.last_page, forms)
            for big in BIG_INTS:
                query = "&".join(f"{name}={big}" for name in ID_PARAMETERS)
                sweep.send("GET", f"{url}{separator}{query}")
            dates = "&".join(f"{name}=9999-12-31" for name in DATE_PARAMETERS)
            sweep.send("GET", f"{url}{separator}{dates}")
            sweep.send("GET", f"{url}{separator}collected_at=9999-12-31T23:59")
            for text in HIDDEN:
                sweep.send("GET", f"{url}{separator}" + "&".join(
                    f"{name}={quote(text)}" for name in TEXT_PARAMETERS))
            for name in READS_IDS.get(endpoint, ()):
                for big in (*BIG_INTS, "-1", "\u00b2", "abc"):
                    sweep.send("GET", f"{url}{separator}{name}={big}", expect={400}, names=name)
        elif rule.startswith("/api/"):
            sweep.send(method, url, json_body=DEEP_JSON, expect={404, 405, 415, 422})
            for constant in ("NaN", "Infinity", "1e999"):
                sweep.send(method, url, json_body=f'{{"items": [{{"value": {constant}}}]}}',
                           expect={404, 405, 415, 422})
        else:
            posts.append((endpoint, url, method))
    # POSTs last, with the forms every page offered (a POST may change what a page shows).
    for endpoint, url, method in posts:
        defaults = forms.get(urlsplit(url).path)
        bodies = list(_hostile_bodies(defaults) if defaults is not None else _blind_bodies())
        for body in bodies:
            status = sweep.send(method, url, data=body)
            if status == 200 and not REFUSED.search(sweep.last_page):
                changed = {k: v[:12] for k, v in body.items() if v != (defaults or {}).get(k)}
                sweep.failures.append(f"{method} {url} {changed}: 200 without a field error")
        after = _counts(session)  # per route: counting after each request doubles the time
        if after != before:
            grown = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            changed = [{k: v[:12] for k, v in body.items() if v != (defaults or {}).get(k)}
                       for body in bodies]
            sweep.failures.append(f"{method} {url}: wrote rows {grown}; bodies {changed}"[:600])
            before = after
        sweep.harvested = sweep.harvested + (defaults is not None)
    assert not sweep.failures, f"{len(sweep.failures)} of {sweep.sent} requests:\n" + "\n".join(
        sweep.failures[:60])
    assert sweep.harvested >= 25, f"only {sweep.harvested} POST routes found their form"
    print(f"hostile-input sweep: {sweep.sent} requests over {len(ROUTES)} routes and methods, "
          f"{sweep.harvested} of {len(posts)} POST routes with the form their page offers")


def test_sweep_finds_the_forms_fields() -> None:
    assert {"serial_settings", "definition"} <= FIELDS["json"]
    assert {"participant_code", "household_code", "cluster_code", "code", "lot_number"} <= \
        FIELDS["code"]
    assert {"value", "mean", "sd", "age_months", "volume_ml"} <= FIELDS["number"]
    assert {"valid_to", "period_start"} <= FIELDS["date"]


# -- the one definition, unit by unit ---------------------------------------------------------

@pytest.mark.parametrize("raw", ["0", "-1", "\u00b2", "\u0663", "1.0", "", " ", str(2**63), str(2**31),
                                 "9" * 20, "1e3"])
def test_parse_id_refuses_what_is_not_a_bounded_id(raw: str) -> None:
    assert parse_id(raw) is None


def test_parse_id_accepts_the_largest_id() -> None:
    assert parse_id(str(ID_MAX)) == ID_MAX == 2**31 - 1  # PostgreSQL's INTEGER primary keys


@pytest.mark.parametrize("text,reason", [
    ('{"a": NaN}', "non-finite"), ("[Infinity]", "non-finite"), ("[-Infinity]", "non-finite"),
    ("[1e999]", "non-finite"), ("[" + "9" * 50 + "]", "too-long-number"),
    ("[" * 100_000 + "]" * 100_000, "too-deep"), ('{"a": "x\\u0000"}', "nul"), ("{", "syntax"),
])
def test_strict_json_names_the_problem(text: str, reason: str) -> None:
    with pytest.raises(JsonProblem) as caught:
        loads_strict(text)
    assert caught.value.reason == reason


def test_strict_json_keeps_brackets_inside_strings() -> None:
    assert loads_strict('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[["}') == {"a": "[" * 26}
    assert math.isfinite(loads_strict("[1.5e300]")[0])


# -- the cases the issue named, answer by answer ----------------------------------------------

def _count(session: Session, model: Any) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _urine(cluster: Any, **overrides: str) -> dict[str, str]:
    return {"round_id": str(cluster.round_id), "cluster_code": cluster.code,
            "participant_code": "P-100", "household_code": "H-9", "population_group": "SAC",
            "age_months": "100", "sex": "F", "physiological_status": "none", "volume_ml": "4.5",
            "container": "cryovial", "collected_at": "2026-05-10T09:00", "notes": "",
            **overrides}


@pytest.mark.parametrize(("field", "value"), [
    *(("participant_code", text) for text in HIDDEN), ("participant_code", "=1+1"),
    ("household_code", "H\u200b9"), ("notes", "ok\x00"),
    *(("volume_ml", number) for number in NUMBERS), ("age_months", "9" * 20),
    ("collected_at", "9999-12-31T23:59"),
])
def test_intake_form_refuses_with_a_field_error_and_writes_nothing(
        session: Session, make_user: Callable[..., User], login: Callable[[User], FlaskClient],
        make_cluster: Callable[..., Any], field: str, value: str) -> None:
    client = login(make_user(Role.TECHNICIAN))
    cluster = make_cluster()
    before = _count(session, Sample)
    response = client.post("/samples/register/urine", data=_urine(cluster, **{field: value}))
    assert response.status_code == 422, (field, value, response.status_code)
    page = response.get_data(as_text=True)
    assert 'class="errors"' in page[page.index(f'name="{field}"'):][:1500]
    assert _count(session, Sample) == before


@pytest.mark.parametrize("cell", ["P\x00 1", "P\u202e1", "P\u200b1"])
def test_batch_intake_names_row_and_column_of_a_hidden_character(
        session: Session, make_user: Callable[..., User], make_cluster: Callable[..., Any],
        cell: str) -> None:
    from zoneinfo import ZoneInfo

    from lims.core.errors import ValidationError
    from lims.samples.batch_import import parse_file
    from lims.samples.models import SampleKind
    from lims.samples.registration import register_intake_file

    cluster = make_cluster()
    header = ("cluster_code,participant_code,age_months,sex,physiological_status,"
              "population_group,household_code,volume_ml,container,collected_at,notes")
    row = f"{cluster.code},{cell},100,F,none,SAC,H-1,4.5,cryovial,2026-05-10 09:00,"
    data = f"{header}\n{row}\n".encode()
    parsed = parse_file(data, "x.csv", kind=SampleKind.URINE, timezone=ZoneInfo("Asia/Almaty"),
                        max_rows=10)
    with pytest.raises(ValidationError) as caught:
        register_intake_file(session, actor=make_user(Role.TECHNICIAN), now=FIXED_NOW,
                             round_id=cluster.round_id, filename="x.csv", data=data,
                             parsed=parsed)
    problems = caught.value.errors
    assert problems and problems[0]["column"] == "participant_code" and problems[0]["row"] == 2


def test_control_target_and_amendment_refuse_non_finite_numbers(
        session: Session, make_user: Callable[..., User]) -> None:
    from lims.analysis.models import ResultStatus
    from lims.analysis.review import amend_result
    from lims.core.errors import ValidationError
    from lims.qc.service import set_target

    for mean, sd in ((math.nan, 1.0), (1.0, math.inf), (1e999, 1.0)):
        with pytest.raises(ValidationError):
            set_target(session, actor=None, now=FIXED_NOW, lot=ControlLot(), mean=mean, sd=sd,
                       reason="certificate")
    reviewer = make_user(Role.REVIEWER)
    verified = Result(status=ResultStatus.VERIFIED, is_current=True, version=1)
    for value in (float("inf"), Decimal("NaN"), Decimal("1e999")):
        with pytest.raises(ValidationError) as caught:
            amend_result(session, actor=reviewer, now=FIXED_NOW, result=verified,
                         reason="typo", value=value)  # type: ignore[arg-type]
        assert caught.value.field == "value"


@pytest.mark.parametrize(("body", "named"), [
    ('{"items": [{"value": NaN}]}', "NaN"), ('{"items": [{"value": Infinity}]}', "Infinity"),
    ('{"items": [{"value": 1e999}]}', "1e999"), ("[" * 100_000 + "]" * 100_000, "nested"),
])
def test_readings_api_refuses_what_is_not_json(sweep: Sweep, body: str, named: str) -> None:
    response = sweep.client.post("/api/v1/readings", data=body, content_type="application/json",
                                 headers=sweep.headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert named in response.get_json()["detail"]


def test_report_request_with_a_round_that_is_not_an_id(sweep: Sweep, session: Session) -> None:
    before = _count(session, ReportJob)
    response = sweep.client.post("/reports/", data={"round": "abc", "lang": "ru",
                                                    "scheme": "WHO2007"})
    assert response.status_code == 422
    assert _count(session, ReportJob) == before


def test_date_filter_beyond_2100_is_a_field_error(sweep: Sweep) -> None:
    response = sweep.client.get("/samples/?collected_to=9999-12-31")
    assert response.status_code == 400
    assert "between 1900-01-01 and 2100-12-31" in response.get_data(as_text=True)


def test_ids_in_paths_are_ascii_digits_within_the_id_range(sweep: Sweep) -> None:
    for path in ("/inbox/\u0663", "/inbox/" + str(2**63), "/inbox/" + "9" * 20, "/inbox/-1",
                 "/inbox/" + str(2**31), "/api/v1/reports/" + str(2**31) + "/files/report.pdf"):
        assert sweep.client.get(quote(path)).status_code == 404, path
    assert sweep.client.get(f"/inbox/{sweep.instrument_id + 10**6}").status_code == 404
