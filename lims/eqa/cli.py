"""``lims eqa``: the EQA scheme from the command line. ``lims eqa demo`` builds a demonstration
round (one urinary-iodine programme, a closed and scored round of 15 laboratories) through the
same services the pages use, so the demo passes every rule a real round does."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from lims.capture.cli import _admin
from lims.core.errors import LimsError
from lims.eqa import service
from lims.eqa.models import (
    EqaMeasurand,
    EqaMethod,
    EqaProgramme,
    ResultVia,
    RoundStatus,
    SigmaKind,
    ValueSource,
)
from lims.eqa.submissions import ResultEntry, submit_result
from lims.extensions import db

DEMO_PROGRAMME = "UIC-DEMO"
DEMO_ROUND = "2026-1"
DISPATCH, DEADLINE = date(2026, 3, 2), date(2026, 4, 3)
#: Fictional participants (country, method); the names say they are demonstration data.
DEMO_LABS = [("KZ", EqaMethod.SK_MICROPLATE), ("KZ", EqaMethod.AMMONIUM_PERSULFATE),
             ("KG", EqaMethod.SK_MICROPLATE), ("KG", EqaMethod.SK_MICROPLATE),
             ("UZ", EqaMethod.AMMONIUM_PERSULFATE), ("UZ", EqaMethod.SK_MICROPLATE),
             ("TJ", EqaMethod.SK_MICROPLATE), ("TM", EqaMethod.AMMONIUM_PERSULFATE),
             ("AM", EqaMethod.ICP_MS), ("GE", EqaMethod.SK_MICROPLATE),
             ("AZ", EqaMethod.AMMONIUM_PERSULFATE), ("MD", EqaMethod.SK_MICROPLATE),
             ("BY", EqaMethod.ICP_MS), ("MN", EqaMethod.SK_MICROPLATE),
             ("UA", EqaMethod.AMMONIUM_PERSULFATE)]
#: The two pools (material code, pool, level, target µg/L).
DEMO_MATERIALS = [("A", "UP-2026-03", "low", 85.0), ("B", "UP-2026-04", "high", 210.0)]


@click.group("eqa")
def eqa_group() -> None:
    """The EQA scheme the laboratory provides (ISO 13528 proficiency testing)."""


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@eqa_group.command("demo")
@click.option("--by", "by_username", default="admin", show_default=True)
@click.option("--seed", default=2026, show_default=True, type=click.IntRange(0, 2**31 - 1))
@with_appcontext
def demo(by_username: str, seed: int) -> None:
    """A demonstration programme with one closed, scored round of 15 laboratories (one of them
    late, one an outlier); nothing is done if the demo programme exists."""
    actor = _admin(by_username)
    if db.session.scalar(sa.select(EqaProgramme.id).where(EqaProgramme.code == DEMO_PROGRAMME)):
        click.echo(f"demo EQA programme {DEMO_PROGRAMME} already there; nothing added")
        return
    rng = random.Random(seed)
    try:
        programme = service.create_programme(
            db.session, actor=actor, now=_at(DISPATCH - timedelta(days=30)), code=DEMO_PROGRAMME,
            name="Urinary iodine EQA (demonstration)", measurand=EqaMeasurand.UIC,
            sigma_kind=SigmaKind.PERCENT, sigma_percent=10.0, min_p=12, value_ceiling=2000.0)
        planned = _at(DISPATCH - timedelta(days=20))
        round_ = service.create_round(db.session, actor=actor, now=planned, programme=programme,
                                      code=DEMO_ROUND, dispatch_date=DISPATCH, deadline=DEADLINE,
                                      value_source=ValueSource.CONSENSUS)
        materials = []
        for code, pool, level, target in DEMO_MATERIALS:
            material = service.add_material(db.session, actor=actor, now=planned, round_=round_,
                                            code=code, pool_id=pool, level=level, volume_ml=5.0)
            pairs = [(target + rng.gauss(0, 0.01 * target), target + rng.gauss(0, 0.01 * target))
                     for _ in range(10)]
            service.record_homogeneity(db.session, actor=actor, now=planned, material=material,
                                       pairs=[(round(a, 1), round(b, 1)) for a, b in pairs])
            service.record_stability(db.session, actor=actor, now=planned, material=material,
                                     values=[round(target + rng.gauss(0, 0.01 * target), 1)
                                             for _ in range(3)])
            materials.append((material, target))
        enrolments = []
        for number, (country, method) in enumerate(DEMO_LABS, start=1):
            lab = service.register_laboratory(
                db.session, actor=actor, now=planned,
                name=f"Demonstration laboratory {number:02d} ({country})", country=country,
                contact=f"eqa-demo-{number:02d}@example.org", methods=[method])
            enrolment = service.enrol_laboratory(db.session, actor=actor, now=planned,
                                                 round_=round_, laboratory=lab)
            enrolments.append((enrolment, method))
        service.change_round_status(db.session, actor=actor, now=_at(DISPATCH),
                                    round_=round_, to=RoundStatus.DISPATCHED)
        for index, (enrolment, method) in enumerate(enrolments):
            service.record_shipment(db.session, actor=actor, now=_at(DISPATCH), enrolment=enrolment,
                                    shipped_on=DISPATCH, arrived_on=DISPATCH + timedelta(days=3))
            # the last laboratory answers after the deadline; the fifth reads 40 % high
            sent = _at(DEADLINE + timedelta(days=2) if index == len(enrolments) - 1
                       else DISPATCH + timedelta(days=10 + index))
            bias = 1.4 if index == 4 else 1.0
            codes = {s.material_id: s.code for s in enrolment.sample_codes}
            for material, target in materials:
                value = round(bias * target * (1 + rng.gauss(0, 0.06)), 1)
                submit_result(db.session, actor=actor, now=sent, enrolment=enrolment,
                              via=ResultVia.PROVIDER_UPLOAD, entry=ResultEntry(
                                  sample_code=codes[material.id], value=value, unit="µg/L",
                                  method=method.value,
                                  uncertainty=round(0.04 * value, 1) if index % 3 == 0 else None,
                                  coverage_k=2 if index % 6 == 0 else None))
        closed = _at(DEADLINE + timedelta(days=7))
        for material, _target in materials:
            service.assign_value(db.session, actor=actor, now=closed, material=material,
                                 source=ValueSource.CONSENSUS)
        service.change_round_status(db.session, actor=actor, now=closed, round_=round_,
                                    to=RoundStatus.CLOSED)
        scores = service.score_round(db.session, actor=actor, now=closed, round_=round_)
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"demo EQA: programme {DEMO_PROGRAMME}, round {DEMO_ROUND} closed with "
               f"{len(enrolments)} laboratories and {scores} scores")
