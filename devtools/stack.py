"""Start the local stack: login provider, SMTP server, SMS gateway and the app, on embedded defaults.

    python -m devtools.stack             # what `make run` runs; Ctrl-C (or SIGTERM, SIGHUP) stops everything
Tests use `Stack` directly with their own ports and MIFKAD_HOME.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.config import REPO_ROOT, settings
from devtools.users import PRESET_USERS, oidc_claims


def wait_for_port(port: int, timeout: float = 60.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def write_secrets(home: Path, app_port: int, oidc_port: int) -> Path:
    """secrets.toml for st.login against the local provider; the cookie secret persists per home."""
    home.mkdir(parents=True, exist_ok=True)
    secret_file = home / "cookie_secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32))
    path = home / f"secrets-{app_port}.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secret_file.read_text().strip()}"\n'
        'client_id = "mifkad-dev"\n'
        'client_secret = "mifkad-dev-secret"\n'
        f'server_metadata_url = "http://127.0.0.1:{oidc_port}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    return path


@dataclass
class Stack:
    home: Path
    app_port: int = 8501
    oidc_port: int = 9400
    smtp_port: int = 8025
    sms_port: int = 8026
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({"MIFKAD_HOME": str(self.home), "MIFKAD_SMTP_PORT": str(self.smtp_port),
                    "MIFKAD_SMS_GATEWAY_URL": f"http://127.0.0.1:{self.sms_port}/send",
                    "AUTHLIB_INSECURE_TRANSPORT": "1", "PYTHONUNBUFFERED": "1"})
        return env

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / log, "ab")
        proc = subprocess.Popen(args, cwd=REPO_ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes.append(proc)
        return proc

    def start(self) -> "Stack":
        py = sys.executable
        oidc = [py, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.oidc_port)]
        for claims in oidc_claims():
            oidc += ["--user-claims", json.dumps(claims, ensure_ascii=False)]
        self._spawn(oidc, "oidc.log")
        self._spawn([py, "-m", "devtools.mailserver", "--port", str(self.smtp_port), "--dir", str(self.home / "mail")],
                    "smtp.log")
        self._spawn([py, "-m", "devtools.sms_gateway", "--port", str(self.sms_port), "--file", str(self.home / "sms.jsonl")],
                    "sms.log")
        secrets_path = write_secrets(self.home, self.app_port, self.oidc_port)
        self._spawn([py, "-m", "devtools.serve", "--server.address", "127.0.0.1",
                     "--server.port", str(self.app_port), "--secrets.files", str(secrets_path)], "app.log")
        for port in (self.oidc_port, self.smtp_port, self.sms_port, self.app_port):
            wait_for_port(port)
        return self

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.processes.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    from devtools import demo
    # The services run in their own sessions (so a Ctrl-C reaches them only through stop()): a
    # terminal closed or a `kill` must stop them too, not leave them holding the ports.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    demo.build()
    cfg = settings()
    stack = Stack(home=cfg.home, app_port=cfg.app_port, oidc_port=cfg.oidc_port,
                  smtp_port=cfg.smtp_port, sms_port=int(cfg.sms_gateway_url.rsplit(":", 1)[1].split("/")[0]))
    try:
        stack.start()
        print(f"\nMifkad is running: http://127.0.0.1:{stack.app_port}")
        print(f"Login provider: http://127.0.0.1:{stack.oidc_port} — sign in as one of:")
        for u in PRESET_USERS:
            print(f"  {u['sub']:<15} {u['email']:<30} {u['role']}")
        print(f"Mail sent by the portal is saved in {cfg.home / 'mail'}; SMS in {cfg.home / 'sms.jsonl'}")
        print("Ctrl-C stops everything.", flush=True)
        while all(p.poll() is None for p in stack.processes):
            time.sleep(1)
        print("a service stopped; see", cfg.home / "logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):    # a second signal must not cut stop() short
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
