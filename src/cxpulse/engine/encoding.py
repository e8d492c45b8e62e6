"""Text encodings of exported files: UTF-8 (with or without BOM), UTF-16, Windows-1252.

DuckDB reads UTF-8 (a BOM is skipped). Spreadsheet exports from Windows are often
Windows-1252 (``é`` is ``0xE9``, ``€`` is ``0x80``), which DuckDB does not know (its Latin-1
differs in 0x80-0x9F), and "Unicode text" exports are UTF-16; such files are transcoded to a
temporary UTF-8 file, in chunks (never loaded whole), keeping every line where it was.
"""

from __future__ import annotations

import codecs
from enum import StrEnum
from pathlib import Path

HEAD_BYTES = 1 << 16
CHUNK_BYTES = 1 << 22


class Encoding(StrEnum):
    UTF8 = "utf-8"
    UTF16 = "utf-16"
    CP1252 = "cp1252"


def _cp1252_table() -> str:
    """Windows-1252, with the five bytes it leaves undefined read as Latin-1."""
    chars = []
    for byte in range(256):
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars)


CP1252_TABLE = _cp1252_table()


def decode_cp1252(data: bytes) -> str:
    text, _ = codecs.charmap_decode(data, "strict", CP1252_TABLE)
    return text


def read_head(path: Path) -> tuple[bytes, bool]:
    """The first 64 KiB of a file, and whether that is all of it."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        complete = not handle.read(1)
    return head, complete


def sniff_encoding(head: bytes, complete: bool) -> Encoding:
    """Guess from the start of a file: a BOM decides; otherwise UTF-8 unless the bytes are not.

    A file whose start is valid UTF-8 may still hold a Windows-1252 byte further on; readers
    find out when they meet it and then call :func:`transcode_cp1252`.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding.UTF16
    if head.startswith(codecs.BOM_UTF8):
        return Encoding.UTF8
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False unless complete: a character cut at the end of the head is no error.
        decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return Encoding.CP1252
    return Encoding.UTF8


def decode_text(data: bytes, encoding: Encoding) -> str:
    """Bytes of a file in ``encoding`` as text (never fails: bad bytes become U+FFFD)."""
    if encoding is Encoding.CP1252:
        return decode_cp1252(data)
    if encoding is Encoding.UTF16:
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def transcode(source: Path, target: Path, encoding: Encoding) -> None:
    """Write ``source`` (in ``encoding``) to ``target`` as UTF-8, one chunk at a time.

    Line breaks are kept as they are, so line numbers in the copy are those of the original.
    """
    with source.open("rb") as reader, target.open("wb") as writer:
        if encoding is Encoding.CP1252:
            while chunk := reader.read(CHUNK_BYTES):
                writer.write(decode_cp1252(chunk).encode("utf-8"))
            return
        decoder = codecs.getincrementaldecoder(encoding.value)(errors="replace")
        while chunk := reader.read(CHUNK_BYTES):
            writer.write(decoder.decode(chunk).encode("utf-8"))
        writer.write(decoder.decode(b"", final=True).encode("utf-8"))
