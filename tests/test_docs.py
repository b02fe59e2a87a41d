"""Docs kept in step with code: every setting is documented."""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from common.config import Settings, load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    documented = set(re.findall(r"^\| `(\w+)` \|", (DOCS / "settings.md").read_text(encoding="utf-8"), re.M))
    assert {f.name for f in fields(Settings)} == documented


def test_environment_overrides_a_setting(tmp_path):
    cfg = load_settings({"MIFKAD_HOME": str(tmp_path), "MIFKAD_REJECT_THRESHOLD": "0.2",
                         "MIFKAD_MINISTRY_ADMINS": "a@x.test, b@x.test", "MIFKAD_SMTP_TLS": "true"})
    assert cfg.home == tmp_path.resolve()
    assert cfg.reject_threshold == 0.2
    assert cfg.ministry_admins == ("a@x.test", "b@x.test")
    assert cfg.smtp_tls is True


def test_settings_file_is_read_and_environment_wins(tmp_path):
    (tmp_path / "mifkad.toml").write_text('session_idle_minutes = 5\nsmtp_port = 2525\n', encoding="utf-8")
    cfg = load_settings({"MIFKAD_HOME": str(tmp_path), "MIFKAD_SMTP_PORT": "2626"})
    assert cfg.session_idle_minutes == 5
    assert cfg.smtp_port == 2626
