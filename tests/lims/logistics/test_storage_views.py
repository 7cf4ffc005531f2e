"""The storage and disposal pages over HTTP: locations, placement by scan with its refusals,
the tube desk, pick lists (HTML and PDF, 96 samples in location order), labels, disposal."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from lims.analysis.catalogue import seed_methods
from lims.auth.models import User
from lims.core.permissions import Role
from lims.logistics import disposal, storage
from lims.logistics.storage_models import Aliquot, AliquotState, SampleDisposal, StorageUnit
from lims.logistics.storage_queries import pick_list
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW
from tests.factories import PASSWORD
from tests.lims.logistics.storage_helpers import make_box, received


@pytest.fixture()
def tech(make_user: Callable[..., User]) -> User:
    return make_user(Role.TECHNICIAN)


def _text(response: object) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)


def test_create_locations(session: Session, client: FlaskClient, login, make_user) -> None:
    login(make_user(Role.ADMIN))
    assert client.post("/logistics/storage/units", data={"level": "freezer", "code": "f-9",
                                                                  "parent": "", "sample_kind": ""}
                       ).status_code == 302
    freezer = session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "F-9")).one()
    client.post("/logistics/storage/units", data={"level": "rack", "code": "F-9-R1",
                                                  "parent": str(freezer.id),
                                                  "sample_kind": ""})
    rack = session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "F-9-R1")).one()
    bad = client.post("/logistics/storage/units", data={
        "level": "box", "code": "F-9-B1", "parent": str(rack.id), "n_rows": "27", "n_cols": "9",
        "sample_kind": "urine"})
    assert bad.status_code == 422
    ok = client.post("/logistics/storage/units", data={
        "level": "box", "code": "F-9-B1", "parent": str(rack.id), "n_rows": "9", "n_cols": "9",
        "sample_kind": "urine"})
    assert ok.status_code == 302
    page = client.get("/logistics/storage/").get_data(as_text=True)
    assert "F-9-B1" in page and ">81<" in page


def test_place_by_scan_and_refusals(session: Session, client: FlaskClient, login, tech,
                                    make_sample) -> None:
    box = make_box(session, tech, rows=2, cols=3)
    sample, other = received(make_sample), received(make_sample)
    session.commit()
    login(tech)
    assert client.get(f"/logistics/storage/?box={box.code.lower()}").headers["Location"] \
        .endswith(f"/logistics/storage/boxes/{box.id}")
    done = client.post(f"/logistics/storage/boxes/{box.id}/place",
                       data={"item": sample.accession}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and 'id="cell-A1"' in page
    assert sample.accession in page.split('id="cell-A1"')[1].split("</td>")[0]
    occupied = client.post(f"/logistics/storage/boxes/{box.id}/place",
                           data={"item": other.accession, "position": "A1"})
    assert occupied.status_code == 409 and "holds" in occupied.get_data(as_text=True)
    outside = client.post(f"/logistics/storage/boxes/{box.id}/place",
                          data={"item": other.accession, "position": "C1"})
    assert outside.status_code == 422 and "outside" in outside.get_data(as_text=True)
    hostile = client.post(f"/logistics/storage/boxes/{box.id}/place",
                          data={"item": other.accession, "position": "Z99"})
    assert hostile.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(Aliquot)
                          .where(Aliquot.box_id == box.id)) == 1
    assert client.get("/logistics/storage/boxes/987654321").status_code == 404


def test_desk_checkout_return_and_panel(session: Session, client: FlaskClient, login, tech,
                                        make_sample) -> None:
    box = make_box(session, tech)
    sample = received(make_sample)
    tube = storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=sample.accession)
    session.commit()
    login(tech)
    assert client.post("/logistics/storage/checkout", data={"checkout-item": sample.accession,
                                                            "checkout-purpose": "run 7"}).status_code == 302
    assert tube.state is AliquotState.CHECKED_OUT
    # long enough ago: the dashboard shows it
    tube.checked_out_at = FIXED_NOW - timedelta(days=30)
    session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "Samples out of storage" in home and sample.accession in home
    assert client.post("/logistics/storage/return", data={"return-item": sample.accession}
                       ).status_code == 302
    assert tube.state is AliquotState.STORED
    again = client.post("/logistics/storage/return", data={"return-item": sample.accession})
    assert again.status_code == 409
    salt_box, other = make_box(session, tech, kind=SampleKind.SALT), make_box(session, tech)
    session.commit()
    wrong = client.post("/logistics/storage/move", data={"move-item": sample.accession,
                                                         "move-box": salt_box.code})
    assert wrong.status_code == 422 and "holds salt samples" in wrong.get_data(as_text=True)
    moved = client.post("/logistics/storage/move", data={"move-item": sample.accession,
                                                         "move-box": other.code,
                                                         "move-position": "i9"})
    assert moved.status_code == 302 and (tube.box_id, tube.position) == (other.id, "I9")
    box = other
    split = client.post("/logistics/storage/split", data={"split-item": sample.accession,
                                                          "split-count": "2"})
    assert split.status_code == 302
    labels = client.get(f"/logistics/storage/aliquot-labels.pdf?sample={sample.accession}")
    assert labels.status_code == 200 and f"{sample.accession}-A2" in _text(labels)
    contents = client.get(f"/logistics/storage/boxes/{box.id}/contents.pdf")
    assert sample.accession in _text(contents)
    assert client.get(f"/logistics/storage/boxes/{box.id}/label.pdf").status_code == 200


def test_pick_list_of_96_in_location_order(session: Session, tech: User, make_sample,
                                           make_cluster) -> None:
    """96 samples scattered over two freezers' boxes come out freezer, rack, box, position."""
    cluster = make_cluster()
    samples = [received(make_sample, cluster=cluster) for _ in range(98)]
    boxes = [make_box(session, tech, rows=10, cols=10) for _ in range(3)]
    spots = [(b, f"{'ABCDEFGHIJ'[i % 10]}{i // 10 + 1}") for b in boxes for i in range(100)]
    random.Random(7).shuffle(spots)
    for sample, (box, position) in zip(samples[:96], spots, strict=False):
        storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=sample.accession,
                      position=position)
    random.Random(8).shuffle(samples)
    lines = pick_list(session, samples)
    assert len(lines) == 98
    located, missing = lines[:96], lines[96:]
    keys = [(p.freezer, p.rack, p.box, "ABCDEFGHIJ".index(p.position[0]), int(p.position[1:]))
            for p in located]
    assert keys == sorted(keys) and all(p.box for p in located)
    assert all(p.problem == "not in storage" and not p.box for p in missing)


def test_pick_list_pages(session: Session, client: FlaskClient, login, tech, make_sample,
                         make_cluster) -> None:
    """From the worklist: the received urine samples in location order, those not stored last;
    the PDF says the same; the worklist page links to it."""
    seed_methods(session, now=FIXED_NOW)
    cluster = make_cluster()
    stored = [received(make_sample, cluster=cluster, priority=9) for _ in range(3)]
    loose = received(make_sample, cluster=cluster, priority=9)
    box = make_box(session, tech, rows=3, cols=3)
    for sample, position in zip(stored, ("C3", "A1", "B2"), strict=True):
        storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=sample.accession,
                      position=position)
    session.commit()
    login(tech)
    worklist = client.get("/analysis/worklist?method=UIC-SK-PLATE").get_data(as_text=True)
    assert "/logistics/storage/pick-list?source=worklist" in worklist
    page = client.get("/logistics/storage/pick-list?source=worklist&method=UIC-SK-PLATE&limit=4")
    text = page.get_data(as_text=True)
    order = [stored[1].accession, stored[2].accession, stored[0].accession, loose.accession]
    positions = [text.index(a) for a in order]
    assert positions == sorted(positions) and "not in storage" in text
    pdf = _text(client.get(
        "/logistics/storage/pick-list.pdf?source=worklist&method=UIC-SK-PLATE&limit=4"))
    assert [pdf.index(a) for a in order] == sorted(pdf.index(a) for a in order)
    assert client.get("/logistics/storage/pick-list?source=retests&method=UIC-SK-PLATE"
                      ).status_code == 200
    assert client.get("/logistics/storage/pick-list?source=nope").status_code == 422
    assert client.get("/logistics/storage/pick-list?limit=99999").status_code == 422


def test_dispose_with_witness(session: Session, client: FlaskClient, login, tech, make_sample,
                              make_user) -> None:
    witness = make_user(Role.TECHNICIAN)
    disposal.set_retention(session, actor=tech, now=FIXED_NOW, kind=SampleKind.URINE,
                           survey_round=None, days=30)
    old = received(make_sample, status=SampleStatus.VERIFIED,
                   collected_at=FIXED_NOW - timedelta(days=60))
    busy = received(make_sample, collected_at=FIXED_NOW - timedelta(days=60))
    session.commit()
    login(tech)
    listing = client.get("/logistics/disposal/").get_data(as_text=True)
    assert old.accession in listing and busy.accession not in listing
    assert "Kept until" in listing
    form = {"item": busy.accession, "reason": "retention", "witness_username": witness.username,
            "witness_password": PASSWORD}
    refused = client.post("/logistics/disposal/dispose", data=form)
    assert refused.status_code == 422 and "open work" in refused.get_data(as_text=True)
    wrong = client.post("/logistics/disposal/dispose",
                        data={**form, "item": old.accession, "witness_password": "nope"})
    assert wrong.status_code == 422
    myself = client.post("/logistics/disposal/dispose",
                         data={**form, "item": old.accession, "witness_username": tech.username})
    assert myself.status_code == 422 and "another person" in myself.get_data(as_text=True)
    done = client.post("/logistics/disposal/dispose", data={**form, "item": old.accession})
    assert done.status_code == 302
    assert session.scalar(sa.select(SampleDisposal.witness_id)
                          .where(SampleDisposal.sample_id == old.id)) == witness.id
    assert client.get(f"/logistics/storage/desk?sample={old.accession.lower()}").headers[
        "Location"].endswith(f"/logistics/storage/samples/{old.accession}")
    history = client.get(f"/logistics/storage/samples/{old.accession}").get_data(as_text=True)
    assert f"witnessed by {witness.username}" in history and "Sample disposed of" in history
    assert client.get("/logistics/storage/samples/U-2099-000000").status_code == 404


def test_retention_page(session: Session, client: FlaskClient, login, make_user) -> None:
    login(make_user(Role.ADMIN))
    assert client.post("/logistics/disposal/retention",
                       data={"kind": "salt", "survey_round": "", "days": "730"}).status_code == 302
    assert client.post("/logistics/disposal/retention",
                       data={"kind": "salt", "survey_round": "", "days": "99999999"}
                       ).status_code == 422
    assert "730" in client.get("/logistics/disposal/retention").get_data(as_text=True)


def test_disposal_list_pages_by_collection(session: Session, client: FlaskClient, login, tech,
                                           make_sample, app, monkeypatch) -> None:
    disposal.set_retention(session, actor=tech, now=FIXED_NOW, kind=SampleKind.URINE,
                           survey_round=None, days=30)
    samples = [received(make_sample, status=SampleStatus.VERIFIED,
                        collected_at=FIXED_NOW - timedelta(days=90 - n)) for n in range(3)]
    session.commit()
    login(tech)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    first = client.get("/logistics/disposal/").get_data(as_text=True)
    assert samples[0].accession in first and samples[1].accession in first
    assert samples[2].accession not in first
    older = re.search(r'href="(/logistics/disposal/\?after=[^"]+)"', first)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert samples[2].accession in second and samples[0].accession not in second
    # a cursor it did not write is the first page, not an error
    assert client.get("/logistics/disposal/?after=2026-13-01_x").status_code == 200
