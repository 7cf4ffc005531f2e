"""The backup file, pure (no Flask, no database): one file holding a readable manifest, the
database copy (optionally encrypted) and a checksum of everything before it.

Layout::

    IODINELIMS-BACKUP 1\\n
    {"manifest": {...}, "payload": {...}, "encryption": null | {...}}\\n   (one JSON line)
    payload bytes: the database copy, or its encryption in chunks
    \\nSHA256 <64 hex digits of every byte above>\\n

The checksum comes last so that the file is written in one pass and a truncated file has none;
``restore`` checks it before reading anything else, then the header, then (when encrypted) the
passphrase through the first chunk's authentication tag, then the SHA-256 of the decrypted copy
that the header names. The manifest stays readable without the passphrase (an administrator
picks the file to restore by it) and is authenticated by every chunk, as associated data.

Encryption: AES-256-GCM in chunks of `CHUNK` bytes (a database copy does not fit in memory at
once), the key derived from the passphrase (or a key file's bytes) by scrypt; each chunk's nonce
is a random prefix plus the chunk's number, and its associated data the header line, its number
and whether it is the last, so chunks cannot be reordered, dropped or cut off unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"IODINELIMS-BACKUP 1\n"
CHUNK = 1024 * 1024
TAG = 16
_TRAILER_HEAD = b"\nSHA256 "
TRAILER_SIZE = len(_TRAILER_HEAD) + 64 + 1
SCRYPT = {"n": 2**15, "r": 8, "p": 1}

Progress = Callable[[int], None]  # bytes just processed


class ArchiveError(ValueError):
    """A backup file that cannot be used, with the reason (checksum, manifest, passphrase)."""


@dataclass(frozen=True)
class Header:
    manifest: dict[str, Any]
    payload: dict[str, Any]
    encryption: dict[str, Any] | None
    line: bytes  # the header's own bytes, the associated data of every encrypted chunk
    offset: int  # where the payload starts in the file
    end: int  # where it ends (the trailer starts)


def _key(secret: bytes, salt: bytes, params: Mapping[str, int]) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(secret)


def _aad(line: bytes, index: int, last: bool) -> bytes:
    return line + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _chunk_sizes(size: int) -> list[int]:
    """Plain-text chunk sizes for a payload of ``size`` bytes (one empty chunk for none)."""
    if size == 0:
        return [0]
    full, rest = divmod(size, CHUNK)
    return [CHUNK] * full + ([rest] if rest else [])


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def write_archive(out: BinaryIO, *, manifest: Mapping[str, Any], kind: str, payload: Path,
                  secret: bytes | None, progress: Progress | None = None) -> None:
    """Write the backup file of ``payload`` (a finished database copy) to ``out``."""
    size = payload.stat().st_size
    encryption: dict[str, Any] | None = None
    if secret is not None:
        encryption = {"cipher": "AES-256-GCM", "chunk": CHUNK, "kdf": "scrypt", **SCRYPT,
                      "salt": base64.b64encode(os.urandom(16)).decode(),
                      "nonce_prefix": base64.b64encode(os.urandom(8)).decode()}
    header = {"manifest": dict(manifest),
              "payload": {"kind": kind, "size": size, "sha256": file_sha256(payload)},
              "encryption": encryption}
    line = json.dumps(header, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    digest = hashlib.sha256()

    def emit(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    emit(MAGIC)
    emit(line)
    with payload.open("rb") as f:
        if encryption is None:
            while block := f.read(CHUNK):
                emit(block)
                if progress:
                    progress(len(block))
        else:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            assert secret is not None
            aes = AESGCM(_key(secret, base64.b64decode(encryption["salt"]), SCRYPT))
            prefix = base64.b64decode(encryption["nonce_prefix"])
            sizes = _chunk_sizes(size)
            for index, chunk_size in enumerate(sizes):
                block = f.read(chunk_size)
                emit(aes.encrypt(_nonce(prefix, index), block,
                                 _aad(line, index, index == len(sizes) - 1)))
                if progress:
                    progress(len(block))
    out.write(_TRAILER_HEAD + digest.hexdigest().encode("ascii") + b"\n")


def verify_checksum(path: Path, progress: Progress | None = None) -> None:
    """Refuse a file whose checksum does not match: one changed byte, or a truncated file."""
    total = path.stat().st_size
    if total < len(MAGIC) + TRAILER_SIZE:
        raise ArchiveError(f"{path.name}: too short to be a backup (truncated?)")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        remaining = total - TRAILER_SIZE
        while remaining:
            block = f.read(min(CHUNK, remaining))
            if not block:
                raise ArchiveError(f"{path.name}: truncated")
            digest.update(block)
            remaining -= len(block)
            if progress:
                progress(len(block))
        trailer = f.read()
    if not trailer.startswith(_TRAILER_HEAD) or not trailer.endswith(b"\n"):
        raise ArchiveError(f"{path.name}: checksum missing (the file is truncated or not a backup)")
    if trailer[len(_TRAILER_HEAD):-1].decode("ascii", "replace") != digest.hexdigest():
        raise ArchiveError(f"{path.name}: checksum mismatch (the file is corrupted or was changed)")


def read_header(path: Path) -> Header:
    """The manifest and payload description (after `verify_checksum`)."""
    with path.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ArchiveError(f"{path.name}: not an IodineLIMS backup")
        line = f.readline(16 * 1024 * 1024)
    try:
        header = json.loads(line)
        manifest, payload = dict(header["manifest"]), dict(header["payload"])
        encryption = header["encryption"]
        int(payload["size"]), str(payload["sha256"]), str(payload["kind"])
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(f"{path.name}: manifest unreadable ({error})") from error
    offset = len(MAGIC) + len(line)
    return Header(manifest, payload, encryption, line, offset, path.stat().st_size - TRAILER_SIZE)


def extract_payload(path: Path, header: Header, out: BinaryIO, *, secret: bytes | None,
                    progress: Progress | None = None) -> None:
    """Write the database copy to ``out``: decrypted when needed, checked against its SHA-256."""
    digest = hashlib.sha256()
    written = 0
    with path.open("rb") as f:
        f.seek(header.offset)
        if header.encryption is None:
            remaining = header.end - header.offset
            while remaining:
                block = f.read(min(CHUNK, remaining))
                digest.update(block)
                out.write(block)
                written += len(block)
                remaining -= len(block)
                if progress:
                    progress(len(block))
        else:
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            if secret is None:
                raise ArchiveError(f"{path.name} is encrypted: configure BACKUP_PASSPHRASE or"
                                   " BACKUP_KEY_FILE (or pass --passphrase-file)")
            enc = header.encryption
            params = {k: int(enc[k]) for k in ("n", "r", "p")}
            aes = AESGCM(_key(secret, base64.b64decode(enc["salt"]), params))
            prefix = base64.b64decode(enc["nonce_prefix"])
            sizes = _chunk_sizes(int(header.payload["size"]))
            for index, chunk_size in enumerate(sizes):
                sealed = f.read(chunk_size + TAG)
                try:
                    block = aes.decrypt(_nonce(prefix, index), sealed,
                                        _aad(header.line, index, index == len(sizes) - 1))
                except InvalidTag as error:
                    reason = ("wrong passphrase or key file" if index == 0
                              else f"encrypted chunk {index} does not authenticate")
                    raise ArchiveError(f"{path.name}: {reason}") from error
                digest.update(block)
                out.write(block)
                written += len(block)
                if progress:
                    progress(len(block))
            if f.tell() != header.end:
                raise ArchiveError(f"{path.name}: data after the last encrypted chunk")
    if written != int(header.payload["size"]) or digest.hexdigest() != header.payload["sha256"]:
        raise ArchiveError(f"{path.name}: the database copy does not match its manifest's SHA-256")
