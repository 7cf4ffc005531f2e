"""Every EQA page (provider's ``/eqa/…``, participant's ``/eqa/lab/…``, our own schemes'
``/eqa/external/…``) rendered in Russian and in Kazakh over whole rounds — the closed, scored
round of 15 laboratories of ``lims eqa demo`` with an issued certificate, a dispatched round
past its deadline with a late correction waiting, participants' accounts — shows no English of
the catalogue (status, method and source codes included: they must be shown through labels).

The access-matrix sweep (tests/lims/test_translated_pages.py) reaches these pages with ids that
match nothing, so it sees their 404s only; here each route gets a real object, and an EQA route
added without one fails the test until it is given one below."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.cli import main
from lims.core.labels import label
from lims.core.permissions import Role
from lims.eqa import documents, external_models, models
from lims.eqa.models import (
    CorrectionStatus,
    DocumentKind,
    EqaLabAccount,
    EqaMethod,
    EqaProgramme,
    EqaResult,
    EqaRound,
    EqaUnit,
    ResultVia,
)
from tests.conftest import FIXED_NOW
from tests.lims.eqa.participants import build_world, user
from tests.lims.test_access_matrix import ARGUMENT, ROUTES, Route, add_user, url_objects  # noqa: F401
from tests.lims.test_translated_pages import (  # noqa: F401  (fixtures)
    cyrillic_objects,
    english_segments,
    translated_app,
    translations,
    visible_text,
)

PROVIDER_SIDE = re.compile(r"^eqa(_results|_external)?\.")
PARTICIPANT_SIDE = re.compile(r"^eqa_lab\.")
EQA_PAGES = [r for r in ROUTES if r.method == "GET"
             and (PROVIDER_SIDE.match(r.endpoint) or PARTICIPANT_SIDE.match(r.endpoint))]


def raw_codes() -> set[str]:
    """The EQA enums' stored values that have a label of their own ("dispatched",
    "sk_microplate"): shown as such, they are a code where a word was due."""
    return {member.value for module in (models, external_models)
             for item in vars(module).values()
             if isinstance(item, type) and issubclass(item, enum.StrEnum)
             and item.__module__ == module.__name__
             for member in item if label(member.value) != member.value}


def _rounds(app: Flask, session: Session, admin: User) -> list[tuple[User, dict[str, Any]]]:
    """Who looks at which objects: the provider at both rounds, each participant at its own."""
    ran = app.test_cli_runner().invoke(main, ["eqa", "demo", "--by", admin.username])
    assert ran.exit_code == 0, ran.output
    programme = session.scalars(sa.select(EqaProgramme).where(
        EqaProgramme.code == "UIC-DEMO")).one()
    programme.name = "Йод в моче"  # the demo's names are English: data, not the application's
    demo = session.scalars(sa.select(EqaRound).where(EqaRound.programme_id == programme.id)).one()
    for number, enrolment in enumerate(demo.enrolments, start=1):
        enrolment.laboratory.name = f"Лаборатория № {number}"
        enrolment.laboratory.contact = "почта"
    for material, level in zip(demo.materials, ("низкий", "высокий"), strict=True):
        material.level = level
    enrolment = demo.enrolments[0]
    certificate = documents.issue_document(session, actor=admin, now=FIXED_NOW,
                                           kind=DocumentKind.CERTIFICATE, round_=demo, lang="ru",
                                           enrolment=enrolment)
    demo_participant = user(session, FIXED_NOW, Role.EQA_PARTICIPANT)
    session.add(EqaLabAccount(user_id=demo_participant.id, laboratory_id=enrolment.laboratory_id,
                              created_at=FIXED_NOW, created_by_id=admin.id))

    world = build_world(session, FIXED_NOW, deadline=FIXED_NOW.date() - timedelta(days=1))
    world.programme.name = "Йод в моче"
    for number, lab in enumerate(world.labs, start=1):
        lab.name = f"Участник № {number}"
    late = world.enrolments[0]
    for version in (1, 2):  # a result, and its correction after the deadline, waiting
        session.add(EqaResult(
            enrolment_id=late.id, material_id=world.materials[0].id, value=100.0 + version,
            unit=EqaUnit.UG_PER_L, method=EqaMethod.ICP_MS, submitted_at=FIXED_NOW,
            submitted_by_id=world.participants[0].id, via=ResultVia.PARTICIPANT, late=True,
            version=version, is_current=version == 1, reason="опечатка" if version == 2 else None,
            correction_status=CorrectionStatus.PENDING if version == 2 else None))
    for account in (demo_participant, *world.participants):
        account.full_name = "Айгуль Серикова"
    session.flush()
    provider_demo = {"round_id": demo.id, "material_id": demo.materials[0].id,
                     "laboratory_id": enrolment.laboratory_id, "enrolment_id": enrolment.id,
                     "document_id": certificate.id}
    provider_dispatched = {"round_id": world.round.id, "material_id": world.materials[0].id,
                           "laboratory_id": world.labs[0].id, "enrolment_id": late.id}
    return [(admin, provider_demo), (admin, provider_dispatched),
            (demo_participant, {"enrolment_id": enrolment.id, "document_id": certificate.id}),
            (world.participants[0], {"enrolment_id": late.id})]


def _url(app: Flask, route: Route, objects: dict[str, Any]) -> str | None:
    """The route's address with these objects, None when one of its arguments has none."""
    values = {}
    for match in ARGUMENT.finditer(route.rule):
        if match["name"] not in objects:
            return None
        values[match["name"]] = objects[match["name"]]
    with app.test_request_context():
        return url_for(route.endpoint, **values)


def test_eqa_pages_show_no_english(translated_app: Flask,  # noqa: F811  (a fixture)
                                   client: FlaskClient, session: Session,
                                   login: Callable[[User], FlaskClient],
                                   cyrillic_objects: dict[str, Any]) -> None:  # noqa: F811
    admin = add_user(session, (Role.ADMIN,))
    admin.full_name = "Айгуль Серикова"
    views = _rounds(translated_app, session, admin)
    external = {k: cyrillic_objects[k] for k in ("external_round_id", "eqa_material_id")}
    session.commit()
    covered: set[str] = set()
    found: dict[str, list[str]] = {}
    for lang in ("ru", "kk"):
        codes = raw_codes()
        assert {"dispatched", "sk_microplate", "consensus", "lab_report"} <= codes
        segments = english_segments(lang) + [
            re.compile(r"(?<![\w-])" + re.escape(code) + r"(?![\w-])") for code in sorted(codes)]
        for viewer, objects in views:
            login(viewer)
            client.post("/language", data={"language": lang, "next": "/"})
            side = PARTICIPANT_SIDE if viewer is not admin else PROVIDER_SIDE
            addresses = ["/"] if viewer is admin else []  # the dashboard's EQA panel
            for route in EQA_PAGES:
                address = _url(translated_app, route, {**objects, **external})
                if side.match(route.endpoint) and address is not None:
                    addresses.append(address)
                    covered.add(route.endpoint)
            for address in addresses:
                response = client.get(address)
                assert response.status_code == 200, (lang, address, response.status_code)
                if response.mimetype != "text/html":
                    continue
                text = visible_text(response.get_data(as_text=True))
                leaks = sorted({f"{m.group(0)!r} in …{text[max(m.start() - 40, 0):m.end() + 40]}…"
                                for pattern in segments for m in [pattern.search(text)] if m})
                if leaks:
                    found[f"{lang} {address}"] = leaks
            client.post("/logout")
    assert covered == {r.endpoint for r in EQA_PAGES}, "EQA pages without an object here"
    assert not found, "English on EQA pages:\n" + "\n".join(
        f"{page}: {leaks}" for page, leaks in sorted(found.items()))
