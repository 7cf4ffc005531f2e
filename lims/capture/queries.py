"""Read-side queries of the capture pages: the readings inbox as a list of the list machinery
(``lims.core.listing``), newest arrival first over ``(status, received_at, id)``."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from lims.capture.labels import reading_label
from lims.capture.models import Instrument, InstrumentReading, ReadingStatus, ReadingType
from lims.capture.reasons import describe
from lims.core.listing import Column, Filter, ListSpec, date_range_filters, enum_parser, id_parser
from lims.extensions import db
from lims.samples.models import Sample

#: How the inbox's status filter names the states (plates are named as such).
STATUS_CHOICES = (
    ("unmatched", _l("Unmatched")),
    ("pending", _l("Plates awaiting a run")),
    ("claimed", _l("Plates used by a run")),
    ("attached", _l("Attached")),
    ("discarded", _l("Discarded")),
)


def _status_choices() -> list[tuple[str, str]]:
    return [(value, str(text)) for value, text in STATUS_CHOICES]


def _instrument_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(Instrument.id, Instrument.code).order_by(Instrument.code))
    return [(str(i), code) for i, code in rows]


def _enum_text(enum_cls: type[ReadingStatus] | type[ReadingType]) -> Callable[[str], str]:
    return lambda value: reading_label(enum_cls(value))


INBOX_LIST = ListSpec(
    name="inbox",
    title=_l("Readings inbox"),
    source=InstrumentReading,
    id=InstrumentReading.id,
    columns=(
        Column("reading", "#", InstrumentReading.id, kind="int", sortable=True, unique=True),
        Column("received", _l("Received at"), InstrumentReading.received_at, kind="datetime",
               sortable=True),
        Column("instrument", _l("Instrument"), Instrument.code),
        Column("type", _l("Type"), InstrumentReading.type, display=_enum_text(ReadingType)),
        Column("status", _l("Status"), InstrumentReading.status,
               display=_enum_text(ReadingStatus)),
        Column("sample_ref", _l("Sample sent"), InstrumentReading.sample_ref),
        Column("analyte", _l("Analyte"), sa.func.coalesce(InstrumentReading.analyte,
                                                           InstrumentReading.test_code)),
        Column("raw_value", _l("Value"), InstrumentReading.raw_value),
        Column("unit", _l("Unit"), InstrumentReading.unit),
        Column("accession", _l("Sample"), Sample.accession),
        Column("reason", _l("Reason"), InstrumentReading.reason, display=describe),
        Column("resolution", _l("Resolution"), InstrumentReading.resolution_reason),
    ),
    filters=(
        Filter("status", _l("Status"), enum_parser(ReadingStatus),
               lambda v: InstrumentReading.status == v, choices=_status_choices,
               default=ReadingStatus.UNMATCHED.value),
        Filter("instrument", _l("Instrument"), id_parser,
               lambda v: InstrumentReading.instrument_id == v, choices=_instrument_choices),
        *date_range_filters(InstrumentReading.received_at, "received", _l("Received from"),
                            _l("Received to")),
    ),
    default_sort="-received",
    joins=lambda stmt: (stmt.join(Instrument, Instrument.id == InstrumentReading.instrument_id)
                        .outerjoin(Sample, Sample.id == InstrumentReading.sample_id)),
)
