"""A local fake SMS gateway: accepts POST /send with JSON {"to": ..., "text": ...} and appends it
to a JSON-lines file. `--fail-first N` answers 503 to the first N requests, for retry tests.

    python -m devtools.sms_gateway --port 8026 --file MIFKAD_HOME/sms.jsonl
"""
from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_server(file: Path, host: str = "127.0.0.1", port: int = 8026, fail_first: int = 0) -> ThreadingHTTPServer:
    file.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    state = {"to_fail": fail_first}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                if state["to_fail"] > 0:
                    state["to_fail"] -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
            try:
                msg = json.loads(body)
                assert self.path == "/send" and msg.get("to") and msg.get("text")
            except Exception:
                self.send_response(400)
                self.end_headers()
                return
            with lock, file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(msg, ensure_ascii=False) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status":"sent"}')

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8026)
    ap.add_argument("--file", required=True, type=Path)
    ap.add_argument("--fail-first", type=int, default=0)
    args = ap.parse_args()
    server = make_server(args.file, args.host, args.port, args.fail_first)
    print(f"SMS gateway on {args.host}:{args.port}, writing {args.file}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
