"""Serve the LIMS on a port in a process of its own, for system tests that stop and restart it:
``python -m tests.system.serve DATABASE_URL PORT``."""

from __future__ import annotations

import sys

from werkzeug.serving import make_server

from lims import create_app


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "system-test", "TESTING": False})
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
