"""The one encoding rule of file imports: strict UTF-8, a BOM, legacy Windows-1252, or named."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from cxpulse.engine import encoding
from cxpulse.engine.encoding import (
    CP1252,
    UTF8,
    UTF16,
    EncodingProblem,
    Settled,
    check_encoding_name,
    decode_bytes,
    decode_cp1252,
    read_head,
    settle_file,
    transcode,
)

ADVICE = "save the file as UTF-8 or name its encoding (--encoding / encoding=...)"


def test_cp1252_with_undefined_bytes_as_latin1() -> None:
    assert decode_cp1252(b"caf\xe9 \x80 \x9c") == "café € œ"
    for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D):
        assert decode_cp1252(bytes([byte])) == chr(byte)
    assert decode_cp1252(bytes(range(256))).encode("utf-8").decode("utf-8")


def _settle(tmp_path: Path, data: bytes, named: str | None = None) -> Settled:
    path = tmp_path / "answers.csv"
    path.write_bytes(data)
    return settle_file(path, named)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"score\n5\n", Settled(UTF8, transcode=False)),
        (codecs.BOM_UTF8 + "é".encode(), Settled(UTF8, transcode=False)),
        ("é€ Привет".encode(), Settled(UTF8, transcode=False)),
        # Legacy: not UTF-8, and not one valid multi-byte UTF-8 sequence anywhere.
        (b"caf\xe9", Settled(CP1252, transcode=True)),
        (b"score\n" + b"5\n" * 10 + b"\x80uro\n", Settled(CP1252, transcode=True)),
        ("score".encode("utf-16"), Settled(UTF16, transcode=True)),
        (codecs.BOM_UTF16_BE + "score".encode("utf-16-be"), Settled(UTF16, transcode=True)),
        ("score".encode("utf-16-be"), Settled(UTF8, transcode=False)),  # no BOM: not guessed
    ],
)
def test_settled_by_the_bytes(tmp_path: Path, data: bytes, expected: Settled) -> None:
    assert _settle(tmp_path, data) == expected


def test_a_stray_byte_in_a_utf8_file_is_refused_at_its_line(tmp_path: Path) -> None:
    # The defect: one 0xFF made the whole file Windows-1252 ("café" became "cafÃ©").
    data = "score,comment\n5,café\n4,Привет\n".encode() + b"3,bad \xff here\n2,ok\n"
    with pytest.raises(EncodingProblem) as raised:
        _settle(tmp_path, data)
    assert str(raised.value) == f"line 4: byte 0xFF is not valid UTF-8; {ADVICE}"


def test_the_line_of_a_stray_byte_far_into_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 7)  # the byte lies many chunks in
    data = "a\né\n".encode() + b"x\n" * 50 + b"\xc3(\n"
    with pytest.raises(EncodingProblem, match=r"^line 53: byte 0xC3 is not valid UTF-8"):
        _settle(tmp_path, data)


def test_a_byte_order_mark_decides(tmp_path: Path) -> None:
    with pytest.raises(EncodingProblem, match=r"^line 2: byte 0xE9 is not valid UTF-8"):
        _settle(tmp_path, codecs.BOM_UTF8 + b"a\ncaf\xe9\n")
    lone_surrogate = "a,b\r\nc,\ud800\n".encode("utf-16", "surrogatepass")
    with pytest.raises(EncodingProblem, match=r"^line 2: bytes 0x00 0xD8 are not valid UTF-16"):
        _settle(tmp_path, lone_surrogate)
    big_endian = codecs.BOM_UTF16_BE + "a\nb\n".encode("utf-16-be") + b"\xdc\x00"
    with pytest.raises(EncodingProblem, match=r"^line 3: bytes 0xDC 0x00 are not valid UTF-16"):
        _settle(tmp_path, big_endian)


def test_a_named_encoding_is_used_as_it_is(tmp_path: Path) -> None:
    mixed = "a\ncafé\n".encode() + b"\xff\n"
    assert _settle(tmp_path, mixed, "windows-1252") == Settled(CP1252, transcode=True)
    assert _settle(tmp_path, mixed, "latin-1") == Settled("iso8859-1", transcode=True)
    with pytest.raises(EncodingProblem, match=r"^line 3: byte 0xFF is not valid UTF-8"):
        _settle(tmp_path, mixed, "UTF8")
    with pytest.raises(EncodingProblem, match=r"^line 2: byte 0x82 is not valid shift_jis"):
        _settle(tmp_path, b"a\n\x82\n", "shift_jis")


@pytest.mark.parametrize("name", ["nope", "base64", "zlib", "rot13", "utf-8\x00", "x" * 200])
def test_unknown_and_non_text_encodings_are_refused(name: str) -> None:
    with pytest.raises(EncodingProblem, match=r"^unknown encoding .*: name one such as utf-8"):
        check_encoding_name(name)


def test_encoding_names_as_people_write_them() -> None:
    assert check_encoding_name(" Windows-1252 ") == CP1252
    assert check_encoding_name("UTF8") == UTF8
    assert check_encoding_name("latin-1") == "iso8859-1"


def test_decode_bytes_follows_the_same_rule() -> None:
    assert decode_bytes("\ufeffemail\nÅsa\n".encode()) == "email\nÅsa\n"
    assert decode_bytes("Åsa".encode("cp1252")) == "Åsa"
    assert decode_bytes("Åsa\n".encode("utf-16")) == "Åsa\n"
    assert decode_bytes(b"caf\xe9", "iso-8859-15") == "café"
    with pytest.raises(EncodingProblem, match=r"^line 3: byte 0xFF is not valid UTF-8"):
        decode_bytes("Åsa\nПривет\n".encode() + b"\xff")


def test_read_head_says_whether_it_is_all(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes(b"a\n1\n")
    assert read_head(small) == (b"a\n1\n", True)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (encoding.HEAD_BYTES + 1))
    head, complete = read_head(big)
    assert len(head) == encoding.HEAD_BYTES
    assert not complete


@pytest.mark.parametrize(("codec", "written"), [(CP1252, "cp1252"), (UTF16, "utf-16")])
def test_transcode_in_small_chunks_keeps_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str, written: str
) -> None:
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 7)
    text = "score;segment\r\n5;café\r\n4;€uro\n3;naïve\n" * 5
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode(written))
    target = tmp_path / "out.csv"
    transcode(source, target, codec)
    assert target.read_bytes() == text.encode("utf-8")
