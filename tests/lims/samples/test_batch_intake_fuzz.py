"""Batch intake under random cells (Hypothesis): whatever a spreadsheet holds, the page answers
302 (every row registered) or 422 (the problems listed, nothing registered) — never a 500 and
never a partial save. Bounded to a few dozen uploads, each through the real page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lims.samples.models import IntakeBatch, Sample

HOSTILE = ["", " ", "=1+1", "+7", "-1", "@SUM(A1)", "1e309", "NaN", "inf", "-0", "0", "1,5",
           "9" * 40, "2099-01-01", "1900-01-01", "2026-02-30 25:61", "\u202eevil", "\u200b",
           "a\x00b", "\t", "x" * 300, "да", "жоқ", "Ω", "0x10", "١٢٣"]
VALID = {
    "age_months": ["96", "108", "120"],
    "sex": ["F", "M"],
    "physiological_status": ["none"],
    "population_group": ["SAC"],
    "household_code": ["H-1", "H-2", ""],
    "volume_ml": ["4.5", "0.9", "12"],
    "container": ["cryovial", "screw_cap_tube"],
    "collected_at": ["2026-05-10 09:30", "2026-05-11"],
    "notes": ["", "morning sample"],
}
COLUMNS = ["cluster_code", "participant_code", *VALID]

#: A plausible row (each participant new) with up to three cells replaced by hostile or random text.
valid_rows = st.fixed_dictionaries({
    "cluster_code": st.just("{cluster}"),
    "participant_code": st.uuids().map(lambda u: f"P-{u.hex[:10]}"),
    **{column: st.sampled_from(values) for column, values in VALID.items()},
})
replacements = st.one_of(st.just({}), st.dictionaries(
    st.sampled_from(COLUMNS), st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)),
    min_size=1, max_size=3))
rows = st.lists(st.builds(lambda row, changes: {**row, **changes}, valid_rows, replacements),
                min_size=1, max_size=4)
uploads = st.one_of(
    rows.map(lambda r: ("rows", r)),
    st.binary(max_size=200).map(lambda b: ("bytes", b)),
)


def csv_bytes(table: list[dict[str, str]], cluster_code: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in table:
        writer.writerow([row[c].replace("{cluster}", cluster_code) for c in COLUMNS])
    return out.getvalue().encode("utf-8", "surrogatepass")


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(upload=uploads)
def test_random_cells_never_cause_a_500_or_a_partial_save(
        session: Any, make_user: Callable[..., Any], login: Callable[[Any], Any], cluster: Any,
        upload: tuple[str, Any]) -> None:
    kind, content = upload
    data = csv_bytes(content, cluster.code) if kind == "rows" else content
    client = login(make_user())
    before = session.scalar(sa.select(sa.func.count()).select_from(Sample))
    batches = session.scalar(sa.select(sa.func.count()).select_from(IntakeBatch))
    response = client.post("/samples/batch", data={
        "round_id": str(cluster.round_id), "kind": "urine",
        "file": (io.BytesIO(data), "fuzz.csv")}, content_type="multipart/form-data")
    assert response.status_code in (302, 422), response.status_code
    event(f"answered {response.status_code}")
    session.expire_all()
    added = session.scalar(sa.select(sa.func.count()).select_from(Sample)) - before
    added_batches = session.scalar(sa.select(sa.func.count()).select_from(IntakeBatch)) - batches
    if response.status_code == 302:
        assert kind == "rows" and added == len(content) and added_batches == 1
    else:
        assert added == 0 and added_batches == 0
