"""Running drivers and simulators over real ptys in tests: threads, a stop event, and waiting on
conditions with a timeout instead of sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from instruments.driver import Driver
from instruments.profiles import Profile, load_profiles
from instruments.spool import Spool

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "instruments.example.toml"


def example_profile(name: str, **options: Any) -> Profile:
    """A profile from the example config, with options (of its protocol table) overridden."""
    profile = load_profiles(EXAMPLE)[name]
    if options:
        profile = replace(profile, options=replace(profile.options, **options))  # type: ignore[type-var]
    return profile


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@contextmanager
def running(*targets: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """Run each `target(stop)` in a thread; stop and join them on exit."""
    stop = threading.Event()
    threads = [threading.Thread(target=t, args=(stop,), daemon=True) for t in targets]
    for t in threads:
        t.start()
    try:
        yield stop
    finally:
        stop.set()
        for t in threads:
            t.join(10)
            assert not t.is_alive(), "a driver or simulator thread did not stop"


@contextmanager
def driver_on(profile: Profile, port_path: str, spool: Spool) -> Iterator[Driver]:
    """A driver reading `port_path` in a thread, already connected when the block starts."""
    driver = Driver(profile, port_path, spool)
    with running(driver.run):
        assert driver.connected.wait(5), "driver did not open the port"
        yield driver
