"""Titration values typed into a run: NaN, Infinity and 1e999 are refused naming the sample or
the control, and nothing is stored (PostgreSQL's JSON refuses NaN; a float column would keep an
infinity)."""

from __future__ import annotations

import math

import pytest

from lims.analysis.models import RunStatus
from lims.core.errors import ValidationError
from lims.samples.models import SampleKind


@pytest.fixture()
def titration_run(session, lab, received):
    from lims.analysis import catalogue, runs

    (salt,) = received(1, SampleKind.SALT)
    lot = catalogue.add_reagent_lot(session, actor=lab["admin"], now=lab["admin"].created_at,
                                    lot_number="TS-HOSTILE", molarity=0.005)
    run = runs.create_run(session, actor=lab["tech"], now=lab["admin"].created_at,
                          method_version=lab["titration"], reagent_lot=lot,
                          candidates=[runs.Candidate(salt)])
    session.commit()
    return run, salt.accession


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("where", ["volume", "control"])
def test_titration_entry_refuses_non_finite_values(session, client, login, lab, titration_run,
                                                   bad, where):
    run, acc = titration_run
    login(lab["tech"])
    data = {f"v1_{acc}": "2.0", f"m1_{acc}": "10.0", f"v2_{acc}": "2.1", f"m2_{acc}": "10.02",
            "ctl_low": "15.1", "ctl_high": "40.2"}
    data[f"v1_{acc}" if where == "volume" else "ctl_low"] = bad
    response = client.post(f"/analysis/runs/{run.id}/entry", data=data, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Not a number or negative: {acc if where == 'volume' else 'low'}" in page
    session.refresh(run)
    assert run.status is RunStatus.OPEN and not run.entries


def test_the_service_refuses_them_too(session, lab, titration_run):
    from lims.analysis import runs

    run, acc = titration_run
    with pytest.raises(ValidationError) as caught:
        runs.enter_batch_values(session, actor=lab["tech"], now=lab["admin"].created_at, run=run,
                                samples={acc: runs.SaltEntry((2.0, math.inf), (10.0, 10.0))},
                                controls={})
    assert caught.value.field == f"{acc}.volume2"
    with pytest.raises(ValidationError):
        runs.enter_batch_values(session, actor=lab["tech"], now=lab["admin"].created_at, run=run,
                                samples={acc: runs.SaltEntry((2.0, 2.1), (10.0, 10.0))},
                                controls={"low": [math.nan]})
