"""Zip archives from other people (.docx, .qdpx) checked before anything is decompressed, so a
small file that expands to gigabytes (a zip bomb) is refused instead of filling the memory."""

from __future__ import annotations

import zipfile

MiB = 1024 * 1024
MAX_MEMBER = 256 * MiB  # one member, uncompressed
MAX_TOTAL = 1024 * MiB  # all members together, uncompressed
MAX_RATIO = 100  # uncompressed / compressed; text XML packs 5-20 times, bombs 1000 times
RATIO_FROM = 1 * MiB  # small members may pack as tightly as they like
MAX_MEMBERS = 10_000


class UnsafeArchive(ValueError):
    """An archive whose declared sizes are over the limits. str() says which member and why,
    e.g. "word/document.xml expands to 1024 MiB (at most 256 MiB)"; callers add where/fix."""


def _size(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma", 9: "Deflate64"}


def check_archive(archive: zipfile.ZipFile, *, max_member: int = MAX_MEMBER, max_total: int = MAX_TOTAL,
                  max_ratio: float = MAX_RATIO, max_members: int = MAX_MEMBERS, stream: bool = False) -> None:
    """Raise UnsafeArchive unless every member's declared size, the total and each member's
    compression ratio are within the limits, and every member is plainly stored or deflated
    and not encrypted. Only the declared sizes are looked at, unless `stream`: then each
    member is also decompressed in 1 MiB chunks and thrown away, so one that holds more than
    it declares fails here (zipfile.BadZipFile, a bad CRC) instead of filling the memory when
    read whole (`ZipFile.read` decompresses a member in one call, up to 2 GiB, before cutting
    it to its declared size)."""
    members = archive.infolist()
    if len(members) > max_members:
        raise UnsafeArchive(f"holds {len(members)} files (at most {max_members})")
    total = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise UnsafeArchive(f"{info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise UnsafeArchive(f"{info.filename} is compressed with {method}, which copcode does not read")
        if info.file_size > max_member:
            raise UnsafeArchive(f"{info.filename} expands to {_size(info.file_size)} "
                                f"(at most {_size(max_member)})")
        if info.file_size > RATIO_FROM and info.file_size > max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UnsafeArchive(f"{info.filename} expands {ratio:.0f} times "
                                f"(at most {max_ratio:g} times): a zip bomb")
        total += info.file_size
        if total > max_total:
            raise UnsafeArchive(f"expands to more than {_size(max_total)} in all")
    if stream:
        for info in members:
            with archive.open(info) as member:
                while member.read(MiB):
                    pass


def check_workbook(path) -> None:
    """Raise UnsafeArchive unless the .xlsx at `path` is within the limits, every member
    streamed through once (openpyxl and pandas decompress whole members as they read). A file
    that is not a zip archive is left for the reader to refuse."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return
    with archive:
        check_archive(archive, stream=True)


def read_member(archive: zipfile.ZipFile, name: str | zipfile.ZipInfo, *,
                limit: int = MAX_MEMBER) -> bytes:
    """A member's bytes, read in chunks and never more than `limit`: UnsafeArchive if it
    declares or yields more."""
    info = name if isinstance(name, zipfile.ZipInfo) else archive.getinfo(name)
    if info.file_size > limit:
        raise UnsafeArchive(f"{info.filename} expands to {_size(info.file_size)} (at most {_size(limit)})")
    chunks, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(MiB):
            size += len(chunk)
            if size > limit:
                raise UnsafeArchive(f"{info.filename} expands to more than {_size(limit)}")
            chunks.append(chunk)
    return b"".join(chunks)
