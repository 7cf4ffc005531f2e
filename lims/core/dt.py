"""The one clock. Services take ``now`` so tests can pin time; everything is stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo


def now_utc() -> datetime:
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite drops the zone); aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def today_utc() -> date:
    return now_utc().date()


def local_midnight(day: date, zone: tzinfo, days_after: int = 0) -> datetime:
    """The UTC moment a day typed by a person begins in their zone (``days_after`` later): a
    filter "from 12 May to 13 May" is ``[midnight 12 May, midnight 14 May)`` there."""
    return ensure_utc(datetime.combine(day + timedelta(days=days_after), time.min, tzinfo=zone))
