"""The backup file format, pure: checksum, readable manifest, optional chunked encryption."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from lims.backup import archive

MANIFEST = {"alembic_revision": "0012", "row_counts": {"samples": 3}, "backend": "sqlite"}


def write(tmp_path: Path, payload: bytes, secret: bytes | None) -> Path:
    source = tmp_path / "copy"
    source.write_bytes(payload)
    target = tmp_path / "b.limsbak"
    with target.open("wb") as out:
        archive.write_archive(out, manifest=MANIFEST, kind="sqlite", payload=source, secret=secret)
    return target


def read(path: Path, secret: bytes | None) -> bytes:
    archive.verify_checksum(path)
    header = archive.read_header(path)
    out = io.BytesIO()
    archive.extract_payload(path, header, out, secret=secret)
    return out.getvalue()


@pytest.fixture()
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "CHUNK", 1000)  # many chunks without megabytes of test data
    monkeypatch.setattr(archive, "SCRYPT", {"n": 2**10, "r": 8, "p": 1})  # fast key derivation


@pytest.mark.parametrize("secret", [None, b"correct horse battery staple"])
@pytest.mark.parametrize("size", [0, 999, 1000, 4321])
def test_round_trip(tmp_path: Path, small_chunks: None, secret: bytes | None, size: int) -> None:
    payload = os.urandom(size)
    path = write(tmp_path, payload, secret)
    assert archive.read_header(path).manifest == MANIFEST  # readable without the passphrase
    assert read(path, secret) == payload
    if secret is not None:
        assert payload[:64] not in path.read_bytes() or size == 0


@pytest.mark.parametrize("secret", [None, b"pass"])
def test_one_changed_byte_fails_the_checksum(tmp_path: Path, small_chunks: None,
                                             secret: bytes | None) -> None:
    path = write(tmp_path, os.urandom(3000), secret)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveError, match="checksum mismatch"):
        archive.verify_checksum(path)


def test_a_truncated_file_is_refused(tmp_path: Path, small_chunks: None) -> None:
    path = write(tmp_path, os.urandom(3000), None)
    path.write_bytes(path.read_bytes()[:2500])
    with pytest.raises(archive.ArchiveError, match="truncated"):
        archive.verify_checksum(path)


def test_wrong_passphrase_is_named(tmp_path: Path, small_chunks: None) -> None:
    path = write(tmp_path, os.urandom(3000), b"right")
    with pytest.raises(archive.ArchiveError, match="wrong passphrase"):
        read(path, b"wrong")
    with pytest.raises(archive.ArchiveError, match="is encrypted"):
        read(path, None)


def test_an_edited_manifest_with_a_fresh_checksum_does_not_decrypt(tmp_path: Path,
                                                                  small_chunks: None) -> None:
    """The manifest is the chunks' associated data: rewriting it (and the checksum) is found."""
    path = write(tmp_path, os.urandom(3000), b"right")
    data = path.read_bytes()
    header = archive.read_header(path)
    forged = json.loads(header.line)
    forged["manifest"]["row_counts"]["samples"] = 4
    line = json.dumps(forged, sort_keys=True).encode() + b"\n"
    body = archive.MAGIC + line + data[header.offset:header.end]
    import hashlib
    path.write_bytes(body + b"\nSHA256 " + hashlib.sha256(body).hexdigest().encode() + b"\n")
    with pytest.raises(archive.ArchiveError, match="wrong passphrase"):
        read(path, b"right")
