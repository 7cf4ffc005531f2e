"""Which rows a monitoring report is built from: verified current results only, every collected
sample counted (pending, rejected), cancelled ones left out, censored values kept censored."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.models import MethodVersionRow, ResultStatus
from lims.core.errors import ValidationError
from lims.monitoring.models import Cluster
from lims.reporting.data import ReportScope, load_frames
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind


def test_frames_hold_verified_results_and_count_the_rest(
        session: Session, make_cluster: Callable[..., Cluster], make_sample, make_result) -> None:
    cluster = make_cluster()
    analysed = make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.RECEIVED)
    make_result(analysed, value=142.5)
    censored = make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.RECEIVED)
    make_result(censored, comparator="<", limit=14.0)
    preliminary = make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.RECEIVED)
    make_result(preliminary, value=99.0, status=ResultStatus.PRELIMINARY)
    make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.REJECTED)
    make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.CANCELLED)
    titrated = make_sample(SampleKind.SALT, cluster=cluster, status=SampleStatus.RECEIVED)
    make_result(titrated, value=31.7, method="SALT-TITR")
    rtk = make_sample(SampleKind.SALT, cluster=cluster, status=SampleStatus.RECEIVED)
    make_result(rtk, method="SALT-RTK", category="≥15")
    make_sample(SampleKind.SALT, cluster=cluster, status=SampleStatus.RECEIVED)

    frames = load_frames(session, ReportScope(round_id=cluster.round_id))
    urine, salt = frames.urine, frames.salt
    assert len(urine) == 4  # the cancelled sample is not part of the survey
    by_status = {k: v for k, v in urine["status"].value_counts().to_dict().items() if v}
    assert by_status == {"analysed": 2, "pending": 1, "rejected": 1}  # preliminary = pending
    values = sorted(urine.loc[urine["status"] == "analysed", "uic"].tolist(), key=str)
    assert 142.5 in values and any(math.isnan(v) for v in values)
    row = urine[urine["censored"]].iloc[0]
    assert row["lod"] == 14.0 and math.isnan(row["uic"])
    assert set(urine["region_code"]) == {cluster.region.iso_code}
    assert (urine["period"] == cluster.round.code).all()
    assert len(salt) == 3
    assert sorted(salt["method"]) == ["rtk", "titration", "titration"]
    assert salt.loc[salt["method"] == "rtk", "category"].iloc[0] == "at_least_15"
    assert salt.loc[salt["status"] == "analysed", "iodine_mg_kg"].max() == 31.7
    # the methods annex lists what the verified results were measured with, nothing else
    used = {m.code for m in session.scalars(sa.select(MethodVersionRow).where(
        MethodVersionRow.id.in_(frames.method_version_ids)))}
    assert used == {"UIC-SK-PLATE", "SALT-TITR", "SALT-RTK"}


def test_scope_is_a_round_or_a_year(session: Session) -> None:
    with pytest.raises(ValidationError):
        ReportScope()
    with pytest.raises(ValidationError):
        ReportScope(round_id=1, year=2026)


def test_frames_carry_the_round_design(
        session: Session, make_cluster: Callable[..., Cluster], make_sample, make_result) -> None:
    """Strata, design weights and the populations of strata reach the frame per row; a round
    without weights stays self-weighting (no weight column), and reports.stats reads it."""
    from lims.monitoring.services import set_stratum_population
    from reports.stats import urine_summary

    urban = make_cluster(stratum="urban", design_weight=120.0)
    rural = make_cluster(survey_round=urban.round, stratum="rural", design_weight=300.0)
    for cluster, value in ((urban, 150.0), (rural, 90.0)):
        make_result(make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.RECEIVED),
                    value=value)
    set_stratum_population(session, actor=None, now=urban.round.created_at,
                           survey_round=urban.round, region=urban.region, stratum="urban",
                           population=500_000, source="BNS 2024", year=2024)
    frames = load_frames(session, ReportScope(round_id=urban.round_id))
    assert frames.population_sources == ("BNS 2024, 2024",)
    urine = frames.urine
    by_value = urine.set_index("uic")
    assert by_value.loc[150.0, "stratum"] == "urban" and by_value.loc[90.0, "weight"] == 300.0
    assert by_value.loc[150.0, "population"] == 500_000 and math.isnan(by_value.loc[90.0, "population"])
    table = urine_summary(urine).table
    assert set(table["weighting"]) == {"design"} and (table["strata"] == 2).all()

    plain = make_cluster()
    make_result(make_sample(SampleKind.URINE, cluster=plain, status=SampleStatus.RECEIVED),
                value=120.0)
    urine = load_frames(session, ReportScope(round_id=plain.round_id)).urine
    assert "weight" not in urine.columns and "stratum" not in urine.columns
    assert set(urine_summary(urine).table["weighting"]) == {"self"}
