"""A stand-in for the LIMS readings endpoint, implementing exactly the wire contract.

``POST /api/v1/readings`` with ``Authorization: Bearer <token>``: 401 for a wrong token; 422
``application/problem+json`` naming each bad item (validated against `wire.BATCH_SCHEMA`, nothing
saved); otherwise 200 with one outcome per item, deduplicated by idempotency key. Switches let a
test break it: `fail_next` answers 503, `drop_next` stores the batch and then cuts the connection
without an answer (the lost-response case that must not create duplicates).
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jsonschema import Draft202012Validator

from instruments.wire import BATCH_SCHEMA

VALIDATOR = Draft202012Validator(BATCH_SCHEMA)


class FakeLims:
    def __init__(self, token: str = "secret-token", port: int = 0) -> None:
        self.token = token
        self.stored: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests = 0
        self.fail_next = 0
        self.drop_next = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeLims:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", 0)))
        with self.lock:
            self.requests += 1
            if req.path != "/api/v1/readings":
                return self.reply(req, 404, {"title": "not found"})
            if req.headers.get("Authorization") != f"Bearer {self.token}":
                return self.reply(
                    req, 401, {"title": "Unauthorized", "detail": "invalid token"}, problem=True
                )
            if self.fail_next:
                self.fail_next -= 1
                return self.reply(req, 503, {"title": "Service Unavailable"}, problem=True)
            try:
                batch = json.loads(body)
            except ValueError:
                return self.reply(
                    req, 400, {"title": "Bad Request", "detail": "not JSON"}, problem=True
                )
            errors = [
                {
                    "index": e.absolute_path[1] if len(e.absolute_path) > 1 else None,
                    "path": "/" + "/".join(map(str, e.absolute_path)),
                    "message": e.message,
                }
                for e in VALIDATOR.iter_errors(batch)
            ]
            if errors:
                return self.reply(
                    req,
                    422,
                    {"title": "Unprocessable Content", "status": 422, "errors": errors},
                    problem=True,
                )
            results = []
            for item in batch["items"]:
                key = item["idempotency_key"]
                if key in self.stored:
                    results.append(
                        {
                            "idempotency_key": key,
                            "outcome": "duplicate",
                            "reading_id": self.stored[key][0],
                            "reason": None,
                        }
                    )
                    continue
                reading_id = len(self.stored) + 1
                self.stored[key] = (reading_id, item)
                matched = item["type"] == "result" and bool(item["payload"].get("sample_id"))
                results.append(
                    {
                        "idempotency_key": key,
                        "outcome": "attached" if matched else "unmatched",
                        "reading_id": reading_id,
                        "reason": None if matched else "no sample",
                    }
                )
            if self.drop_next:
                self.drop_next -= 1
                req.close_connection = True
                req.connection.shutdown(socket.SHUT_RDWR)
                return None
            return self.reply(req, 200, {"results": results})

    @staticmethod
    def reply(
        req: BaseHTTPRequestHandler, status: int, doc: dict[str, Any], problem: bool = False
    ) -> None:
        data = json.dumps(doc).encode()
        req.send_response(status)
        req.send_header(
            "Content-Type", "application/problem+json" if problem else "application/json"
        )
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)
