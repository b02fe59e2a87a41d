"""`make run` (python -m devtools.stack) stops every service it started however it is stopped."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, free_port


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def processes_naming(text: str) -> list[int]:
    """Processes whose command line holds `text` (a port given only to this stack's services)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if text.encode() in args:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_the_local_stack_stops_every_service_when_signalled(e2e_stack, sig):
    ports = {"app": free_port(), "oidc": free_port(), "smtp": free_port(), "sms": free_port()}
    env = dict(os.environ, MIFKAD_HOME=str(e2e_stack.home), MIFKAD_APP_PORT=str(ports["app"]),
               MIFKAD_OIDC_PORT=str(ports["oidc"]), MIFKAD_SMTP_PORT=str(ports["smtp"]),
               MIFKAD_SMS_GATEWAY_URL=f"http://127.0.0.1:{ports['sms']}/send",
               MIFKAD_REFERENCE_DIR=str(e2e_stack.home / "no-reference-data"))
    proc = subprocess.Popen([sys.executable, "-m", "devtools.stack"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in proc.stdout:              # the demo data exists: it starts the services at once
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
        assert all(listening(p) for p in ports.values()), "".join(seen)
        assert processes_naming(str(ports["app"])), "the app was not found among the processes"
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (processes_naming(str(ports["app"])) or processes_naming(str(ports["oidc"]))
                                               or any(listening(p) for p in ports.values())):
            time.sleep(0.2)
        assert not processes_naming(str(ports["app"])) and not processes_naming(str(ports["oidc"]))
        assert not any(listening(p) for p in ports.values())
    finally:
        if proc.poll() is None:
            proc.kill()
