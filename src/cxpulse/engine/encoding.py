"""Text encodings of exported files, settled by one strict rule that says why it refuses.

DuckDB reads UTF-8 only (a BOM is skipped). Spreadsheet exports from Windows are often
Windows-1252 (``é`` is ``0xE9``, ``€`` is ``0x80``, which DuckDB's Latin-1 reads otherwise), and
"Unicode text" exports are UTF-16. The rule, the same for every door that reads a file (the
importer, the API upload, ``cxpulse score``, contact and invitation CSVs):

1. A named encoding (``--encoding``, the ``encoding`` form field) is used as it is: the file
   must be valid in it, else it is refused at the line of the first bad byte.
2. A byte-order mark decides: UTF-8, or UTF-16 (little- or big-endian).
3. A file that is valid UTF-8 is UTF-8.
4. A file that is not, and holds no valid multi-byte UTF-8 sequence at all, is a legacy
   single-byte file: it is read as Windows-1252 (its five undefined bytes as Latin-1).
5. Anything else is UTF-8 with a stray byte, such as ``0xFF`` among ``café`` and Cyrillic
   text: read as Windows-1252 it would turn every ``é`` into ``Ã©`` and say nothing, so it is
   refused with the line of the first bad byte and what to do.

Files that are not UTF-8 are transcoded to a temporary UTF-8 copy in chunks (never loaded
whole), keeping every line where it was.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "CHUNK_BYTES",
    "CP1252",
    "HEAD_BYTES",
    "UTF8",
    "UTF16",
    "EncodingProblem",
    "Settled",
    "check_encoding_name",
    "decode_bytes",
    "decode_cp1252",
    "decode_head",
    "read_head",
    "settle_file",
    "transcode",
]

HEAD_BYTES = 1 << 16
CHUNK_BYTES = 1 << 22

UTF8 = "utf-8"
UTF16 = "utf-16"
CP1252 = "cp1252"
"""Python's names of the encodings the rule settles on by itself."""

_LABELS = {UTF8: "UTF-8", "utf-8-sig": "UTF-8", UTF16: "UTF-16", CP1252: "Windows-1252"}

ADVICE = "save the file as UTF-8 or name its encoding (--encoding / encoding=...)"
"""What to do about a file that is not valid in its encoding, at every door."""

# One valid multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most
# U+10FFFF). A legacy single-byte file almost never holds one by chance.
_MULTI_BYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_LONGEST_SEQUENCE = 4
_BYTE_ORDER_MARKS = {
    UTF16: (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
    "utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE),
}


class EncodingProblem(ValueError):
    """A file is not valid in its encoding, or an encoding name is unknown; the message
    says where and what to do."""


@dataclass(frozen=True)
class Settled:
    """How a file's bytes are read: the Python codec, and whether DuckDB needs a UTF-8 copy."""

    codec: str
    transcode: bool

    @property
    def label(self) -> str:
        return label(self.codec)


def label(codec: str) -> str:
    """An encoding's name as people write it: ``UTF-8``, ``Windows-1252``, ``iso8859-15``."""
    return _LABELS.get(codec, codec)


def check_encoding_name(name: str) -> str:
    """Python's name for an encoding a user named (``latin-1`` -> ``iso8859-1``).

    Raises :class:`EncodingProblem` for a name Python does not know, or a codec that does not
    turn bytes into text (``base64``, ``zlib``).
    """
    text = name.strip()
    try:
        info = codecs.lookup(text)
    except (LookupError, ValueError):
        info = None
    # Codecs such as base64 or zlib turn bytes into bytes: no text comes out of them.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise EncodingProblem(
            f"unknown encoding {name[:40]!r}: name one such as utf-8, windows-1252, utf-16 "
            "or iso-8859-15"
        ) from None
    if info.name == "mbcs":  # pragma: no cover - Windows only
        return CP1252
    return info.name


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


def decode_head(data: bytes, codec: str) -> str:
    """The start of a file as text, for a look at its first lines (bad bytes become U+FFFD:
    the whole file is checked elsewhere)."""
    if codec == CP1252:
        return decode_cp1252(data)
    if codec == UTF8:
        return data.decode("utf-8-sig", errors="replace")
    return data.decode(codec, errors="replace")


# -- checking --------------------------------------------------------------------------------


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_BYTES):
        yield chunk


def _bad_bytes(error: UnicodeDecodeError) -> str:
    bad = error.object[error.start : max(error.end, error.start + 1)]
    shown = " ".join(f"0x{byte:02X}" for byte in bad[:4])
    return f"byte {shown} is" if len(bad) == 1 else f"bytes {shown} are"


class _Walker:
    """Decodes chunks strictly in one codec, counting lines, and names the first bad byte."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.label = label(codec)
        self.lines = 0
        """Line breaks decoded so far."""
        self._decoder: codecs.IncrementalDecoder | None = None
        self._started = False

    def _start(self, chunk: bytes) -> bytes:
        """Settle the byte order of UTF-16 and UTF-32 from their BOM (little-endian without
        one, as Windows writes them), so that a bad byte's line is counted in that order."""
        self._started = True
        boms = _BYTE_ORDER_MARKS.get(self.codec)
        if boms is not None:
            little, big = boms
            order = "be" if chunk.startswith(big) else "le"
            if chunk.startswith((little, big)):
                chunk = chunk[len(little) :]
            self.codec = f"{self.codec}-{order}"
        if self.codec != CP1252:
            self._decoder = codecs.getincrementaldecoder(self.codec)()
        return chunk

    def decode(self, chunk: bytes, *, final: bool = False) -> str:
        if not self._started:
            chunk = self._start(chunk)
        if self._decoder is None:
            text = decode_cp1252(chunk)
        else:
            try:
                text = self._decoder.decode(chunk, final)
            except UnicodeDecodeError as error:
                raise self._problem(error) from None
        self.lines += text.count("\n")
        return text

    def _problem(self, error: UnicodeDecodeError) -> EncodingProblem:
        # error.object is what the decoder held: its pending bytes, then this chunk.
        before = error.object[: error.start].decode(self.codec, errors="replace")
        line = self.lines + before.count("\n") + 1
        return EncodingProblem(f"line {line}: {_bad_bytes(error)} not valid {self.label}; {ADVICE}")


def _has_multi_byte(handle: BinaryIO) -> bool:
    """Whether the file holds at least one valid multi-byte UTF-8 sequence."""
    handle.seek(0)
    tail = b""
    for chunk in _chunks(handle):
        window = tail + chunk
        if _MULTI_BYTE.search(window):
            return True
        tail = window[-(_LONGEST_SEQUENCE - 1) :]
    return False


def _check(handle: BinaryIO, codec: str) -> None:
    """Raise :class:`EncodingProblem` at the first byte that is not valid in ``codec``."""
    handle.seek(0)
    walker = _Walker(codec)
    for chunk in _chunks(handle):
        walker.decode(chunk)
    walker.decode(b"", final=True)


def _bom_codec(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16
    if head.startswith(codecs.BOM_UTF8):
        return UTF8
    return None


def settle_file(path: Path, named: str | None = None) -> Settled:
    """The encoding of a text file by the rule of this module, checked over the whole file.

    ``named``: the encoding the user named (checked with :func:`check_encoding_name`).
    Raises :class:`EncodingProblem` naming the line of the first bad byte.
    """
    with path.open("rb") as handle:
        if named is not None:
            codec = check_encoding_name(named)
            if codec in (UTF8, "utf-8-sig"):
                _check(handle, UTF8)
                return Settled(UTF8, transcode=False)
            _check(handle, codec)
            return Settled(codec, transcode=True)
        bom = _bom_codec(handle.read(4))
        if bom is not None:
            _check(handle, bom)
            return Settled(bom, transcode=bom != UTF8)
        try:
            _check(handle, UTF8)
        except EncodingProblem:
            if _has_multi_byte(handle):
                raise
            return Settled(CP1252, transcode=True)
        return Settled(UTF8, transcode=False)


def decode_bytes(data: bytes, named: str | None = None) -> str:
    """A whole small file's text by the same rule (a UTF-8 or UTF-16 BOM is dropped).

    Raises :class:`EncodingProblem` naming the line of the first bad byte.
    """
    if named is not None:
        codec = check_encoding_name(named)
    else:
        codec = _bom_codec(data[:4]) or UTF8
        if codec == UTF8 and not _is_utf8(data) and not _MULTI_BYTE.search(data):
            codec = CP1252
    if codec == UTF8:
        codec = "utf-8-sig"
    return _Walker(codec).decode(data, final=True)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode(UTF8)
    except UnicodeDecodeError:
        return False
    return True


def transcode(source: Path, target: Path, codec: str) -> None:
    """Write ``source`` (in ``codec``) to ``target`` as UTF-8, one chunk at a time.

    Line breaks are kept as they are, so line numbers in the copy are those of the original.
    A UTF-16 BOM is dropped. Raises :class:`EncodingProblem` at the first byte not valid in
    ``codec``.
    """
    walker = _Walker(codec)
    with source.open("rb") as reader, target.open("wb") as writer:
        for chunk in _chunks(reader):
            writer.write(walker.decode(chunk).encode("utf-8"))
        writer.write(walker.decode(b"", final=True).encode("utf-8"))
