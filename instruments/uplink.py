"""Pushes spooled items to the LIMS (``POST {lims}/api/v1/readings``, see `instruments.wire`).

The rules, each because of a way results get lost or doubled:

* an item becomes ``sent`` only when a 200 answer lists its key — a request that timed out may
  or may not have been stored, so it is sent again with the same key and the LIMS answers
  ``duplicate``;
* connection errors, timeouts and 5xx mean "LIMS down": nothing changes state, the attempt and
  error are recorded, and the next try waits with exponential backoff and jitter (so a lab's
  drivers do not all return at the same second), capped at `backoff_cap`;
* 422 names the bad items (``errors[].index``): exactly those are marked ``failed`` with the
  message and the rest are sent again at once (the LIMS saved nothing of the refused batch);
* 401/403 (token) and other 4xx mark the batch ``failed`` with the reason; failed items are kept
  until someone fixes the cause and runs `retry_failed()` (``lims-driver retry-failed``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from instruments.spool import Spool, StoredItem
from instruments.wire import MAX_BATCH

__all__ = ["Uplink", "UplinkReport", "LimsUnavailable", "READINGS_PATH"]

log = logging.getLogger(__name__)

READINGS_PATH = "/api/v1/readings"


class LimsUnavailable(Exception):
    """The LIMS could not be reached or answered 5xx / nonsense; try again later."""


@dataclass
class UplinkReport:
    """What one `run_once()` did."""

    sent: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class Uplink:
    """``Uplink(spool, lims_url, token)``: `run_once()`, or `run(stop)` / `start(stop)` (thread)."""

    def __init__(
        self,
        spool: Spool,
        lims_url: str,
        token: str,
        *,
        batch_size: int = MAX_BATCH,
        timeout: float = 30.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        idle_interval: float = 1.0,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        self.spool = spool
        self.url = lims_url.rstrip("/") + READINGS_PATH
        self.batch_size = batch_size
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.idle_interval = idle_interval
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
        )
        self.rng = rng or random.Random()
        self.failures = 0  # consecutive "LIMS down" rounds, drives the backoff

    # -- one round -------------------------------------------------------------------------------

    def run_once(self) -> UplinkReport:
        """Send queued items batch by batch until the queue is empty or the LIMS stops us."""
        report = UplinkReport()
        while True:
            batch = self.spool.pending(self.batch_size)
            if not batch:
                self.failures = 0
                return report
            try:
                stop = self._send(batch, report)
            except LimsUnavailable as exc:
                self.failures += 1
                report.error = str(exc)
                self.spool.record_attempt([i.idempotency_key for i in batch], str(exc))
                log.warning("LIMS unavailable (%s); %d item(s) stay queued", exc, len(batch))
                return report
            if stop:
                self.failures += 1  # a refusal that will repeat: pace the next round like an outage
                return report

    def _send(self, batch: list[StoredItem], report: UplinkReport) -> bool:
        """Post one batch; returns True when the round should stop (a refusal that will repeat)."""
        body = ('{"items":[' + ",".join(i.envelope_json for i in batch) + "]}").encode("utf-8")
        try:
            response = self.session.post(self.url, data=body, timeout=self.timeout)
        except requests.RequestException as exc:  # refused, reset, timed out, cut off mid-answer
            raise LimsUnavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 200:
            self._accepted(batch, _json(response), report)
            return False
        if status >= 500:
            raise LimsUnavailable(f"HTTP {status} {_detail(response)}")
        if status == 422:
            return self._refused_items(batch, response, report)
        reason = f"HTTP {status}: {_detail(response)}"
        if status in (401, 403):
            reason = (
                f"HTTP {status}: token rejected ({_detail(response)});"
                " fix the token, then retry-failed"
            )
        self._fail(report, [(i.idempotency_key, reason) for i in batch])
        log.error("LIMS refused a batch of %d: %s", len(batch), reason)
        return True

    def _accepted(self, batch: list[StoredItem], answer: Any, report: UplinkReport) -> None:
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise LimsUnavailable("HTTP 200 without a results list")
        ours = {i.idempotency_key for i in batch}
        confirmed: list[tuple[str, str, int | None, str | None]] = []
        for r in results:
            if (
                isinstance(r, dict)
                and r.get("idempotency_key") in ours
                and r.get("outcome") in ("attached", "unmatched", "duplicate")
            ):
                reading_id = r.get("reading_id")
                confirmed.append(
                    (
                        r["idempotency_key"],
                        r["outcome"],
                        reading_id if isinstance(reading_id, int) else None,
                        r.get("reason"),
                    )
                )
                report.outcomes[r["outcome"]] = report.outcomes.get(r["outcome"], 0) + 1
        report.sent += self.spool.mark_sent(confirmed)
        missing = ours - {c[0] for c in confirmed}
        if missing:
            # Not confirmed means not known to be stored: keep them queued, they go again.
            raise LimsUnavailable(f"LIMS answer omitted {len(missing)} item(s)")

    def _refused_items(
        self, batch: list[StoredItem], response: requests.Response, report: UplinkReport
    ) -> bool:
        problem = _json(response)
        errors = problem.get("errors") if isinstance(problem, dict) else None
        by_index: dict[int, list[str]] = {}
        for e in errors if isinstance(errors, list) else []:
            if (
                isinstance(e, dict)
                and isinstance(e.get("index"), int)
                and 0 <= e["index"] < len(batch)
            ):
                where = e.get("path") or ""
                by_index.setdefault(e["index"], []).append(
                    f"{where}: {e.get('message', '')}".strip(": ")
                )
        if not by_index:
            reason = f"HTTP 422 naming no item of the batch: {_detail(response)}"
            self._fail(report, [(i.idempotency_key, reason) for i in batch])
            return True
        self._fail(
            report,
            [
                (batch[n].idempotency_key, "HTTP 422: " + "; ".join(msgs))
                for n, msgs in sorted(by_index.items())
            ],
        )
        log.error(
            "LIMS refused %d item(s) of a batch of %d; resending the rest",
            len(by_index),
            len(batch),
        )
        return False

    def _fail(self, report: UplinkReport, failures: list[tuple[str, str]]) -> None:
        report.failed += self.spool.mark_failed(failures)
        report.error = failures[0][1] if failures else report.error

    def retry_failed(self) -> int:
        return self.spool.retry_failed()

    # -- the loop --------------------------------------------------------------------------------

    def backoff(self) -> float:
        """Seconds to wait after `failures` consecutive failed rounds: equal jitter, capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, self.failures - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def run(self, stop: threading.Event, wait: Callable[[float], object] | None = None) -> None:
        """Push until `stop` is set: idle polling while all is well, backoff while LIMS is down."""
        wait = wait or stop.wait
        while not stop.is_set():
            report = self.run_once()
            wait(self.backoff() if self.failures else self.idle_interval)
            if report.sent or report.failed:
                log.info(
                    "uplink: %d sent %s, %d failed", report.sent, report.outcomes, report.failed
                )

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run in a daemon thread beside the driver loop."""
        thread = threading.Thread(target=self.run, args=(stop,), name="uplink", daemon=True)
        thread.start()
        return thread


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: requests.Response) -> str:
    body = _json(response)
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:500]
    return (response.text or response.reason or "")[:500]
