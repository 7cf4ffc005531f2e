"""``lims instruments``: register instruments and issue driver tokens from the command line (the
same services as the register page), and the demo set of the reference lab's instruments."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from lims.auth.models import User
from lims.auth.services import get_user_by_username
from lims.capture.models import Instrument, Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.permissions import Role
from lims.extensions import db

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
    """Register the demo lab's instruments (those missing); never in production."""
    actor = _admin(by_username)
    known = set(db.session.scalars(sa.select(Instrument.code)))
    added = [f for f in DEMO_INSTRUMENTS if f.code not in known]
    for fields in added:
        create_instrument(db.session, actor=actor, now=now_utc(), fields=fields)
    db.session.commit()
    click.echo(f"demo instruments: {len(added)} registered, {len(known)} already there")
