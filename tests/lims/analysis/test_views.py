"""The analysis pages driven like a browser: a technician builds a plate from received urine,
attaches the simulated reader's plate, calculates and accepts; a second user verifies. Every
page renders (curve SVG, PDFs, Levey-Jennings, methods) and refusals are shown, not raised."""

from __future__ import annotations

import sqlalchemy as sa

from lims.analysis.models import AnalyticalRun, Result, ResultStatus, RunStatus
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.lims.analysis.conftest import plate_reading


def _logout(client):
    client.post("/logout")


def test_technician_builds_a_plate_and_a_reviewer_verifies(session, client, login, lab, received,
                                                            plate_for):
    samples = received(4)
    login(lab["tech"])
    assert client.get("/analysis/worklist?method=UIC-SK-PLATE").status_code == 200
    page = client.get("/analysis/runs/new?method=UIC-SK-PLATE")
    assert page.status_code == 200
    mv = lab["plate_method"]
    response = client.post("/analysis/runs/new", data={
        "method": str(mv.id), "instrument": str(lab["reader"].id), "calibration_model": "",
        "reagent_lot": "", "max_samples": "4"})
    assert response.status_code == 302, response.get_data(as_text=True)
    run = session.scalars(sa.select(AnalyticalRun).order_by(AnalyticalRun.id.desc())).first()
    placed = {i.sample.accession for i in run.items}
    assert placed <= {s.accession for s in samples} or len(placed) == 4

    pdf = client.get(f"/analysis/runs/{run.id}/plate-map.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    reading = plate_for(run, lab["reader"])
    page = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert f"#{reading.id}" in page
    assert client.post(f"/analysis/runs/{run.id}/attach",
                       data={"reading": reading.id}).status_code == 302
    assert client.post(f"/analysis/runs/{run.id}/calculate",
                       data={"calibration_model": ""}).status_code == 302
    page = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert "<svg" in page
    assert "r² =" in page and "UIC-SK-PLATE-MID-D1" in page  # curve table and QC lots
    assert client.post(f"/analysis/runs/{run.id}/accept").status_code == 302
    session.refresh(run)
    assert run.status is RunStatus.ACCEPTED
    report = client.get(f"/analysis/runs/{run.id}/report.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")

    _logout(client)
    login(lab["reviewer"])
    assert "Results to review" in client.get("/analysis/review").get_data(as_text=True)
    assert client.post(f"/analysis/runs/{run.id}/verify").status_code == 302
    results = session.scalars(sa.select(Result).where(Result.run_id == run.id)).all()
    verified = [r for r in results if r.status is ResultStatus.VERIFIED]
    assert verified and all(r.sample.status is SampleStatus.VERIFIED for r in verified)
    page = client.get(f"/analysis/results/{verified[0].id}").get_data(as_text=True)
    assert "Amend" in page
    sample_page = client.get(f"/samples/{verified[0].sample.accession}").get_data(as_text=True)
    assert verified[0].display in sample_page and "badge verified" in sample_page


def test_the_technician_cannot_verify_own_run_and_is_told_why(session, client, login, lab,
                                                             received, plate_for):
    from lims.analysis import runs

    run = runs.create_run(session, actor=lab["tech2"], now=lab["admin"].created_at,
                          method_version=lab["plate_method"],
                          candidates=[runs.Candidate(s) for s in received(2)])
    runs.attach_plate(session, actor=lab["tech2"], now=run.created_at, run=run,
                      reading=plate_for(run, lab["reader"]))
    runs.calculate_run(session, actor=lab["tech2"], now=run.created_at, run=run)
    runs.accept_run(session, actor=lab["tech2"], now=run.created_at, run=run)
    login(lab["tech2"])  # technician and reviewer
    response = client.post(f"/analysis/runs/{run.id}/verify", follow_redirects=True)
    assert "a second person must verify" in response.get_data(as_text=True)
    assert all(r.status is ResultStatus.PRELIMINARY
               for r in session.scalars(sa.select(Result).where(Result.run_id == run.id)))


def test_a_mismatching_plate_is_refused_with_the_mismatch_shown(session, client, login, lab,
                                                               received):
    from lims.analysis import runs

    run = runs.create_run(session, actor=lab["tech"], now=lab["admin"].created_at,
                          method_version=lab["plate_method"],
                          candidates=[runs.Candidate(s) for s in received(2)])
    reading = plate_reading(session, lab["reader"], {"A1": 1.0, "B1": None})
    login(lab["tech"])
    response = client.post(f"/analysis/runs/{run.id}/attach", data={"reading": reading.id},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "does not match the layout" in text and "B1 (Blank) is over range" in text
    session.refresh(run)
    assert run.status is RunStatus.OPEN


def test_titration_entry_names_the_missing_mass(session, client, login, lab, received):
    from lims.analysis import catalogue, runs

    (salt,) = received(1, SampleKind.SALT)
    lot = catalogue.add_reagent_lot(session, actor=lab["admin"], now=lab["admin"].created_at,
                                    lot_number="TS-VIEW", molarity=0.005)
    run = runs.create_run(session, actor=lab["tech"], now=lab["admin"].created_at,
                          method_version=lab["titration"], reagent_lot=lot,
                          candidates=[runs.Candidate(salt)])
    login(lab["tech"])
    assert "Titration values" in client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    acc = salt.accession
    response = client.post(f"/analysis/runs/{run.id}/entry", data={
        f"v1_{acc}": "2.0", f"m1_{acc}": "10.0", f"v2_{acc}": "2.1", f"m2_{acc}": ""},
        follow_redirects=True)
    assert f"{acc}: parallel 2 has no salt mass" in response.get_data(as_text=True)
    response = client.post(f"/analysis/runs/{run.id}/entry", data={
        f"v1_{acc}": "2.0", f"m1_{acc}": "10.0", f"v2_{acc}": "2.1", f"m2_{acc}": "10.02",
        "ctl_low": "15.1", "ctl_high": "40.2"})
    assert response.status_code == 302
    client.post(f"/analysis/runs/{run.id}/calculate", data={})
    session.refresh(run)
    assert run.status is RunStatus.CALCULATED and run.qc_accepted


def test_reference_pages_render(session, client, login, lab):
    from lims.qc.models import ControlLot

    login(lab["admin"])
    assert "UIC-SK-PLATE" in client.get("/analysis/methods").get_data(as_text=True)
    mv = lab["plate_method"]
    assert client.get(f"/analysis/methods/{mv.id}").status_code == 200
    bad = client.post(f"/analysis/methods/{mv.id}/new-version",
                      data={"definition": "{\"code\": 1}", "note": "try"})
    assert bad.status_code == 422
    assert client.get("/analysis/qc").status_code == 200
    lot = session.scalars(sa.select(ControlLot)).first()
    assert client.get(f"/analysis/qc/lots/{lot.id}").status_code == 200
    assert client.get("/analysis/reagents").status_code == 200
    assert client.get("/analysis/entry").status_code == 200
    assert client.get("/analysis/").status_code == 200
