"""Spreadsheet intake: the whole file is checked first; all rows are registered or none."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from lims.audit.models import AuditEvent
from lims.core.errors import ValidationError
from lims.monitoring.models import Household, Participant
from lims.samples import batch_import
from lims.samples.models import IntakeBatch, Sample, SampleKind
from lims.samples.registration import register_intake_file
from tests.conftest import FIXED_NOW

ALMATY = ZoneInfo("Asia/Almaty")
URINE_HEADER = ("cluster_code,participant_code,age_months,sex,physiological_status,population_group,"
                "household_code,volume_ml,container,collected_at,notes")



def urine_csv(cluster, rows: int = 3, extra: str = "") -> bytes:
    lines = [URINE_HEADER]
    for i in range(rows):
        lines.append(f"{cluster.code},P-{i:03d},{100 + i},F,none,SAC,H-{i // 2},4.5,cryovial,"
                     f"2026-05-10 09:{i % 60:02d},")
    return ("\n".join(lines) + "\n" + extra).encode()


def register(session, actor, cluster, data: bytes, filename: str = "intake.csv", kind=SampleKind.URINE,
             max_rows: int = 1000) -> IntakeBatch:
    parsed = batch_import.parse_file(data, filename, kind=kind, timezone=ALMATY, max_rows=max_rows)
    return register_intake_file(session, actor=actor, now=FIXED_NOW, round_id=cluster.round_id,
                                filename=filename, data=data, parsed=parsed)


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_good_csv_registers_every_row(session, actor, cluster):
    data = urine_csv(cluster, rows=5)
    batch = register(session, actor, cluster, data)
    assert (batch.row_count, batch.kind, batch.sha256) == (5, SampleKind.URINE, hashlib.sha256(data).hexdigest())
    samples = list(session.scalars(sa.select(Sample).where(Sample.intake_batch_id == batch.id).order_by(Sample.id)))
    numbers = [int(s.accession[-6:]) for s in samples]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    # 09:00 in Almaty is 04:00 UTC
    assert samples[0].collected_at == datetime(2026, 5, 10, 4, 0, tzinfo=UTC)
    # rows 0 and 1 share household H-0
    assert samples[0].household_id == samples[1].household_id != samples[2].household_id
    assert all(s.region_id == cluster.region_id and s.round_id == cluster.round_id for s in samples)
    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "sample", AuditEvent.entity_id.in_([s.id for s in samples])))
    assert sorted(e.entity_label for e in events) == sorted(s.accession for s in samples)
    assert session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "intake_batch", AuditEvent.entity_id == batch.id)).one() == "intake_file_registered"


def test_good_xlsx_registers_salt(session, actor, cluster, make_participant):
    make_participant(cluster, household=Household(cluster=cluster, code="H-77"))
    frame = pd.DataFrame({
        "Cluster code": [cluster.code, cluster.code],
        "household_code": ["H-77", ""],
        "salt_source": ["household", "RETAIL"],
        "brand": ["Aral", ""],
        "packaging": ["paper", ""],
        "iodized_per_label": ["yes", ""],
        "collected_at": [datetime(2026, 5, 11, 10, 30), "2026-05-11"],
        "kind": ["salt", "salt"],
    })
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    batch = register(session, actor, cluster, out.getvalue(), filename="salt.XLSX", kind=None)
    assert batch.kind == SampleKind.SALT and batch.row_count == 2
    household_salt, retail_salt = session.scalars(
        sa.select(Sample).where(Sample.intake_batch_id == batch.id).order_by(Sample.id))
    assert household_salt.accession.startswith("S-2026-")
    assert household_salt.household.code == "H-77"
    assert household_salt.collected_at == datetime(2026, 5, 11, 5, 30, tzinfo=UTC)
    assert retail_salt.household_id is None and retail_salt.iodized_per_label is None


def test_bad_rows_are_all_reported_and_nothing_is_saved(session, actor, cluster):
    before = {m: count(session, m) for m in (Sample, Participant, Household, IntakeBatch, AuditEvent)}
    bad = (f"{cluster.code},P-900,abc,F,none,SAC,H-1,4.5,cryovial,2026-05-10,\n"        # row 5: age
           f"{cluster.code},P-901,100,X,none,SAC,H-1,-2,cryovial,2026-05-10,\n"         # row 6: sex, volume
           f"NOPE,P-902,100,F,none,SAC,H-1,4.5,cryovial,2026-05-10,\n"                  # row 7: cluster
           f"{cluster.code},P-903,100,F,none,SAC,H-1,4.5,bottle,10/05/2026,\n"           # row 8: container, date
           f"{cluster.code},P-904,30,M,pregnant,SAC,H-1,4.5,cryovial,2027-01-01,\n")     # row 9: rules
    with pytest.raises(ValidationError) as info:
        register(session, actor, cluster, urine_csv(cluster, rows=3, extra=bad))
    found = {(e["row"], e["column"]) for e in info.value.errors}
    assert found == {
        (5, "age_months"), (6, "sex"), (6, "volume_ml"), (7, "cluster_code"), (8, "container"),
        (8, "collected_at"), (9, "collected_at"), (9, "age_months"), (9, "physiological_status"),
    }
    assert "nothing was registered" in info.value.message
    messages = {(e["row"], e["column"]): e["message"] for e in info.value.errors}
    assert messages[(5, "age_months")] == "expected a whole number, got 'abc'"
    assert "is not one of: F, M" in messages[(6, "sex")]
    assert messages[(6, "volume_ml")] == "volume cannot be negative"
    assert "no cluster NOPE" in messages[(7, "cluster_code")]
    assert {m: count(session, m) for m in before} == before


def test_missing_and_unknown_columns_are_listed(session, actor, cluster):
    data = b"cluster_code,participant_code,colour\nC1,P1,red\n"
    with pytest.raises(ValidationError) as info:
        register(session, actor, cluster, data)
    message = info.value.message
    assert "missing columns: age_months, sex, population_group, volume_ml, container, collected_at" in message
    assert "unknown columns: colour" in message
    assert {"row": 1, "column": "colour", "message": "unknown column"} in info.value.errors


def test_duplicate_participant_codes_in_the_file(session, actor, cluster):
    extra = f"{cluster.code},P-001,100,F,none,SAC,H-1,4.5,cryovial,2026-05-10,\n"
    with pytest.raises(ValidationError) as info:
        register(session, actor, cluster, urine_csv(cluster, rows=3, extra=extra))
    rows = sorted(e["row"] for e in info.value.errors)
    assert rows == [3, 5]
    assert "participant code P-001 appears more than once in the file (rows 3, 5)" in info.value.errors[0]["message"]


def test_oversize_file_is_refused(session, actor, cluster):
    with pytest.raises(ValidationError, match="the file has 6 rows; at most 5"):
        register(session, actor, cluster, urine_csv(cluster, rows=6), max_rows=5)


def test_known_participant_with_other_age_is_reported(session, actor, cluster, make_participant):
    make_participant(cluster, code="P-000", age_months=90)
    with pytest.raises(ValidationError) as info:
        register(session, actor, cluster, urine_csv(cluster, rows=2))
    [error] = info.value.errors
    assert (error["row"], error["column"]) == (2, "participant_code")
    assert "participant P-000 already registered with age 90 months (now 100)" in error["message"]


def test_one_kind_per_file(session, actor, cluster):
    data = (URINE_HEADER + ",kind\n"
            f"{cluster.code},P-1,100,F,none,SAC,,4.5,cryovial,2026-05-10,,urine\n"
            f"{cluster.code},P-2,100,F,none,SAC,,4.5,cryovial,2026-05-10,,salt\n").encode()
    with pytest.raises(ValidationError, match="one kind of sample"):
        register(session, actor, cluster, data, kind=None)
    with pytest.raises(ValidationError) as info:
        register(session, actor, cluster, data, kind=SampleKind.URINE)
    assert [(e["row"], e["column"]) for e in info.value.errors] == [(3, "kind")]


def test_kind_must_be_chosen_or_in_the_file(session, actor, cluster):
    with pytest.raises(ValidationError, match="add a 'kind' column"):
        register(session, actor, cluster, urine_csv(cluster), kind=None)


# --- parsing without a database -----------------------------------------------------------------

def test_cells_are_read_as_text_and_rows_numbered_as_in_the_sheet():
    data = ("cluster_code;participant_code;age_months;sex;population_group;volume_ml;container;collected_at\n"
            "C1;007;100;f;SAC;1,25;CRYOVIAL;2026-05-10T08:00\n"
            ";;;;;;;\n"
            "C1;NA;100;M;SAC;3;cryovial;2026-05-10 08:00:00\n").encode("cp1251")
    parsed = batch_import.parse_file(data, "x.csv", kind=SampleKind.URINE, timezone=ALMATY, max_rows=10)
    assert parsed.errors == []
    first, second = parsed.rows
    assert (first.number, second.number) == (2, 4)
    assert first.values["participant_code"] == "007" and second.values["participant_code"] == "NA"
    assert str(first.values["volume_ml"]) == "1.25"
    assert first.values["collected_at"] == datetime(2026, 5, 10, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("data", "name", "text"), [
    (b"", "x.csv", "could not be read"),
    (b"a,b\n", "x.csv", "no data rows"),
    (b"whatever", "x.pdf", "upload a .csv or .xlsx file"),
    (b"not a zip", "x.xlsx", "could not be read"),
])
def test_unreadable_files(data, name, text):
    with pytest.raises(ValidationError, match=text):
        batch_import.parse_file(data, name, kind=SampleKind.URINE, timezone=ALMATY, max_rows=10)


def test_packaged_templates_parse(app):
    from importlib import resources

    for kind in SampleKind:
        data = resources.files("lims.data").joinpath(f"intake-template-{kind.value}.csv").read_bytes()
        parsed = batch_import.parse_file(data, "t.csv", kind=kind, timezone=ALMATY, max_rows=10)
        assert parsed.errors == [] and len(parsed.rows) == 2


# --- the page -------------------------------------------------------------------------------------

def test_batch_page_registers_and_offers_labels(session, make_user, login, cluster):
    client = login(make_user())
    page = client.get("/samples/batch")
    assert page.status_code == 200 and "template-urine.csv" in page.get_data(as_text=True)
    guide = page.get_data(as_text=True)  # every column explained, with the codes of the choices
    assert "<code translate=\"no\">screw_cap_tube, cryovial, urine_cup</code>" in guide and "Urine volume, mL" in guide
    assert client.get("/samples/batch/template-salt.csv").data.startswith(b"cluster_code,household_code")
    response = client.post("/samples/batch", data={
        "round_id": str(cluster.round_id), "kind": "urine",
        "file": (io.BytesIO(urine_csv(cluster, rows=4)), "field-week-19.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Registered 4 samples from field-week-19.csv." in page
    assert "L7651 · 65 labels per sheet · 38.1 × 21.2 mm" in page  # the sheet choice, translatable
    batch = session.scalars(sa.select(IntakeBatch).where(IntakeBatch.filename == "field-week-19.csv")).one()
    labels = client.get(f"/samples/batch/{batch.id}/labels.pdf?sheet=L7163&start=2")
    assert labels.status_code == 200
    text = PdfReader(io.BytesIO(labels.data)).pages[0].extract_text()
    accessions = session.scalars(sa.select(Sample.accession).where(Sample.intake_batch_id == batch.id)).all()
    assert len(accessions) == 4 and all(a in text for a in accessions)
    posted = client.post("/samples/labels.pdf", data={"intake_batch": str(batch.id), "sheet": "L7651"})
    assert posted.status_code == 200


def test_batch_page_lists_every_problem(session, make_user, login, cluster):
    client = login(make_user())
    bad = (f"{cluster.code},P-900,abc,F,none,SAC,H-1,4.5,cryovial,2026-05-10,\n"
           f"{cluster.code},P-901,100,F,none,SAC,H-1,4.5,cryovial,2099-05-10,\n")
    response = client.post("/samples/batch", data={
        "round_id": str(cluster.round_id), "kind": "urine",
        "file": (io.BytesIO(urine_csv(cluster, rows=1, extra=bad)), "bad.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "2 problems in bad.csv: nothing was registered" in page
    assert "expected a whole number, got &#39;abc&#39;" in page and "collection time is in the future" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Sample).where(Sample.cluster_id == cluster.id)) == 0
