"""Which backups the rule keeps, and when the scheduled one runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from lims.backup.retention import Retention, file_name, keep, next_run, taken_at


def daily(start: date, days: int) -> list[datetime]:
    return [datetime(start.year, start.month, start.day, 20, 0, tzinfo=UTC) + timedelta(days=i)
            for i in range(days)]


def test_a_year_of_daily_backups_leaves_exactly_the_configured_set() -> None:
    stamps = daily(date(2026, 1, 1), 365)
    kept = sorted(s.date() for s in keep(stamps, Retention(daily=7, weekly=4, monthly=12)))
    expected = sorted(
        [date(2026, 12, d) for d in range(25, 32)]  # the last 7 days
        + [date(2026, 12, 20), date(2026, 12, 13)]  # Sundays ending ISO weeks 51 and 50
        + [date(2026, m, 1) - timedelta(days=1) for m in range(2, 13)])  # Jan 31 ... Nov 30
    assert kept == expected
    assert len(kept) == 20


def test_weeks_without_backups_do_not_age_the_good_ones_out() -> None:
    """Backups stopped in March (failing nights make no file): the rule counts the days that
    have a backup, so the last seven good ones all stay."""
    stamps = daily(date(2026, 1, 1), 75)
    kept = keep(stamps, Retention(daily=7, weekly=4, monthly=12))
    assert set(stamps[-7:]) <= kept


def test_file_names_carry_instance_time_and_revision() -> None:
    stamp = datetime(2026, 12, 7, 21, 5, 9, tzinfo=UTC)
    name = file_name("lab-almaty", stamp, "0012")
    assert name == "lab-almaty-20261207-210509Z-r0012.limsbak"
    assert taken_at(name, "lab-almaty") == stamp
    assert taken_at(name, "other") is None
    assert taken_at("notes.txt", "lab-almaty") is None


def test_next_run_is_the_configured_hour_in_the_lab_time_zone() -> None:
    now = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # 02:30 on the 8th in Almaty (UTC+5)
    assert next_run(now, 2, "Asia/Almaty") == datetime(2026, 12, 8, 21, 0, tzinfo=UTC)
    assert next_run(now, 3, "Asia/Almaty") == datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
