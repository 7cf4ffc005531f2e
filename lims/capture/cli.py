"""``lims instruments``: register instruments and issue driver tokens from the command line (the
same services as the register page), and the demo set of the reference lab's instruments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.auth.services import get_user_by_username
from lims.capture.ingest import ingest_batch, validate_batch
from lims.capture.models import Instrument, Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.permissions import Role
from lims.extensions import db
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind

#: The demo lab's instruments; codes match the profiles in config/instruments.example.toml.
DEMO_INSTRUMENTS = (
    InstrumentFields("SK-READER-01", "Microplate reader (Sandell–Kolthoff UIC)", Protocol.BIORAD,
                     model="Bio-Rad Model 680", location="Urine bench",
                     serial_settings={"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}),
    InstrumentFields("ICPMS-01", "ICP-MS (UIC reference method)", Protocol.ASTM,
                     model="Agilent 7900 via LIS1-A", location="Reference room",
                     serial_settings={"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}),
    InstrumentFields("TITRATOR-01", "Titrator (salt iodate)", Protocol.METROHM,
                     model="Metrohm 916 Ti-Touch", location="Salt bench",
                     serial_settings={"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}),
    InstrumentFields("BALANCE-01", "Analytical balance", Protocol.MTSICS,
                     model="Mettler Toledo XS205", location="Salt bench",
                     serial_settings={"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}),
    InstrumentFields("WYD-01", "WYD iodine checker", Protocol.MANUAL,
                     model="WYD (Salt Research Institute, CNSIC)", location="Salt bench"),
    InstrumentFields("MULTISKAN-01", "Plate reader with closed serial output", Protocol.FILE,
                     model="Thermo Multiskan FC", location="Urine bench"),
)


#: An accession the demo survey never issues: a reading for it waits in the inbox.
DEMO_UNKNOWN_ACCESSION = "U-2026-999999"


def _demo_inbox_batches(urine_accession: str | None, now: datetime
                        ) -> dict[str, list[dict[str, Any]]]:
    """What a lab's inbox holds on an ordinary day, as the drivers would send it (instrument
    code → batch items): a reading for an unknown accession, a block with a bad checksum, and —
    when the demo has a received urine sample — `***` instead of a number and a salt value sent
    for that urine sample. The keys are fixed, so running the demo again adds nothing."""
    spooled = now.isoformat()
    measured = now.replace(tzinfo=None, microsecond=0).isoformat()

    def result(key: str, instrument: str, accession: str, analyte: str, raw_value: str,
               value: float | None, unit: str, raw: str, problems: tuple[str, ...] = ()
               ) -> dict[str, Any]:
        return {"idempotency_key": key, "type": "result", "instrument_id": instrument,
                "spooled_at": spooled,
                "payload": {"instrument_id": instrument, "sample_id": accession, "analyte": analyte,
                            "raw_value": raw_value, "value": value, "unit": unit,
                            "measured_at": measured, "raw": raw, "problems": list(problems)}}

    icpms = [
        result("demo-inbox-unknown-accession", "ICPMS-01", DEMO_UNKNOWN_ACCESSION, "uic", "142.5",
               142.5, "ug/L", "R|1|^^^127I|142.5|ug/L||N||F\r"),
        {"idempotency_key": "demo-inbox-bad-checksum", "type": "quarantine",
         "instrument_id": "ICPMS-01", "spooled_at": spooled,
         "payload": {"reason": "frame 3: checksum 7A expected, 7C received",
                     "error_code": "checksum_error",
                     "raw": "\x023R|1|^^^127I|98.1|ug/L||N||F\r\x037C\r\n"}},
    ]
    batches = {"ICPMS-01": icpms}
    if urine_accession is not None:
        icpms.append(result("demo-inbox-no-number", "ICPMS-01", urine_accession, "uic", "***",
                            None, "ug/L", "R|1|^^^127I|***|ug/L||>||F\r",
                            ("value '***' is not a number",)))
        batches["TITRATOR-01"] = [
            result("demo-inbox-salt-for-urine", "TITRATOR-01", urine_accession, "salt_iodine",
                   "31.2", 31.2, "mg/kg", f"Sample ID {urine_accession}\r\nRS01 31.2 mg/kg\r\n")]
    return batches


def add_demo_inbox(session: Session, now: datetime) -> int:
    """File the demo's unmatched readings through the real ingest path (the same validation and
    matching as ``POST /api/v1/readings``); returns how many were new."""
    urine = session.scalar(
        sa.select(Sample.accession)
        .where(Sample.kind == SampleKind.URINE, Sample.status == SampleStatus.RECEIVED)
        .order_by(Sample.accession.desc()).limit(1))
    added = 0
    for code, items in _demo_inbox_batches(urine, now).items():
        instrument = session.scalar(sa.select(Instrument).where(Instrument.code == code))
        if instrument is None:
            continue
        outcomes = ingest_batch(session, instrument=instrument, now=now,
                                items=validate_batch({"items": items}, instrument))
        added += sum(o.outcome != "duplicate" for o in outcomes)
    return added


def _admin(username: str) -> User:
    actor = get_user_by_username(db.session, username)
    if actor is None or Role.ADMIN not in actor.roles:
        raise click.ClickException(f"'{username}' is not an admin user")
    return actor


@click.group("instruments")
def instruments_group() -> None:
    """The instrument register and driver tokens."""


@instruments_group.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--protocol", type=click.Choice([p.value for p in Protocol]), required=True)
@click.option("--model", default="")
@click.option("--by", "by_username", required=True, help="the admin who registers it")
@with_appcontext
def create(code: str, name: str, protocol: str, model: str, by_username: str) -> None:
    """Register an instrument."""
    try:
        create_instrument(db.session, actor=_admin(by_username), now=now_utc(),
                          fields=InstrumentFields(code, name, Protocol(protocol), model=model))
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"instrument {code} registered")


@instruments_group.command("token")
@click.argument("code")
@click.option("--by", "by_username", required=True, help="the admin who issues the token")
@with_appcontext
def token(code: str, by_username: str) -> None:
    """Issue the instrument's driver token (revoking its previous one); printed once."""
    instrument = db.session.scalar(sa.select(Instrument).where(Instrument.code == code))
    if instrument is None:
        raise click.ClickException(f"no instrument with code {code!r}")
    try:
        secret = issue_instrument_token(db.session, actor=_admin(by_username), now=now_utc(),
                                        instrument=instrument)
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(secret)


@instruments_group.command("demo")
@click.option("--by", "by_username", default="admin", show_default=True)
@with_appcontext
def demo(by_username: str) -> None:
    """Register the demo lab's instruments (those missing) and put a few unmatched readings in
    the inbox; never in production."""
    actor = _admin(by_username)
    known = set(db.session.scalars(sa.select(Instrument.code)))
    added = [f for f in DEMO_INSTRUMENTS if f.code not in known]
    now = now_utc()
    for fields in added:
        create_instrument(db.session, actor=actor, now=now, fields=fields)
    readings = add_demo_inbox(db.session, now)
    db.session.commit()
    click.echo(f"demo instruments: {len(added)} registered, {len(known)} already there;"
               f" {readings} unmatched readings added to the inbox")
