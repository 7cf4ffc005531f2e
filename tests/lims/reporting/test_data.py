"""Which rows a monitoring report is built from: verified current results only, every collected
sample counted (pending, rejected), cancelled ones left out, censored values kept censored."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.models import MethodVersionRow, ResultStatus
from lims.core.errors import ValidationError
from lims.monitoring.models import Cluster
from lims.reporting.data import ReportScope, earlier_scopes, load_frames, year_bounds
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
    assert sorted(salt["method"]) == ["not_analysed", "rtk", "titration"]  # never under a method
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


def test_year_scope_uses_the_laboratory_calendar_and_reaches_back_to_every_year_with_data(
        session: Session, make_cluster: Callable[..., Cluster], make_sample, make_result) -> None:
    """A year report runs on SQLite and PostgreSQL alike (a date bound to a UTC datetime column
    failed on both), its year is Almaty's, and its trends reach every earlier year with data."""
    cluster = make_cluster()
    almaty = ZoneInfo("Asia/Almaty")

    def urine_at(moment: datetime, value: float) -> None:
        sample = make_sample(SampleKind.URINE, cluster=cluster, status=SampleStatus.RECEIVED,
                             collected_at=moment)
        make_result(sample, value=value)

    # 1 January 2025, 02:00 in Almaty is still 31 December 2024 in UTC: a 2025 sample
    urine_at(datetime(2025, 1, 1, 2, 0, tzinfo=almaty), 111.0)
    # 31 December 2025, 23:30 in Almaty: 2025, though UTC says the same day
    urine_at(datetime(2025, 12, 31, 23, 30, tzinfo=almaty), 122.0)
    # 1 January 2026, 00:30 in Almaty (31 December 2025 in UTC): not 2025
    urine_at(datetime(2026, 1, 1, 0, 30, tzinfo=almaty), 133.0)
    for year in (2013, 2019, 2024):  # earlier years with gaps between them, more than 3 back
        urine_at(datetime(year, 6, 1, 12, tzinfo=almaty), float(year - 1900))

    frames = load_frames(session, ReportScope(year=2025))
    assert sorted(frames.urine["uic"]) == [111.0, 122.0]
    assert (frames.urine["period"] == "2025").all()
    assert sorted(frames.earlier_urine["period"].unique()) == ["2013", "2019", "2024"]
    assert [s.year for s in earlier_scopes(session, ReportScope(year=2025), periods=2)] == [
        2024, 2019]
    start, end = year_bounds(2025, "Asia/Almaty")
    assert start == datetime(2024, 12, 31, 19, 0, tzinfo=UTC) and end.year == 2025
    utc_year = load_frames(session, ReportScope(year=2025), timezone="UTC")
    assert sorted(utc_year.urine["uic"]) == [122.0, 133.0]


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
