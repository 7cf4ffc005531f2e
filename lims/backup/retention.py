"""Which backups to keep, and when the next scheduled one runs; pure (no Flask, no database).

The rule is grandfather-father-son over the backups that exist, not over calendar days: keep
the newest backup of each of the last ``daily`` days that have one, of the last ``weekly`` ISO
weeks that have one and of the last ``monthly`` months that have one. Because periods without a
backup do not count, a run of failed nights never ages the good backups out; and pruning runs
only after a backup succeeded (`lims.backup.service`), so the newest good copy is never the one
deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

#: instance name - UTC date-time - schema revision
FILE_NAME = re.compile(r"^(?P<instance>[A-Za-z0-9_-]+)-(?P<stamp>\d{8}-\d{6})Z-r(?P<rev>[A-Za-z0-9_]+)"
                       r"\.limsbak$")
SUFFIX = ".limsbak"


@dataclass(frozen=True)
class Retention:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12


def file_name(instance: str, taken_at: datetime, revision: str) -> str:
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{instance}-{stamp}Z-r{revision}{SUFFIX}"


def taken_at(name: str, instance: str) -> datetime | None:
    """When the backup named ``name`` was taken; None for a file that is not one of this
    instance's backups (never pruned)."""
    match = FILE_NAME.match(name)
    if match is None or match["instance"] != instance:
        return None
    return datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


def _newest_per(stamps: list[datetime], key: Callable[[datetime], Hashable],
                count: int) -> set[datetime]:
    kept: dict[Hashable, datetime] = {}
    for stamp in sorted(stamps, reverse=True):
        period = key(stamp)
        if period not in kept:
            if len(kept) == count:
                break
            kept[period] = stamp
    return set(kept.values())


def keep(stamps: Iterable[datetime], rule: Retention) -> set[datetime]:
    """The backups the rule keeps, among those taken at ``stamps``."""
    stamps = list(stamps)
    return (_newest_per(stamps, lambda s: s.date(), rule.daily)
            | _newest_per(stamps, lambda s: s.isocalendar()[:2], rule.weekly)
            | _newest_per(stamps, lambda s: (s.year, s.month), rule.monthly))


def next_run(now: datetime, hour: int, timezone: str) -> datetime:
    """The next time it is ``hour``:00 in the laboratory's time zone, after ``now`` (UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0,
                                                         microsecond=0)
    return candidate.astimezone(UTC)
