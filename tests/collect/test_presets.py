"""Each preset on a file shaped like the product's export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.imports import ImportInputError, InvalidRowsError
from cxpulse.collect.presets import PRESETS, find_columns, get_preset
from cxpulse.store.models import Organisation

from .conftest import assert_rollups_match, run_import, stored, write_csv

ZENDESK = [
    "Ticket ID,Satisfaction Score,Satisfaction Comment,Created at,Assignee,Group,"
    "Satisfaction Reason",
    "101,good,Quick and kind,2024-03-01 10:00:00,Lena,Tier 1,",
    "102,bad,Took too long,2024-03-01 11:00:00,Bob,Tier 2,The issue took too long to resolve",
    "103,offered,,2024-03-02 09:00:00,Lena,Tier 1,",
    '104,good_with_comment,"Great, thanks",2024-03-02 10:00:00,Bob,Tier 2,',
    "105,unoffered,,2024-03-03 10:00:00,Bob,Tier 2,",
    "106,Bad,,2024-03-03 11:00:00,Lena,Tier 1,Other",
]


def test_zendesk_good_and_bad_are_thumbs(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "zendesk.csv", ZENDESK)
    result = run_import(sessions, org, path, survey="thumbs", preset="zendesk")
    assert (result.imported, result.blank, result.invalid) == (4, 2, 0)
    assert result.key == "column 'Ticket ID'"
    rows = stored(sessions, "thumbs")
    assert [(r.idempotency_key, r.score) for r in rows] == [
        ("import:101", 1.0),
        ("import:102", 0.0),
        ("import:104", 1.0),
        ("import:106", 0.0),
    ]
    assert rows[1].properties == {
        "agent": "Bob",
        "team": "Tier 2",
        "reason": "The issue took too long to resolve",
    }
    assert rows[2].comment == "Great, thanks"
    assert rows[0].submitted_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert rows[0].source == "import"
    assert_rollups_match(sessions)


def test_zendesk_words_are_refused_on_a_five_point_survey(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "zendesk.csv", ZENDESK)
    with pytest.raises(InvalidRowsError) as raised:
        run_import(sessions, org, path, survey="support-csat", preset="zendesk")
    first = raised.value.result.invalid_rows[0]
    assert (first.line, first.column, first.value) == (2, "Satisfaction Score", "good")
    assert "thumbs rating" in first.reason
    assert stored(sessions) == []


def test_zendesk_numeric_ratings_with_map_override(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "csat.csv",
        [
            "Ticket ID,Rating,Comment,Updated at,Channel",
            "7,5,Super,2024-04-01T08:00:00Z,email",
            "8,2,,2024-04-01T09:30:00+02:00,chat",
        ],
    )
    result = run_import(sessions, org, path, preset="zendesk", mapping="channel=")
    assert result.imported == 2
    rows = stored(sessions)  # in order of submission: ticket 8 was rated first
    assert [(r.idempotency_key, r.score) for r in rows] == [("import:8", 2.0), ("import:7", 5.0)]
    assert rows[0].submitted_at == datetime(2024, 4, 1, 7, 30, tzinfo=UTC)
    assert {r.channel for r in rows} == {None}  # "channel=" dropped the preset's channel
    assert rows[0].touchpoint == "after support ticket"


def test_typeform_question_column_is_mapped(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    question = "How satisfied are you with our support?"
    path = write_csv(
        tmp_path / "typeform.csv",
        [
            f'#,{question},"Anything else, tell us",Start Date (UTC),Submit Date (UTC),Network ID',
            'a1b2c3,5,"Great, thanks",2024-03-01 10:00:00,2024-03-01 10:01:10,f3e2',
            "d4e5f6,3,,2024-03-02 10:00:00,2024-03-02 10:00:40,aa11",
        ],
    )
    with pytest.raises(ImportInputError) as raised:
        run_import(sessions, org, path, preset="typeform")
    message = str(raised.value)
    assert "names the column after the question" in message
    assert repr(question) in message
    assert "'Submit Date (UTC)'" in message

    result = run_import(
        sessions,
        org,
        path,
        preset="typeform",
        mapping=f"score={question},comment=Anything else, tell us",
    )
    assert result.imported == 2
    rows = stored(sessions)
    assert [(r.idempotency_key, r.comment) for r in rows] == [
        ("import:a1b2c3", "Great, thanks"),
        ("import:d4e5f6", None),
    ]
    assert rows[0].submitted_at == datetime(2024, 3, 1, 10, 1, 10, tzinfo=UTC)
    assert rows[0].properties == {"network_id": "f3e2"}


SURVEYMONKEY_QUESTION = "How likely is it that you would recommend us to a friend or colleague?"


def surveymonkey(tmp_path: Path, extra: list[str] | None = None) -> Path:
    empty = ",".join([""] * 9)
    return write_csv(
        tmp_path / "surveymonkey.csv",
        [
            "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,"
            f"First Name,Last Name,Custom Data 1,{SURVEYMONKEY_QUESTION},"
            "What is the main reason for your score?",
            f"{empty},Response,Open-Ended Response",
            "114000001,400001,03/01/2024 10:00:00 AM,03/01/2024 10:02:31 AM,1.2.3.4,,,,,10,Love it",
            "114000002,400001,03/02/2024 01:15:00 PM,03/02/2024 01:16:00 PM,1.2.3.5,,,,,"
            "0 - Not at all likely,Too slow",
            *(extra or []),
        ],
    )


def test_surveymonkey_two_header_rows_us_dates_and_labels(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = surveymonkey(tmp_path)
    result = run_import(
        sessions,
        org,
        path,
        survey="nps",
        preset="surveymonkey",
        mapping=f"score={SURVEYMONKEY_QUESTION},comment=What is the main reason for your score?",
    )
    assert (result.rows, result.imported) == (2, 2)
    rows = stored(sessions, "nps")
    assert [(r.score, r.comment) for r in rows] == [(10.0, "Love it"), (0.0, "Too slow")]
    assert rows[1].submitted_at == datetime(2024, 3, 2, 13, 16, tzinfo=UTC)
    assert rows[0].properties == {"collector": "400001"}
    assert rows[0].idempotency_key == "import:114000001"


def test_surveymonkey_invalid_row_has_its_file_line(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = surveymonkey(
        tmp_path, ["114000003,400001,03/03/2024 09:00:00 AM,03/03/2024 09:01:00 AM,,,,,,11,"]
    )
    with pytest.raises(InvalidRowsError) as raised:
        run_import(
            sessions,
            org,
            path,
            survey="nps",
            preset="surveymonkey",
            mapping=f"score={SURVEYMONKEY_QUESTION}",
        )
    cell = raised.value.result.invalid_rows[0]
    assert (cell.line, cell.value) == (5, "11")
    assert "0-10 scale" in cell.reason


def qualtrics(tmp_path: Path) -> Path:
    names = (
        "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,"
        "RecordedDate,ResponseId,RecipientLastName,RecipientFirstName,RecipientEmail,"
        "ExternalReference,LocationLatitude,LocationLongitude,DistributionChannel,"
        "UserLanguage,Q1,Q1_NPS_GROUP,Q2"
    )
    labels = (
        "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),"
        "Finished,Recorded Date,Response ID,Recipient Last Name,Recipient First Name,"
        "Recipient Email,External Data Reference,Location Latitude,Location Longitude,"
        'Distribution Channel,User Language,"How likely are you to recommend us?\n(0-10)",'
        "How likely are you to recommend us? - Group,Why?"
    )

    def import_id(name: str, zone: bool = False) -> str:
        extra = ',""timeZone"":""Europe/Stockholm""' if zone else ""
        return f'"{{""ImportId"":""{name}""{extra}}}"'

    ids = ",".join(
        [
            import_id("startDate", True),
            import_id("endDate", True),
            import_id("status"),
            import_id("ipAddress"),
            import_id("progress"),
            import_id("duration"),
            import_id("finished"),
            import_id("recordedDate", True),
            import_id("_recordId"),
            import_id("recipientLastName"),
            import_id("recipientFirstName"),
            import_id("recipientEmail"),
            import_id("externalDataReference"),
            import_id("locationLatitude"),
            import_id("locationLongitude"),
            import_id("distributionChannel"),
            import_id("userLanguage"),
            import_id("QID1"),
            import_id("QID1_NPS_GROUP"),
            import_id("QID2_TEXT"),
        ]
    )
    data = [
        "2024-03-01 10:00:00,2024-03-01 10:03:00,IP Address,1.2.3.4,100,180,True,"
        "2024-03-01 10:03:01,R_1a,,,,,,,anonymous,EN,9,3,Great",
        "2024-07-01 10:00:00,2024-07-01 10:03:00,IP Address,1.2.3.5,100,180,True,"
        "2024-07-01 10:03:01,R_2b,,,,,,,email,SV,4,1,Slow",
        "2024-07-02 10:00:00,2024-07-02 10:03:00,IP Address,1.2.3.6,50,90,False,"
        "2024-07-02 10:03:01,R_3c,,,,,,,email,SV,,,",
    ]
    return write_csv(tmp_path / "qualtrics.csv", [names, labels, ids, *data])


def test_qualtrics_header_rows_nps_group_and_time_zone(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = qualtrics(tmp_path)
    result = run_import(sessions, org, path, survey="nps", preset="qualtrics", mapping="comment=Q2")
    assert (result.rows, result.imported, result.blank) == (3, 2, 1)
    assert result.columns["score"] == "Q1"
    rows = stored(sessions, "nps")
    assert [(r.idempotency_key, r.score, r.comment) for r in rows] == [
        ("import:R_1a", 9.0, "Great"),
        ("import:R_2b", 4.0, "Slow"),
    ]
    # Recorded in Stockholm time: CET (+01:00) in March, CEST (+02:00) in July.
    assert rows[0].submitted_at == datetime(2024, 3, 1, 9, 3, 1, tzinfo=UTC)
    assert rows[1].submitted_at == datetime(2024, 7, 1, 8, 3, 1, tzinfo=UTC)
    assert (rows[0].channel, rows[0].language) == ("anonymous", "en")
    assert_rollups_match(sessions)


def test_qualtrics_invalid_line_counts_the_multi_line_header(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = qualtrics(tmp_path)
    text = path.read_text(encoding="utf-8").replace(",4,1,Slow", ",14,1,Slow")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidRowsError) as raised:
        run_import(sessions, org, path, survey="nps", preset="qualtrics")
    # Header (1), labels (2 and 3: a quoted label spans two lines), import ids (4), R_1a (5).
    assert raised.value.result.invalid_rows[0].line == 6


def test_find_columns_ignores_case_spaces_and_underscores() -> None:
    found = find_columns(get_preset("zendesk"), ["ticket_id", "RATING", "created_at"])
    assert found == {"id": "ticket_id", "score": "RATING", "submitted_at": "created_at"}


def test_every_preset_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    for name, preset in PRESETS.items():
        assert f"`{name}`" in docs
        for candidates in preset.columns.values():
            assert f"`{candidates[0]}`" in docs
