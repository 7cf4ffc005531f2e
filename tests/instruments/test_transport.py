"""The transport opens pyserial URLs with profile settings; failures are TransportErrors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from instruments.driver import Driver
from instruments.errors import TransportError
from instruments.profiles import SerialSettings
from instruments.simulators import PtyPort
from instruments.spool import Spool
from instruments.transport import SerialTransport, open_transport
from tests.instruments.harness import example_profile, running, wait_for

SETTINGS = SerialSettings(baudrate=19200, bytesize=7, parity="E", stopbits=2, timeout=0.05)


def test_loop_url_applies_settings_and_echoes() -> None:
    with open_transport("loop://", SETTINGS) as port:
        raw = port._port
        assert (raw.baudrate, raw.bytesize, raw.parity, raw.stopbits, raw.timeout) == (
            19200,
            7,
            "E",
            2,
            0.05,
        )
        assert port.read() == b""  # timeout, nothing there
        port.write(b"\x05")
        assert port.read() == b"\x05"


def test_pty_through_spy_url_dumps_the_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    pty = PtyPort()
    try:  # (spy's ?file= option leaves its file open in pyserial 3.5, so the dump goes to stderr)
        with open_transport(f"spy://{pty.slave_path}", SETTINGS) as port:
            os.write(pty.master, b"\x02hello")
            data = b""
            while len(data) < 6:
                data += port.read()
            port.write(b"\x06")
            assert data == b"\x02hello" and pty.read(1.0) == b"\x06"
    finally:
        pty.close()
    assert "hello" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/dev/does-not-exist", "/dev/does-not-exist: cannot open port"),
        ("nosuch://x", "nosuch://x: cannot configure port"),
    ],
)
def test_open_failures_name_the_port(url: str, message: str) -> None:
    with pytest.raises(TransportError, match=message):
        open_transport(url, SETTINGS)


def test_read_after_the_device_vanished() -> None:
    pty = PtyPort()
    port = SerialTransport(pty.slave_path, SETTINGS).open()
    pty.close()
    try:
        with pytest.raises(TransportError, match="read failed"):
            for _ in range(5):
                port.read()
    finally:
        port.close()


def test_driver_keeps_retrying_a_missing_port_until_stopped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        driver = Driver(
            example_profile("balance"), "/dev/does-not-exist", spool, reconnect_delay=0.01
        )
        with running(driver.run):
            wait_for(lambda: caplog.text.count("cannot open port") >= 3)
        assert not driver.connected.is_set() and spool.items() == []
