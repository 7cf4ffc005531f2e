"""Set-up time of ``make run`` (issue 17: ≤ 45 s on a fresh clone, ≤ 15 s the second time).

Clones this repository into a temporary folder, gives the clone an already installed virtual
environment (a symbolic link to ``--venv``: installing packages is pip's and the network's time,
not the project's, and is left out), then times ``make run`` from the command to the first
``200`` from ``/login`` — twice: on the fresh clone (migrations, reference data, two demo rounds
of 3,000 + 1,500 samples, accounts, instruments, results, catalogues compiled) and again on the
same instance (every step finds its work done). The floor printed beside them is one bare
process start (``import lims`` and ``create_app``), measured in the same run: the second run
costs two of them (``lims demo`` and ``lims run``) plus the checks.

Where the time went before ``lims demo`` (measured on main, issue 17): seven ``lims`` processes
in a row, each paying about 3 s of imports (pandas, SciPy, ReportLab, openpyxl through the
blueprints) before doing a few milliseconds of checking.

    .venv/bin/python benchmarks/bench_setup.py
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed_make_run(clone: Path, env: dict[str, str], timeout: float) -> float:
    """Seconds from ``make run`` to the login page answering; the server is stopped after."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"make run stopped with status {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as page:
                    if page.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise SystemExit(f"the LIMS did not answer within {timeout:.0f} s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def process_start(python: Path, clone: Path, env: dict[str, str]) -> float:
    code = ("from lims import create_app; "
            "create_app({'DATABASE_URL': 'sqlite://', 'SECRET_KEY': 'x'})")
    started = time.perf_counter()
    subprocess.run([str(python), "-c", code], cwd=clone, env=env, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv",
                        help="an installed virtual environment of this project")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    venv = args.venv.resolve()
    if not (venv / "bin" / "lims").exists():
        raise SystemExit(f"{venv} is not an installed environment: run `make venv` first")
    with tempfile.TemporaryDirectory(prefix="lims-setup-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        (clone / ".venv").symlink_to(venv)
        # the clone's files are newer than the environment's stamp: mark it installed
        os.utime(venv / ".installed")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIMS_")}
        env["PYTHONPATH"] = str(clone)  # the editable install points elsewhere: use the clone
        floor = process_start(venv / "bin" / "python", clone, env)
        first = timed_make_run(clone, env, args.timeout)
        second = timed_make_run(clone, env, args.timeout)
    print(f"one process start (floor)     {floor:6.1f} s")
    print(f"make run, fresh clone          {first:6.1f} s   target ≤ 45 s")
    print(f"make run, second time          {second:6.1f} s   target ≤ 15 s"
          f"   ({second / floor:.1f} × the floor)")


if __name__ == "__main__":
    sys.exit(main())
