"""Method versions and reagent lots as rows: the catalogue's defaults, new versions, titrant lots.

The pure definitions live in ``lims.analysis.methods``; this module stores them (JSON) and adds
versions. A version is never edited: an admin's change is the next version, and runs and
results keep the id of the version they used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.analysis.methods import MethodVersion, default_catalogue
from lims.analysis.models import Analyte, MethodVersionRow, ReagentLot
from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.core.inputs import require_code, require_finite

METHOD_ENTITY = "method_version"
REAGENT_ENTITY = "reagent_lot"
THIOSULFATE = "thiosulfate"


def result_analyte(method: MethodVersion) -> Analyte:
    """The analyte a result of this method is filed under (RTK results are salt iodine too)."""
    return Analyte.UIC if method.matrix.value == "urine" else Analyte.SALT_IODINE


def seed_methods(session: Session, *, now: datetime) -> int:
    """Version 1 of every catalogue method that has no row yet; returns how many were added."""
    known = set(session.execute(sa.select(MethodVersionRow.code, MethodVersionRow.version)))
    added = 0
    for method in default_catalogue():
        if (method.code, method.version) in known:
            continue
        session.add(_row(method, now=now, actor=None))
        added += 1
    session.flush()
    return added


def _row(method: MethodVersion, *, now: datetime, actor: User | None,
         note: str | None = None) -> MethodVersionRow:
    return MethodVersionRow(code=method.code, version=method.version, name=method.name,
                            matrix=method.matrix.value, definition=method.to_dict(),
                            created_at=now, created_by_id=actor.id if actor else None, note=note)


def get_method_version(session: Session, method_version_id: int) -> MethodVersionRow:
    row = session.get(MethodVersionRow, method_version_id)
    if row is None:
        raise NotFoundError(_("No method version with id %(id)s.", id=method_version_id))
    return row


def current_versions(session: Session) -> list[MethodVersionRow]:
    """The newest active version of each method, by code."""
    rows = session.scalars(sa.select(MethodVersionRow).where(MethodVersionRow.is_active)
                           .order_by(MethodVersionRow.code, MethodVersionRow.version.desc()))
    latest: dict[str, MethodVersionRow] = {}
    for row in rows:
        latest.setdefault(row.code, row)
    return list(latest.values())


def current_version(session: Session, code: str) -> MethodVersionRow:
    row = session.scalar(sa.select(MethodVersionRow)
                         .where(MethodVersionRow.code == code, MethodVersionRow.is_active)
                         .order_by(MethodVersionRow.version.desc()).limit(1))
    if row is None:
        raise NotFoundError(_("No active version of method %(method)s; run 'lims seed'.",
                              method=code))
    return row


def add_method_version(session: Session, *, actor: User, now: datetime, base: MethodVersionRow,
                       definition: dict[str, Any], note: str) -> MethodVersionRow:
    """The next version of ``base``'s method from an edited definition; the older ones stay."""
    if not note.strip():
        raise ValidationError(_("Say what changed in this version."), field="note")
    latest = current_version(session, base.code)
    definition = dict(definition, code=base.code, version=latest.version + 1)
    try:
        method = MethodVersion.from_dict(definition)
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError(_("The definition is not valid: %(error)s", error=error),
                              field="definition") from error
    row = _row(method, now=now, actor=actor, note=note.strip())
    session.add(row)
    session.flush()
    record_event(session, actor=actor, now=now, action="method_version_added",
                 entity_type=METHOD_ENTITY, entity_id=row.id, entity_label=row.key,
                 reason=note.strip(), changes={"based_on": base.key})
    return row


def add_reagent_lot(session: Session, *, actor: User | None, now: datetime, lot_number: str,
                    molarity: float | None, standardised_at: datetime | None = None,
                    reagent: str = THIOSULFATE) -> ReagentLot:
    """A titrant lot; its molarity may be added later (a run cannot compute without it)."""
    lot_number = lot_number.strip()
    if not lot_number:
        raise ValidationError(_("A lot needs a number."), field="lot_number")
    require_code(lot_number, field="lot_number")
    require_finite(molarity, field="molarity")
    if molarity is not None and not 0 < molarity < 1:
        raise ValidationError(_("A thiosulfate molarity of %(molarity)s mol/L is not plausible.",
                                molarity=molarity), field="molarity")
    exists = session.scalar(sa.select(ReagentLot.id).where(ReagentLot.reagent == reagent,
                                                           ReagentLot.lot_number == lot_number))
    if exists is not None:
        raise ConflictError(_("Lot %(lot)s of %(reagent)s is already registered.",
                              lot=lot_number, reagent=reagent), field="lot_number")
    lot = ReagentLot(reagent=reagent, lot_number=lot_number, molarity=molarity,
                     standardised_at=standardised_at, created_at=now,
                     created_by_id=actor.id if actor else None)
    session.add(lot)
    session.flush()
    record_event(session, actor=actor, now=now, action="reagent_lot_added",
                 entity_type=REAGENT_ENTITY, entity_id=lot.id, entity_label=lot_number,
                 changes={"molarity": {"before": None, "after": molarity}})
    return lot
