"""The ASTM driver over a real pty against the simulated analyzer, with and without line faults.

Every test checks the end state that matters: each accession's value in the spool exactly once,
and whatever went wrong on the line kept as a quarantine item with its raw bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from instruments.codecs import astm_link as link
from instruments.driver import AstmHandler, Driver, Write
from instruments.simulators import AstmAnalyzer, PtyPort, parse_faults
from instruments.simulators.astm import session_records, uic_values
from instruments.spool import Spool, SpoolEntry
from tests.instruments.harness import driver_on, example_profile, running

ACCESSIONS = ["U26-000001", "U26-000002", "U26-000003"]


@pytest.fixture
def pty() -> Iterator[PtyPort]:
    port = PtyPort()
    yield port
    port.close()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "spool.sqlite") as s:
        yield s


def deliver(
    pty: PtyPort,
    spool: Spool,
    *faults: str,
    unit: str = "ug/L",
    ack_timeout: float = 5.0,
    **options: float,
) -> AstmAnalyzer:
    """Run the analyzer against a driver until its session is acknowledged.

    The ACK timeout is long unless a test needs it to expire (unplugging): NAKs and garbled ACKs
    are answered at once, so only a slow machine would ever wait for it.
    """
    profile = example_profile("icpms", **options)
    sim = AstmAnalyzer(
        pty,
        ACCESSIONS,
        faults=parse_faults(list(faults), unplug_for=0.3),
        ack_timeout=ack_timeout,
        retry_wait=0.2,
        unit=unit,
    )
    with driver_on(profile, pty.slave_path, spool), running(sim.run):
        assert sim.done.wait(15), "the analyzer could not deliver its session"
    return sim


def results(spool: Spool) -> dict[str, float]:
    items = [i.envelope["payload"] for i in spool.items(item_type="result")]
    found = {p["sample_id"]: p["value"] for p in items}
    assert len(found) == len(items), f"a sample was spooled twice: {items}"
    return found


def quarantined(spool: Spool) -> list[tuple[str, bytes]]:
    return [(i.envelope["payload"]["reason"], i.raw) for i in spool.items(item_type="quarantine")]


def test_clean_session(pty: PtyPort, spool: Spool) -> None:
    sim = deliver(pty, spool, unit="")
    assert results(spool) == sim.values == uic_values(ACCESSIONS)
    assert quarantined(spool) == []
    payload = spool.items()[0].envelope["payload"]
    assert payload["analyte"] == "uic" and payload["test_code"] == "127I"
    assert payload["unit"] == "µg/L" and "no unit sent; profile unit 'µg/L'" in payload["problems"]
    raw = spool.items()[0].raw  # the frame(s) of the message that carried the R record
    assert raw.startswith(b"\x02") and b"R|1|^^^127I|" in raw and raw.endswith(b"\r\n")
    assert sim.transfers == 1


def test_bad_checksum_is_naked_and_the_retransmission_counted_once(
    pty: PtyPort, spool: Spool
) -> None:
    sim = deliver(pty, spool, "bad-checksum@4")  # frame 4 = the first R record
    assert results(spool) == sim.values
    ((reason, raw),) = quarantined(spool)
    assert reason.startswith("frame rejected (NAK 1): checksum mismatch")
    assert raw.startswith(b"\x024R|1|") and raw.endswith(b"\r\n")
    assert sim.transfers == 1


def test_lost_ack_duplicate_frame_is_dropped(pty: PtyPort, spool: Spool) -> None:
    sim = deliver(pty, spool, "lost-ack@4", "lost-ack@7")
    assert results(spool) == sim.values
    assert quarantined(spool) == []  # an identical repeat is protocol, not a fault to review
    assert len(spool.items()) == 3


def test_garbage_between_frames_is_quarantined_raw(pty: PtyPort, spool: Spool) -> None:
    sim = deliver(pty, spool, "garbage@3", "garbage@8")
    assert results(spool) == sim.values
    noise = quarantined(spool)
    assert [reason for reason, _ in noise] == ["bytes outside a frame"] * 2
    assert all(len(raw) == 12 and b"\x02" not in raw for _, raw in noise)


def test_unplugged_mid_frame_then_whole_session_resent(pty: PtyPort, spool: Spool) -> None:
    first_frames = sum(len(f) for f in link.frames_of(session_records(uic_values(ACCESSIONS))[:5]))
    sim = deliver(
        pty, spool, f"unplug@{first_frames + 1 + 20}", frame_timeout=0.2, idle_timeout=0.4
    )
    assert sim.transfers >= 2
    assert (
        results(spool) == sim.values
    )  # the resent session's readings were already spooled: no doubles
    reasons = [reason for reason, _ in quarantined(spool)]
    assert reasons and all(
        r
        in (
            "truncated frame",
            "bytes outside a frame",
            "incomplete message (eot)",
            "incomplete message (timeout)",
        )
        or r.startswith("frame rejected")
        for r in reasons
    ), reasons


def test_message_is_spooled_before_its_ack(tmp_path: Path) -> None:
    profile = example_profile("icpms")
    actions = AstmHandler(profile).feed(
        b"\x05" + b"".join(link.frames_of(session_records({"U26-000009": 150.0})[:4])), now=0.0
    )
    kinds = [f"Write({a.data!r})" if isinstance(a, Write) else type(a).__name__ for a in actions]
    assert kinds == ["Write(b'\\x06')"] * 4 + ["SpoolEntry", "Write(b'\\x06')"]
    with Spool(tmp_path / "s.sqlite") as spool:
        seen: list[int] = []
        Driver(profile, "unused", spool).execute(
            actions, lambda data: seen.append(len(spool.items()))
        )
        assert seen == [0, 0, 0, 0, 1]
        assert (
            isinstance(actions[4], SpoolEntry)
            and actions[4].envelope.payload["sample_id"] == "U26-000009"
        )
