from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from cxpulse.engine import encoding
from cxpulse.engine.encoding import Encoding, decode_cp1252, read_head, sniff_encoding, transcode


def test_cp1252_with_undefined_bytes_as_latin1() -> None:
    assert decode_cp1252(b"caf\xe9 \x80 \x9c") == "café € œ"
    for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D):
        assert decode_cp1252(bytes([byte])) == chr(byte)
    assert decode_cp1252(bytes(range(256))).encode("utf-8").decode("utf-8")


@pytest.mark.parametrize(
    ("data", "complete", "expected"),
    [
        (b"score\n5\n", True, Encoding.UTF8),
        (codecs.BOM_UTF8 + "é".encode(), True, Encoding.UTF8),
        ("é€".encode(), True, Encoding.UTF8),
        ("x€".encode()[:-1], False, Encoding.UTF8),  # a character cut at the end of the head
        ("x€".encode()[:-1], True, Encoding.CP1252),
        (b"caf\xe9", True, Encoding.CP1252),
        ("score".encode("utf-16"), True, Encoding.UTF16),
        ("score".encode("utf-16-be"), True, Encoding.UTF8),  # no BOM: not guessed
        (codecs.BOM_UTF16_BE + "score".encode("utf-16-be"), True, Encoding.UTF16),
    ],
)
def test_sniff(data: bytes, complete: bool, expected: Encoding) -> None:
    assert sniff_encoding(data, complete) is expected


def test_read_head_says_whether_it_is_all(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes(b"a\n1\n")
    assert read_head(small) == (b"a\n1\n", True)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (encoding.HEAD_BYTES + 1))
    head, complete = read_head(big)
    assert len(head) == encoding.HEAD_BYTES
    assert not complete


@pytest.mark.parametrize("source_encoding", [Encoding.CP1252, Encoding.UTF16])
def test_transcode_in_small_chunks_keeps_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source_encoding: Encoding
) -> None:
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 7)
    text = "score;segment\r\n5;café\r\n4;€uro\n3;naïve\n" * 5
    source = tmp_path / "in.csv"
    python_codec = "cp1252" if source_encoding is Encoding.CP1252 else "utf-16"
    source.write_bytes(text.encode(python_codec))
    target = tmp_path / "out.csv"
    transcode(source, target, source_encoding)
    assert target.read_bytes() == text.encode("utf-8")
