"""DHIS2 export and push of an issued report's indicators (``lims report export-dhis2``).

The payload is built purely in ``reports.dhis2`` from the table the open-data API serves
(``published.report_indicators``). Pushing is an HTTP POST to ``…/api/dataValueSets`` with basic
or token auth, retried with backoff on a connection error or a 5xx answer; the outcome (the
import summary, or why it failed) is an audit event on the report. The report itself is never
changed, so a failed push can simply be run again.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.auth.models import User
from lims.reporting import published
from lims.reporting.data import region_names
from lims.reporting.jobs import REPORT_ENTITY
from lims.reporting.models import ReportJob
from reports import dhis2

log = logging.getLogger(__name__)

#: A DHIS2 answer larger than this is not an import summary.
MAX_ANSWER = 1_000_000


def build_payload(session: Session, report_id: int, mapping_text: str) -> dhis2.Payload:
    """The dataValueSets document of an issued report (``MappingError`` for a bad mapping)."""
    mapping = dhis2.parse_mapping(mapping_text, regions=region_names(session))
    job = published.issued_report(session, report_id, ReportJob.xlsx)
    return dhis2.data_value_set(published.report_indicators(session, job), mapping)


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    token: str | None = None  # a DHIS2 personal access token

    def header(self) -> str | None:
        if self.token:
            return f"ApiToken {self.token}"
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        return None


@dataclass(frozen=True)
class PushOutcome:
    ok: bool
    status: int | None  # the HTTP status of the last answer, None when none came
    summary: dict[str, Any] | None  # ``dhis2.import_counts`` of the answer, if it was one
    error: str | None
    attempts: int


def _post(url: str, body: bytes, credentials: Credentials, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
    header = credentials.header()
    if header:
        request.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(MAX_ANSWER)
    except urllib.error.HTTPError as error:
        return error.code, error.read(MAX_ANSWER)


def _summary(answer: bytes) -> dict[str, Any] | None:
    try:
        return dhis2.import_counts(json.loads(answer.decode("utf-8")))
    except (ValueError, UnicodeDecodeError, TypeError, AttributeError):
        return None


def push_payload(url: str, payload: dict[str, Any], credentials: Credentials, *,
                 attempts: int = 3, backoff: float = 1.0, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> PushOutcome:
    """POST the document; a connection error or a 5xx is retried (``backoff`` doubling), a 4xx
    is final (DHIS2 answers 409 with the summary when it refused values)."""
    body = json.dumps(payload).encode("utf-8")
    status: int | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    for attempt in range(1, attempts + 1):
        try:
            status, answer = _post(url, body, credentials, timeout)
        except (urllib.error.URLError, OSError) as failure:
            status, summary, error = None, None, f"cannot reach {url}: {failure}"
        else:
            summary = _summary(answer)
            if 200 <= status < 300 and (summary is None or summary["status"] != "ERROR"):
                return PushOutcome(True, status, summary, None, attempt)
            error = f"DHIS2 answered {status}" + (f" ({summary['status']})" if summary else "")
            if status < 500:
                return PushOutcome(False, status, summary, error, attempt)
        log.warning("DHIS2 push attempt %d of %d failed: %s", attempt, attempts, error)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return PushOutcome(False, status, summary, error, attempts)


def record_push(session: Session, *, actor: User | None, now: datetime, job: ReportJob,
                url: str, outcome: PushOutcome, values: int) -> None:
    """The push's outcome as an audit event on the report (``dhis2_pushed`` or
    ``dhis2_push_failed``), with the import summary; the report row is not touched."""
    changes: dict[str, Any] = {"url": url, "values": values, "attempts": outcome.attempts,
                               "http_status": outcome.status}
    if outcome.summary is not None:
        summary = outcome.summary
        changes.update(dhis2_status=summary["status"], imported=summary["imported"],
                       updated=summary["updated"], ignored=summary["ignored"],
                       conflicts=[f"{c['object']}: {c['value']}" for c in summary["conflicts"]])
    if outcome.error:
        changes["error"] = outcome.error[:500]
    record_event(session, actor=actor, now=now,
                 action="dhis2_pushed" if outcome.ok else "dhis2_push_failed",
                 entity_type=REPORT_ENTITY, entity_id=job.id,
                 entity_label=f"report #{job.id}", changes=changes)
    session.flush()
