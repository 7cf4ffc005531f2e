"""A small EQA round for the participant-side tests: one urinary-iodine programme, one dispatched
round with two materials, two laboratories enrolled (each with its participant account and its own
randomised sample codes), a third laboratory not enrolled, and the provider's staff.

Built from rows directly (not through the provider's services), so these tests depend only on
the schema; ``unique`` suffixes let several worlds live in one database (race tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from lims.auth.models import User, UserRole
from lims.core.permissions import Role
from lims.eqa.models import (
    EqaEnrolment,
    EqaLabAccount,
    EqaLaboratory,
    EqaMaterial,
    EqaMeasurand,
    EqaProgramme,
    EqaRound,
    EqaSampleCode,
    EqaUnit,
    RoundStatus,
    SigmaKind,
    ValueSource,
)
from tests.factories import PASSWORD, unique

CEILING = 2000.0


@dataclass
class World:
    programme: EqaProgramme
    round: EqaRound
    materials: list[EqaMaterial]
    labs: list[EqaLaboratory]
    enrolments: list[EqaEnrolment]
    #: codes[lab index][material index]
    codes: list[list[str]]
    participants: list[User]
    outsider: User  # a participant account of a laboratory not enrolled in the round
    provider: User
    technician: User

    def code(self, lab: int, material: int) -> str:
        return self.codes[lab][material]


#: A cheap hash for the several accounts of every world; logging in still goes through the form.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")


def user(session: Session, now: datetime, *roles: Role) -> User:
    account = User(username=unique("eqa-user"), full_name="EQA test user",
                   password_hash=FAST_HASH, created_at=now, is_active=True, failed_logins=0)
    account.role_links = [UserRole(role=role) for role in roles]
    session.add(account)
    session.flush()
    return account


def build_world(session: Session, now: datetime, *, deadline: date | None = None,
                status: RoundStatus = RoundStatus.DISPATCHED) -> World:
    provider = user(session, now, Role.REVIEWER)
    technician = user(session, now, Role.TECHNICIAN)
    tag = unique("R")
    programme = EqaProgramme(code=f"UIC-{tag}", name="Urinary iodine", measurand=EqaMeasurand.UIC,
                             unit=EqaUnit.UG_PER_L, sigma_kind=SigmaKind.PERCENT,
                             sigma_percent=10.0, min_p=12, value_ceiling=CEILING, created_at=now)
    session.add(programme)
    session.flush()
    round_ = EqaRound(programme_id=programme.id, code=f"2026-1-{tag}",
                      dispatch_date=now.date() - timedelta(days=10),
                      deadline=deadline or now.date() + timedelta(days=10), status=status,
                      status_changed_at=now, value_source=ValueSource.CONSENSUS, created_at=now)
    session.add(round_)
    session.flush()
    materials = [EqaMaterial(round_id=round_.id, code=c, pool_id=f"POOL-{tag}-{c}")
                 for c in ("A", "B")]
    session.add_all(materials)
    labs = [EqaLaboratory(name=f"{name} {tag}", country=country, contact="", methods=["icp_ms"],
                          created_at=now)
            for name, country in (("Alpha Iodine Lab", "KZ"), ("Beta Iodine Lab", "KG"),
                                  ("Gamma Iodine Lab", "UZ"))]
    session.add_all(labs)
    session.flush()
    enrolments = [EqaEnrolment(round_id=round_.id, laboratory_id=lab.id, lab_code=f"P{i + 1:02d}",
                               enrolled_at=now, enrolled_by_id=provider.id)
                  for i, lab in enumerate(labs[:2])]
    session.add_all(enrolments)
    session.flush()
    codes = [[f"S{i}{j}{tag}"[:16] for j in range(len(materials))] for i in range(2)]
    session.add_all(EqaSampleCode(enrolment_id=e.id, material_id=m.id, code=codes[i][j])
                    for i, e in enumerate(enrolments) for j, m in enumerate(materials))
    participants = [user(session, now, Role.EQA_PARTICIPANT) for _ in range(3)]
    session.add_all(EqaLabAccount(user_id=u.id, laboratory_id=lab.id, created_at=now,
                                  created_by_id=provider.id)
                    for u, lab in zip(participants, labs, strict=True))
    session.flush()
    return World(programme=programme, round=round_, materials=materials, labs=labs,
                 enrolments=enrolments, codes=codes, participants=participants[:2],
                 outsider=participants[2], provider=provider, technician=technician)
