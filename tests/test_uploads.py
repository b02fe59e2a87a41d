"""Uploaded PDFs are judged by their content and stored only under names the portal generates."""
from __future__ import annotations

import pytest

from auth import uploads
from auth.uploads import UploadError, open_upload, store_pdf
from common import config

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# What a Windows program looks like: the DOS header's MZ, then the usual stub.
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program cannot be run in DOS mode."


def stored_files(home) -> list[str]:
    folder = home / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_real_pdf_is_stored_under_a_generated_name_and_read_back_byte_for_byte(mifkad_home):
    name = store_pdf(PDF, "טופס א חתום.pdf")
    assert uploads.STORED_NAME.match(name)
    assert stored_files(mifkad_home) == [name]
    assert open_upload(name) == PDF
    assert store_pdf(PDF, "טופס א חתום.pdf") != name          # the same upload twice: two files, no overwrite


def test_a_renamed_executable_is_refused_as_a_program(mifkad_home):
    with pytest.raises(UploadError) as err:
        store_pdf(EXECUTABLE, "x.pdf")
    assert err.value.code == "executable"
    assert "'x.pdf'" in str(err.value) and "MZ" in err.value.text("he")
    assert stored_files(mifkad_home) == []


@pytest.mark.parametrize(("data", "code"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not_pdf"),
    (b"just some text that claims to be a pdf\n%%EOF", "not_pdf"),
    (PDF[:-7], "truncated"),                                  # cut before the %%EOF trailer
    (b"", "empty"),
])
def test_content_that_is_not_a_whole_pdf_is_refused(mifkad_home, data, code):
    with pytest.raises(UploadError) as err:
        store_pdf(data, "scan.pdf")
    assert err.value.code == code
    assert stored_files(mifkad_home) == []


def test_a_file_over_the_size_limit_is_refused_and_one_at_the_limit_is_accepted(mifkad_home, monkeypatch):
    monkeypatch.setenv("MIFKAD_UPLOAD_MAX_BYTES", "1024")
    config._cached.cache_clear()
    at_limit = PDF[:-6] + b" " * (1024 - len(PDF)) + PDF[-6:]
    assert len(at_limit) == 1024
    assert open_upload(store_pdf(at_limit, "ok.pdf")) == at_limit
    with pytest.raises(UploadError) as err:
        store_pdf(at_limit + b"\n", "big.pdf")
    assert err.value.code == "too_big"
    assert "'big.pdf'" in str(err.value)
    assert len(stored_files(mifkad_home)) == 1


def test_the_default_limit_is_ten_megabytes(mifkad_home):
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024) + b"\n%%EOF\n"
    with pytest.raises(UploadError) as err:
        store_pdf(big, "scan.pdf")
    assert err.value.code == "too_big"
    assert "10 MB" in str(err.value)


@pytest.mark.parametrize(("name", "why"), [
    ("../../etc/passwd.pdf", "path"),
    ("..\\..\\windows\\system.pdf", "path"),
    ("/etc/passwd.pdf", "path"),
    ("form\x00.pdf", "nul"),
    ("form.pdf\x00.exe", "nul"),
    ("form\n.pdf", "control"),
    ("", "blank"),
    ("..", "path"),
])
def test_a_file_name_with_a_path_nul_or_control_characters_is_refused(mifkad_home, name, why):
    with pytest.raises(UploadError) as err:
        store_pdf(PDF, name)
    assert (err.value.code, err.value.params["why"]) == ("bad_name", why)
    assert "\x00" not in str(err.value)                      # shown back with the NUL made visible
    assert stored_files(mifkad_home) == []
    assert not (mifkad_home / "etc").exists() and not (mifkad_home.parent / "etc").exists()


def test_a_name_not_ending_in_pdf_is_refused_even_with_pdf_content(mifkad_home):
    with pytest.raises(UploadError) as err:
        store_pdf(PDF, "scan.exe")
    assert err.value.code == "not_pdf_name"


@pytest.mark.parametrize("name", ["../portal.sqlite", "portal.sqlite", "/etc/passwd", "a" * 32 + ".PDF", "", None])
def test_only_names_the_portal_generated_can_be_opened(mifkad_home, name):
    (mifkad_home / "portal.sqlite").write_bytes(b"secret")
    with pytest.raises(UploadError) as err:
        open_upload(name)
    assert err.value.code == "missing"


def test_a_generated_name_that_was_never_stored_is_reported_missing(mifkad_home):
    with pytest.raises(UploadError) as err:
        open_upload("0" * 32 + ".pdf")
    assert err.value.code == "missing"
