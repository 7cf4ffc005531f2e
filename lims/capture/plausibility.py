"""Is this reading plausibly this sample's? The questions a person attaching an inbox reading by
hand must answer before it is attached.

A reading measured before the sample was collected, or long after it (more than the sample
kind's maximum age, the reference data's ``sample_kinds.max_age_days``), one of an analyte
measured in
another kind of sample, or one for a sample that already has a current value of that
analyte, is most often a mistyped accession. It may still be right (an instrument clock set wrong, a sample
re-measured on purpose), so it is asked, not refused; the answer goes into the audit event.

Pure: dates and kinds in, question codes and their parameters out (no Flask, no database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lims.samples.models import SampleKind

@dataclass(frozen=True)
class Doubt:
    """One question: ``code`` is stable (the confirmed form sends it back), ``params`` word it."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


def doubts(*, measured_at: datetime | None, collected_at: datetime, sample_kind: SampleKind,
           analyte_kind: SampleKind, max_age: timedelta | None,
           has_current_value: bool) -> list[Doubt]:
    """The questions for attaching a reading to a sample, in the order they are worth asking.

    ``measured_at`` and ``collected_at`` are both aware (the instrument's clock already placed in
    the lab's time zone); an unknown measurement time raises no time question, nor does an
    unknown maximum age.
    """
    found: list[Doubt] = []
    if sample_kind is not analyte_kind:
        found.append(Doubt("wrong_kind", {"kind": sample_kind.value,
                                          "analyte_kind": analyte_kind.value}))
    if measured_at is not None and measured_at < collected_at:
        found.append(Doubt("before_collection", {"days": (collected_at - measured_at).days}))
    elif measured_at is not None and max_age is not None and measured_at - collected_at > max_age:
        found.append(Doubt("too_old", {"days": (measured_at - collected_at).days,
                                       "max_days": max_age.days}))
    if has_current_value:
        found.append(Doubt("has_value"))
    return found
