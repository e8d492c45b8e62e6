"""The encoding of an import file: strict UTF-8, legacy Windows-1252, or the one named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.imports import ImportInputError
from cxpulse.store.models import Organisation

from .conftest import run_import, stored

MAP = "id=id,score=score,comment=comment"
UTF8_ROWS = "id,score,comment\n1,5,café\n2,4,Привет\n".encode()


def test_a_stray_byte_in_a_utf8_file_refuses_the_import_at_its_line(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    # Before: the file was read as Windows-1252 and imported: "cafÃ©", garbled Cyrillic.
    path = tmp_path / "answers.csv"
    path.write_bytes(UTF8_ROWS + b"3,3,stray \xff byte\n")
    with pytest.raises(ImportInputError) as raised:
        run_import(sessions, org, path, mapping=MAP)
    assert str(raised.value) == (
        "could not read answers.csv: line 4: byte 0xFF is not valid UTF-8; save the file as "
        "UTF-8 or name its encoding (--encoding / encoding=...)"
    )
    assert stored(sessions) == []


def test_a_named_encoding_is_read_as_named(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes("id,score,comment\n1,5,Ærø €\n".encode("iso-8859-15"))
    result = run_import(sessions, org, path, mapping=MAP, encoding="iso-8859-15")
    assert result.imported == 1
    assert stored(sessions)[0].comment == "Ærø €"
    with pytest.raises(ImportInputError, match="unknown encoding 'ebcdic-klingon'"):
        run_import(sessions, org, path, mapping=MAP, encoding="ebcdic-klingon")


def test_utf8_with_bom_utf16_and_legacy_files_import(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(b"\xef\xbb\xbf" + UTF8_ROWS)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("id,score,comment\r\n3,5,東京\r\n".encode("utf-16"))
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(b"id,score,comment\n4,2,Caf\xe9 \x80\n")
    for path in (utf8, utf16, legacy):
        run_import(sessions, org, path, mapping=MAP)
    assert [r.comment for r in stored(sessions)] == ["café", "Привет", "東京", "Café €"]
