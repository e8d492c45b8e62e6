"""The form that sends a survey, read into a ``Draft``: who (a CSV file, contacts chosen by a
filter, or one contact), when (now, or a local date and time in the organisation's time
zone), which survey; each fault kept by the name of its field, and every bad CSV row by its
line, so the page shows them next to what they are about.

The same reading serves each step (review, test, send): the review page carries the typed
values back as hidden fields (the CSV file as its text), and every step checks them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from cxpulse import i18n
from cxpulse.collect import invitation_batches as batches
from cxpulse.collect import invitation_csv
from cxpulse.collect.invitation_previews import languages_needed
from cxpulse.collect.invitation_requests import MAX_DELAY, InvitationRequest
from cxpulse.store import contacts as contact_store
from cxpulse.store import invitation_audience as audience
from cxpulse.store import loop_settings, surveys
from cxpulse.store._values import name_problem
from cxpulse.store.email_addresses import email_problem, lookup_email
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Contact, Survey
from cxpulse.web.form_values import MAX_SMALL_ID, ascii_digits, parse_id, parse_whole

AUDIENCES = ("csv", "filter", "contact")
FIELDS = (
    "survey",
    "audience",
    "attribute",
    "value",
    "language",
    "days",
    "contact",
    "when",
    "send_at",
    "form_key",
    "csv_text",
)
MAX_FIELD = 320
MAX_LISTED_ROWS = 100
MAX_DAYS = 3650


@dataclass
class Draft:
    """A send as the form describes it, checked."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    row_errors: list[str] = field(default_factory=list)
    """Every bad CSV row, by line (the first ``MAX_LISTED_ROWS``)."""
    more_row_errors: int = 0
    survey: Survey | None = None
    requests: list[InvitationRequest] = field(default_factory=list)
    recipients: int = 0
    who: str = ""
    """The recipients in words, for the review page."""
    languages: list[str] = field(default_factory=list)
    send_at: datetime | None = None
    """None: now."""
    timezone: str = "UTC"

    @property
    def ok(self) -> bool:
        return not self.errors and not self.row_errors


def organisation_zone(session: Session, organisation_id: int) -> tuple[str, ZoneInfo]:
    """The organisation's time zone (its closed-loop settings), else UTC."""
    name = loop_settings.get_settings(session, organisation_id).timezone or "UTC"
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", ZoneInfo("UTC")


def typed_values(form: FormData) -> dict[str, str]:
    """The form's text fields (cut to their limits; the CSV text to the file limit)."""
    found: dict[str, str] = {}
    for name in FIELDS:
        raw = form.get(name)
        if isinstance(raw, str):
            limit = invitation_csv.MAX_CSV_BYTES * 2 if name == "csv_text" else MAX_FIELD
            found[name] = raw[:limit] if name == "csv_text" else raw.strip()[:limit]
    return found


async def uploaded_bytes(form: FormData) -> bytes | None:
    """The bytes of the file field, at most one past the limit; None when none was chosen."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(invitation_csv.MAX_CSV_BYTES + 1)


def read_draft(
    session: Session,
    organisation_id: int,
    values: dict[str, str],
    upload: bytes | None,
    *,
    now: datetime,
) -> Draft:
    """The checked draft of ``values`` (and the uploaded file's bytes, which replace the
    carried CSV text)."""
    draft = Draft(values=dict(values))
    draft.timezone, zone = organisation_zone(session, organisation_id)
    _survey(session, organisation_id, draft)
    _when(draft, zone, now)
    key = values.get("form_key", "")
    try:
        batches.form_key_issued(key, now)
    except Invalid as refused:
        draft.errors["form_key"] = refused.message
    chosen = values.get("audience", "")
    if chosen == "csv":
        _from_csv(session, organisation_id, draft, upload, key)
    elif chosen == "filter":
        _from_filter(session, organisation_id, draft, key, now)
    elif chosen == "contact":
        _one_contact(session, organisation_id, draft, key)
    else:
        draft.errors["audience"] = "Choose who gets the survey."
    if draft.survey is not None and draft.ok and not draft.languages:
        draft.languages = languages_needed(draft.survey, [])
    return draft


def _survey(session: Session, organisation_id: int, draft: Draft) -> None:
    text = draft.values.get("survey", "")
    if not text:
        draft.errors["survey"] = "Choose the survey to send."
        return
    survey_id = parse_id(text, MAX_SMALL_ID)
    if survey_id is None:
        draft.errors["survey"] = "There is no such survey in your organisation."
        return
    try:
        survey = surveys.get_survey(session, organisation_id, survey_id)
    except NotFound:
        draft.errors["survey"] = "There is no such survey in your organisation."
        return
    draft.survey = survey
    if survey.status != "active":
        draft.errors["survey"] = (
            f"“{survey.name}” is {survey.status}: only an active survey can be sent. "
            "Activate it on its page first."
        )


def _when(draft: Draft, zone: ZoneInfo, now: datetime) -> None:
    if draft.values.get("when", "now") != "later":
        draft.values["when"] = "now"
        return
    text = draft.values.get("send_at", "")
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        draft.errors["send_at"] = "Give a date and time, such as 2026-03-01 09:00."
        return
    moment = (local if local.tzinfo else local.replace(tzinfo=zone)).astimezone(UTC)
    if moment < now - timedelta(minutes=1):
        draft.errors["send_at"] = "This moment has passed: choose a later one, or send now."
    elif moment > now + MAX_DELAY:
        draft.errors["send_at"] = "At most a year ahead."
    else:
        draft.send_at = moment


def _from_csv(
    session: Session, organisation_id: int, draft: Draft, upload: bytes | None, key: str
) -> None:
    if upload is not None:
        if len(upload) > invitation_csv.MAX_CSV_BYTES:
            draft.errors["file"] = (
                f"The file is over {invitation_csv.MAX_CSV_BYTES // 1_000_000} MB: split it, "
                "or send it through the API or `cxpulse invite`."
            )
            return
        try:
            text = invitation_csv.decode(upload)
        except invitation_csv.CsvProblem as problem:
            draft.errors["file"] = str(problem)
            return
        draft.values["csv_text"] = text
    text = draft.values.get("csv_text", "")
    if not text.strip():
        draft.errors["file"] = "Choose a CSV file with an email column."
        return
    try:
        parsed = invitation_csv.parse_recipients(text)
    except invitation_csv.CsvProblem as problem:
        draft.errors["file"] = str(problem)
        return
    if parsed.problems:
        draft.values["csv_text"] = ""  # a corrected file is chosen again, not this one
        ordered = sorted(parsed.problems, key=lambda p: p.line)
        draft.row_errors = [str(p) for p in ordered[:MAX_LISTED_ROWS]]
        draft.more_row_errors = max(len(ordered) - MAX_LISTED_ROWS, 0)
        draft.errors["file"] = (
            f"{len({p.line for p in ordered}):,} row{'s' if len(ordered) != 1 else ''} "
            "of the file cannot be sent; nothing was queued. Correct them and choose it again."
        )
        return
    if not parsed.rows:
        draft.errors["file"] = "The file has no recipients below its header."
        return
    draft.requests = batches.csv_requests(parsed.rows, key, draft.send_at)
    draft.recipients = len(parsed.rows)
    draft.who = f"{len(parsed.rows):,} recipient{'s' if len(parsed.rows) != 1 else ''} of the file"
    if draft.survey is not None:
        known = audience.locales_of_emails(session, organisation_id, [r.email for r in parsed.rows])
        draft.languages = languages_needed(
            draft.survey, [(r.language, known.get(r.email)) for r in parsed.rows]
        )


def line_of(draft: Draft, index: int | None) -> str:
    """Where the request ``index`` came from, for a fault found while storing."""
    if index is None or not 0 <= index < len(draft.requests):
        return ""
    key = draft.requests[index].idempotency_key or ""
    suffix = key.rpartition(":")[2]
    return f"line {suffix}" if ascii_digits(suffix) else f"recipient {index + 1}"


def audience_filter(values: dict[str, str], errors: dict[str, str]) -> audience.AudienceFilter:
    attribute = values.get("attribute") or None
    value = values.get("value", "")
    if attribute is not None and (problem := name_problem(attribute)) is not None:
        errors["attribute"] = f"The attribute name {problem}."
    if value and attribute is None:
        errors["attribute"] = "Name the attribute the value is for."
    language = values.get("language") or None
    if language is not None and language not in i18n.LANGUAGES:
        errors["language"] = f"Choose one of {', '.join(i18n.LANGUAGES)}."
    days_text = values.get("days", "")
    days: int | None = None
    if days_text:
        days = parse_whole(days_text, 1, MAX_DAYS)
        if days is None:
            errors["days"] = f"A whole number of days from 1 to {MAX_DAYS}."
    return audience.AudienceFilter(attribute, value if attribute else None, language, days)


def _from_filter(
    session: Session, organisation_id: int, draft: Draft, key: str, now: datetime
) -> None:
    errors: dict[str, str] = {}
    chosen = audience_filter(draft.values, errors)
    if errors:
        draft.errors.update(errors)
        return
    count = audience.count_matching(session, organisation_id, chosen, now)
    draft.recipients = count
    draft.who = f"{count:,} contact{'s' if count != 1 else ''} matching the filter"
    if count == 0:
        draft.errors["attribute"] = "No contact with an email address matches this filter."
        return
    if count > invitation_csv.MAX_RECIPIENTS:
        draft.errors["attribute"] = (
            f"{count:,} contacts match; at most {invitation_csv.MAX_RECIPIENTS:,} can be sent "
            "to from the browser at once: narrow the filter, or use the API."
        )
        return
    found = audience.matching_contacts(
        session, organisation_id, chosen, now, limit=invitation_csv.MAX_RECIPIENTS
    )
    draft.requests = batches.contact_requests(found, key, draft.send_at)
    if draft.survey is not None:
        locales = audience.locales_of_matching(session, organisation_id, chosen, now)
        draft.languages = languages_needed(draft.survey, [(None, x) for x in locales])


def find_contact(session: Session, organisation_id: int, text: str) -> Contact | None:
    """The contact named by id (ASCII digits) or by address; None when there is none."""
    if ascii_digits(text):
        contact_id = parse_id(text)
        if contact_id is None:  # 0, or past the column's range: no contact has it
            return None
        try:
            return contact_store.get_contact(session, organisation_id, contact_id)
        except NotFound:
            return None
    return contact_store.find_by_email(session, organisation_id, text)


def _one_contact(session: Session, organisation_id: int, draft: Draft, key: str) -> None:
    text = draft.values.get("contact", "")
    if not text:
        draft.errors["contact"] = "Give the contact's email address."
        return
    contact = find_contact(session, organisation_id, text)
    if contact is None:
        if ascii_digits(text):
            draft.errors["contact"] = "There is no such contact in your organisation."
            return
        if (problem := email_problem(text)) is not None:
            draft.errors["contact"] = f"This is not an email address: it {problem}."
            return
        # A new address: the contact is made when the invitation is, as the API does.
        address = lookup_email(text) or text
        draft.requests = [
            InvitationRequest(email=address, send_at=draft.send_at, idempotency_key=f"{key}:1")
        ]
        draft.who = f"{address} (a new contact)"
    else:
        if not contact.email:
            draft.errors["contact"] = "This contact has no email address."
            return
        draft.requests = batches.contact_requests([contact], key, draft.send_at)
        draft.who = f"{contact.name} <{contact.email}>" if contact.name else contact.email
        if draft.survey is not None:
            draft.languages = languages_needed(draft.survey, [(None, contact.locale)])
    draft.recipients = 1
