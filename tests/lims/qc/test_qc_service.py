"""Westgard on stored control values across runs, rejected runs leaving the statistics, targets
established from 20 runs, and rule sets configured per method version."""

from __future__ import annotations

import statistics

import pytest
import sqlalchemy as sa

from lims.analysis import catalogue
from lims.analysis.demo import seed_demo_qc
from lims.analysis.models import AnalyticalRun
from lims.core.errors import BusinessRuleViolation
from lims.core.permissions import Role
from lims.qc import service as qc
from lims.qc.models import TargetSource
from tests.conftest import FIXED_NOW


@pytest.fixture()
def setup(session, make_user):
    admin = make_user(Role.ADMIN)
    seed_demo_qc(session, actor=admin, now=FIXED_NOW)
    mv = catalogue.current_version(session, "UIC-SK-PLATE")
    lots = qc.active_lots(session, mv.method)

    def new_run(method_version=mv) -> AnalyticalRun:
        run = AnalyticalRun(method_version_id=method_version.id, created_at=FIXED_NOW,
                            created_by_id=admin.id, layout={}, entries={}, problems=[])
        session.add(run)
        session.flush()
        return run

    return admin, mv, lots, new_run


def _values(lots, **z):
    """Control values at the given z-scores (others at the mean)."""
    return {level: [lot.target_mean + z.get(level, 0.0) * lot.target_sd]
            for level, lot in lots.items()}


def test_two_of_three_beyond_2sd_across_runs_rejects(session, setup):
    _, mv, lots, new_run = setup
    first = qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                                   values=_values(lots, low=2.5))
    assert first["accepted"] and [v["rule"] for v in first["violations"]] == ["1-2s"]
    second = qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id,
                                    method=mv.method, values=_values(lots, low=2.4))
    assert not second["accepted"]
    assert "2of3-2s" in {v["rule"] for v in second["violations"] if v["reject"]}


def test_a_rejected_runs_controls_leave_the_history(session, setup):
    _, mv, lots, new_run = setup
    bad = new_run()
    qc.record_and_evaluate(session, now=FIXED_NOW, run_id=bad.id, method=mv.method,
                           values=_values(lots, low=2.5))
    qc.stop_counting(session, bad.id)
    after = qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                                   values=_values(lots, low=2.4))
    assert after["accepted"]


def test_rules_are_configured_per_method_version(session, setup):
    admin, mv, lots, new_run = setup
    relaxed = catalogue.add_method_version(session, actor=admin, now=FIXED_NOW, base=mv,
                                           definition={**mv.definition,
                                                       "westgard_rules": ["1-3s", "R-4s"]},
                                           note="SOP rev. 3: 1-3s/R-4s only")
    assert relaxed.version == mv.version + 1 and mv.definition["westgard_rules"] != ["1-3s"]
    for z in (2.5, 2.4):
        out = qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run(relaxed).id,
                                     method=relaxed.method, values=_values(lots, low=z))
        assert out["accepted"] and out["violations"] == []
    beyond = qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run(relaxed).id,
                                    method=relaxed.method, values=_values(lots, mid=-3.2))
    assert [v["rule"] for v in beyond["violations"]] == ["1-3s"]


def test_target_is_established_from_twenty_runs(session, setup):
    admin, mv, lots, new_run = setup
    lot = lots["mid"]
    values = [150 + (i % 7) - 3 + 0.5 * (i % 3) for i in range(19)]
    for v in values:
        qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                               values={**_values(lots), "mid": [v]})
    with pytest.raises(BusinessRuleViolation, match="at least 20"):
        qc.establish_target(session, actor=admin, now=FIXED_NOW, lot=lot)
    values.append(151.0)
    qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                           values={**_values(lots), "mid": [151.0]})
    qc.establish_target(session, actor=admin, now=FIXED_NOW, lot=lot)
    assert lot.target_mean == pytest.approx(statistics.mean(values))
    assert lot.target_sd == pytest.approx(statistics.stdev(values))
    assert lot.target_n == 20 and lot.target_source is TargetSource.ESTABLISHED


def test_a_lot_without_target_cannot_judge_a_run(session, setup):
    admin, mv, lots, new_run = setup
    material = lots["high"].material
    qc.add_lot(session, actor=admin, now=FIXED_NOW, material=material, lot_number="NEW-1")
    out = qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                                 values=_values(lots))
    assert not out["accepted"]
    assert any("NEW-1" in m and "no target" in m for m in out["messages"])


def test_levey_jennings_page_shows_the_chart(session, client, login, setup, make_user):
    _, mv, lots, new_run = setup
    for z in (0.5, -1.0, 2.2):
        qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                               values=_values(lots, low=z))
    login(make_user(Role.TECHNICIAN))
    page = client.get(f"/analysis/qc/lots/{lots['low'].id}").get_data(as_text=True)
    assert "<svg" in page and "+3 SD" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(
        sa.table("control_results"))) >= 9


def test_levey_jennings_chart_can_be_read_as_numbers(session, client, login, setup, make_user):
    """WCAG 1.1.1: the chart has a text summary and its values as a table (one click away, in a
    <details>), each value with its SD from the mean and what marks it."""
    from html.parser import HTMLParser

    _, mv, lots, new_run = setup
    for z in (0.5, -1.0, 2.2):
        qc.record_and_evaluate(session, now=FIXED_NOW, run_id=new_run().id, method=mv.method,
                               values=_values(lots, low=z))
    login(make_user(Role.TECHNICIAN))
    page = client.get(f"/analysis/qc/lots/{lots['low'].id}").get_data(as_text=True)

    class Rows(HTMLParser):
        """The rows of the table inside the chart's <details>, as lists of cell texts."""

        def __init__(self) -> None:
            super().__init__()
            self.inside, self.rows, self.cell = False, [], None

        def handle_starttag(self, tag, attrs):
            self.inside |= tag == "details"
            if self.inside and tag == "tr":
                self.rows.append([])
            if self.inside and tag == "td":
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "details":
                self.inside = False
            if self.inside and tag == "td" and self.cell is not None:
                self.rows[-1].append(" ".join(self.cell.split()))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    parser = Rows()
    parser.feed(page)
    rows = [row for row in parser.rows if row]
    assert len(rows) == 3
    assert 'aria-labelledby="lj-summary"' in page and "3 control values" in page
    assert "1 at 2 SD or more from the mean" in page
    assert [row[3] for row in rows] == ["0.50", "-1.00", "2.20"]
    assert rows[2][4] == "2 SD or more from the mean"
