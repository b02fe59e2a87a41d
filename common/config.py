"""Settings, with embedded defaults so `make run` works on a fresh machine.

Precedence: environment variable > MIFKAD_HOME/mifkad.toml > the default below. Every setting is
documented in docs/settings.md (a test keeps the two in step).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    home: Path
    # Comma-separated e-mails of the first ministry administrators.
    ministry_admins: tuple[str, ...] = ("admin@education.gov.il",)
    # Where the generator's real reference data is read from, when present.
    reference_dir: Path = REPO_ROOT.parent / "shared" / "data" / "reference"
    # Ingest refuses a whole feed when any file's rejection rate passes this fraction.
    reject_threshold: float = 0.05
    # Daily snapshots older than this many days are deleted (approved weekly ones never are).
    snapshot_retention_days: int = 90
    # Idle sessions ask to log in again after this many minutes.
    session_idle_minutes: int = 30
    # Audit events are kept this many days (approved-export events at least 7 years regardless).
    audit_retention_days: int = 7 * 366
    # Upload limit for signed PDFs (Form A, vendor declarations), in bytes.
    upload_max_bytes: int = 10 * 1024 * 1024
    # Outgoing e-mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_tls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "mifkad@education.gov.il"
    # SMS gateway (HTTP POST of JSON {to, text}).
    sms_gateway_url: str = "http://127.0.0.1:8026/send"
    # Memory the app may give to authorities' slices (their census and contacts held in memory once a
    # page has read them), in megabytes; past it the least recently used idle slices are dropped.
    slice_cache_mb: int = 600
    # The local login provider and the app, for development.
    oidc_port: int = 9400
    app_port: int = 8501

    @property
    def snapshots_dir(self) -> Path:
        return self.home / "snapshots"

    @property
    def packages_dir(self) -> Path:
        return self.home / "packages"

    @property
    def vault_dir(self) -> Path:
        return self.home / "vault"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def portal_db_path(self) -> Path:
        return self.home / "portal.sqlite"


ENV_PREFIX = "MIFKAD_"


def _coerce(kind: type | str, raw):
    kind = str(kind)
    if isinstance(raw, str):
        if "tuple" in kind:
            return tuple(s.strip() for s in raw.split(",") if s.strip())
        if "bool" in kind:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        if "Path" in kind:
            return Path(raw)
        return raw
    if "tuple" in kind:
        return tuple(raw)
    if "Path" in kind:
        return Path(raw)
    return raw


def load_settings(environ: dict | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home = Path(env.get("MIFKAD_HOME") or (REPO_ROOT / "var")).resolve()
    file_values: dict = {}
    toml_path = home / "mifkad.toml"
    if toml_path.exists():
        file_values = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    values = {}
    for f in fields(Settings):
        if f.name == "home":
            continue
        key = ENV_PREFIX + f.name.upper()
        if key in env:
            values[f.name] = _coerce(f.type, env[key])
        elif f.name in file_values:
            values[f.name] = _coerce(f.type, file_values[f.name])
    return Settings(home=home, **values)


@lru_cache(maxsize=None)
def _cached(home_key: str) -> Settings:
    return load_settings()


def settings() -> Settings:
    """The settings of this process (re-read if MIFKAD_HOME changes, as tests do)."""
    return _cached(os.environ.get("MIFKAD_HOME", ""))
