"""Write a gzip-compressed ``newc`` cpio archive, the format Linux unpacks as an initramfs."""

from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One archive member: a directory, a regular file or a symbolic link."""

    path: str
    mode: int
    data: bytes = b""


def directory(path: str) -> Entry:
    return Entry(path, stat.S_IFDIR | 0o755)


def file(path: str, data: bytes, executable: bool = False) -> Entry:
    return Entry(path, stat.S_IFREG | (0o755 if executable else 0o644), data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def _pad4(length: int) -> bytes:
    return b"\0" * (-length % 4)


def _member(number: int, entry: Entry) -> bytes:
    name = entry.path.strip("/").encode() + b"\0"
    fields = [number, entry.mode, 0, 0, 1, 0, len(entry.data), 0, 0, 0, 0, len(name), 0]
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    return header + name + _pad4(len(header) + len(name)) + entry.data + _pad4(len(entry.data))


def archive(entries: list[Entry]) -> bytes:
    """The compressed archive of ``entries`` (parents must come before their children)."""
    body = b"".join(_member(number, entry) for number, entry in enumerate(entries, 1))
    body += _member(0, Entry("TRAILER!!!", 0))
    return gzip.compress(body, compresslevel=6, mtime=0)
