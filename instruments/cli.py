"""``lims-driver``: run a driver, inspect its spool, replay captures, simulate instruments.

    lims-driver run --config instruments.toml --profile icpms --port /dev/ttyUSB0 \\
                    --lims https://lims.example --token "$TOKEN"
    lims-driver status --spool spool/icpms.sqlite
    lims-driver replay capture.bin --config instruments.toml --profile icpms
    lims-driver retry-failed --spool spool/icpms.sqlite
    lims-driver simulate astm --port pty --accession U26-000001 --fault bad-checksum@3

The token may come from ``LIMS_DRIVER_TOKEN`` and the config file from ``LIMS_DRIVER_CONFIG``, so
neither needs to appear in a process list.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from instruments.driver import Driver
from instruments.errors import ConfigurationError, InstrumentError
from instruments.health import DriverStatus, Heartbeat, classify, health_file, read_health_file
from instruments.profiles import PROTOCOLS, Profile, load_profile
from instruments.spool import STATES, Spool
from instruments.uplink import Uplink

__all__ = ["main"]

log = logging.getLogger(__name__)

_config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar="LIMS_DRIVER_CONFIG",
    help="Instrument profiles file (TOML); env LIMS_DRIVER_CONFIG.",
)
_profile_option = click.option(
    "--profile",
    "profile_name",
    required=True,
    help="Profile name in --config, or a .toml file holding one profile.",
)
_spool_option = click.option(
    "--spool",
    "spool_path",
    type=click.Path(dir_okay=False),
    help="Spool file (default: the profile's).",
)


def _profile(profile_name: str, config: str | None) -> Profile:
    try:
        return load_profile(profile_name, config)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from exc


def _spool_path(spool_path: str | None, profile_name: str | None, config: str | None) -> Path:
    if spool_path:
        return Path(spool_path)
    if profile_name:
        profile = _profile(profile_name, config)
        if profile.spool is not None:
            return profile.spool
    raise click.UsageError("give --spool PATH (or --profile with a spool path)")


@click.group()
@click.option(
    "-v", "--verbose", is_flag=True, help="Debug logging, including hex dumps of the line."
)
def main(verbose: bool) -> None:
    """IodineLIMS instrument drivers."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@main.command()
@_profile_option
@_config_option
@click.option(
    "--port", "port_url", help="Device path or pyserial URL (default: the profile's port)."
)
@click.option("--lims", "lims_url", help="LIMS base URL; without it readings are only spooled.")
@click.option("--token", envvar="LIMS_DRIVER_TOKEN", help="API token; env LIMS_DRIVER_TOKEN.")
@_spool_option
@click.option(
    "--heartbeat",
    "heartbeat_interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between health reports (to the LIMS and the spool's .health.json).",
)
def run(
    profile_name: str,
    config: str | None,
    port_url: str | None,
    lims_url: str | None,
    token: str | None,
    spool_path: str | None,
    heartbeat_interval: float,
) -> None:
    """Capture readings from one instrument into the spool and push them to the LIMS."""
    profile = _profile(profile_name, config)
    port_url = port_url or profile.port
    if not port_url:
        raise click.UsageError(f"profile {profile.name!r} has no port; give --port")
    if lims_url and not token:
        raise click.UsageError("--lims needs --token (or LIMS_DRIVER_TOKEN)")
    spool = Spool(_spool_path(spool_path, profile_name, config))
    stop = _stop_on_signals()
    uplink_thread: threading.Thread | None = None
    if lims_url and token:
        uplink = Uplink(spool, lims_url, token, batch_size=profile.batch_size)
        uplink_thread = uplink.start(stop)
    else:
        log.warning("no --lims given: readings are spooled only (push later with --lims)")
    log.info(
        "%s (%s) on %s, spool %s", profile.instrument_id, profile.protocol, port_url, spool.path
    )
    status = DriverStatus(profile.instrument_id)
    # its own thread, HTTP session and spool connection: never in the way of the reading path
    Heartbeat(status, spool.path, lims_url, token, interval=heartbeat_interval).start(stop)
    Driver(profile, port_url, spool, status=status).run(stop)
    if uplink_thread is not None:
        uplink_thread.join(uplink.timeout + 1)
    spool.close()


@main.command()
@_spool_option
@click.option("--profile", "profile_name", help="Take the spool path from this profile.")
@_config_option
@click.option(
    "--backlog-after",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 10_000),
    help="Minutes the oldest unsent item may wait before the spool counts as backing up.",
)
def status(
    spool_path: str | None, profile_name: str | None, config: str | None, backlog_after: float
) -> None:
    """The spool's items per type and state, then the driver's state as the LIMS's Instruments
    page shows it (from the snapshot the running driver keeps beside the spool)."""
    path = _spool_path(spool_path, profile_name, config)
    with Spool(path) as spool:
        counts = spool.counts()
        last = spool.last_error()
    click.echo(f"{'type':<12}" + "".join(f"{s:>10}" for s in STATES))
    for item_type in sorted(counts):
        click.echo(
            f"{item_type:<12}" + "".join(f"{counts[item_type].get(s, 0):>10}" for s in STATES)
        )
    totals = {s: sum(c.get(s, 0) for c in counts.values()) for s in STATES}
    click.echo(f"{'total':<12}" + "".join(f"{totals[s]:>10}" for s in STATES))
    click.echo(f"last error: {last[1]} (at {last[0]})" if last else "last error: none")
    click.echo("")
    for line in health_lines(path, backlog_after * 60):
        click.echo(line)


def health_lines(spool_path: Path, backlog_after_seconds: float) -> list[str]:
    """The driver's latest snapshot (``<spool>.health.json``) in words: state, port, last
    bytes, last reading confirmed, spool depth, oldest unsent item, quarantined items."""
    found = read_health_file(health_file(spool_path))
    if found is None:
        return ["driver: no health report yet (has `lims-driver run` used this spool?)"]
    snap, written_at, interval = found
    now = datetime.now(UTC)
    age = max(0.0, (now - written_at).total_seconds())
    state = classify(
        age_seconds=age,
        # three missed reports: the driver is not running (or cannot write its file)
        silent_after_seconds=max(3 * interval, 30.0),
        port_open=bool(snap.get("port_open")),
        oldest_unsent_seconds=snap.get("oldest_unsent_seconds"),
        backlog_after_seconds=backlog_after_seconds,
    )
    words = {
        "silent": f"silent for {age / 60:.0f} min (driver not running?)",
        "port_down": "port down",
        "backlog": "spool backing up",
        "online": "online",
    }
    oldest = snap.get("oldest_unsent_seconds")
    return [
        f"instrument:        {snap.get('instrument_id')} (driver {snap.get('driver_version')})",
        f"state:             {words[state]}",
        f"reported at:       {written_at.isoformat(timespec='seconds')}",
        f"port:              {'open' if snap.get('port_open') else 'closed'}",
        f"last port error:   {snap.get('last_error') or 'none'}",
        f"last bytes:        {snap.get('last_bytes_at') or 'never'}",
        f"last reading sent: {snap.get('last_reading_at') or 'none yet'}",
        f"spool depth:       {snap.get('spool_depth', 0)} queued, {snap.get('spool_failed', 0)} failed",
        f"oldest unsent:     {'-' if oldest is None else f'{oldest / 60:.1f} min'}",
        f"quarantined:       {snap.get('quarantined_since_start', 0)} since the driver started",
    ]


@main.command("retry-failed")
@_spool_option
@click.option("--profile", "profile_name", help="Take the spool path from this profile.")
@_config_option
def retry_failed(spool_path: str | None, profile_name: str | None, config: str | None) -> None:
    """Put failed items back in the queue (after fixing the token or the data)."""
    with Spool(_spool_path(spool_path, profile_name, config)) as spool:
        click.echo(f"{spool.retry_failed()} item(s) queued again")


@main.command()
@click.argument("capture", type=click.File("rb"))
@_profile_option
@_config_option
@_spool_option
@click.option(
    "--chunk", default=4096, show_default=True, help="Bytes per read (as a port would deliver)."
)
def replay(
    capture: Any, profile_name: str, config: str | None, spool_path: str | None, chunk: int
) -> None:
    """Feed a captured byte stream through the profile's codec into the spool (no replies)."""
    profile = _profile(profile_name, config)
    data = capture.read()
    with Spool(_spool_path(spool_path, profile_name, config)) as spool:
        driver = Driver(profile, "replay", spool)
        with click.progressbar(
            range(0, len(data), chunk), label=f"replaying {len(data)} bytes", file=sys.stderr
        ) as offsets:
            for i in offsets:
                driver.feed(data[i : i + chunk])
        driver.flush()
        click.echo(f"{driver.stored} new item(s) spooled in {spool.path}")


@main.command()
@click.argument("model", type=click.Choice(PROTOCOLS))
@click.option(
    "--port", "port_url", required=True, help="pyserial URL of the instrument's end, or 'pty'."
)
@click.option(
    "--accession", "accessions", multiple=True, help="Sample IDs to report (astm, metrohm)."
)
@click.option(
    "--count", default=3, show_default=True, help="Items to send (generated IDs if none given)."
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    help="bad-checksum@N, lost-ack@N, garbage@N, unplug@BYTES (repeatable).",
)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--interval", default=0.5, show_default=True, help="Seconds between pushed items.")
@click.option(
    "--respond",
    is_flag=True,
    help="Plate reader: send only on RPLATE. Balance: answer commands only.",
)
@click.option(
    "--ack-timeout", default=15.0, show_default=True, help="ASTM: seconds to wait for a reply."
)
@click.option(
    "--retry-wait",
    default=10.0,
    show_default=True,
    help="ASTM: seconds before resending a failed session.",
)
@click.option(
    "--unplug-for",
    default=2.0,
    show_default=True,
    help="Seconds the cable stays out (unplug fault).",
)
def simulate(
    model: str,
    port_url: str,
    accessions: tuple[str, ...],
    count: int,
    faults: tuple[str, ...],
    seed: int,
    interval: float,
    respond: bool,
    ack_timeout: float,
    retry_wait: float,
    unplug_for: float,
) -> None:
    """Run a virtual instrument (Ctrl-C stops). With --port pty, prints the driver's path."""
    from instruments.simulators import (
        AstmAnalyzer,
        Balance,
        PlateReader,
        Titrator,
        open_port,
        parse_faults,
    )

    try:
        fault_set = parse_faults(list(faults), unplug_for)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from exc
    ids = list(accessions) or [f"U26-{seed:02d}{n:04d}" for n in range(1, count + 1)]
    try:
        port = open_port(port_url)
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc
    sim: Any
    if model == "astm":
        sim = AstmAnalyzer(
            port, ids, seed=seed, faults=fault_set, ack_timeout=ack_timeout, retry_wait=retry_wait
        )
    elif model == "biorad":
        sim = PlateReader(
            port, count=count, seed=seed, interval=interval, respond=respond, faults=fault_set
        )
    elif model == "metrohm":
        sim = Titrator(port, ids, seed=seed, interval=interval, faults=fault_set)
    else:
        sim = Balance(
            port,
            count=count,
            seed=seed,
            print_mode=not respond,
            interval=interval,
            faults=fault_set,
        )
    click.echo(getattr(port, "slave_path", port_url), nl=True)
    sys.stdout.flush()
    stop = _stop_on_signals()
    try:
        sim.run(stop)
    finally:
        port.close()
