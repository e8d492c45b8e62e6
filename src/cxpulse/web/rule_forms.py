"""The rule form of the signed-in pages: plain HTML fields to and from a rule's documents.

The form is flat (checkboxes, selects, a few text boxes), so it works without JavaScript;
``documents`` turns what was posted into the conditions and actions the API takes, and
``form_values`` turns a stored rule back into field values. Problems found by the act stage
name document paths (``conditions.band.0``); ``field_of`` says which form field shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from cxpulse.act.rule_conditions import BAND_NAMES, Problem
from cxpulse.store import _values as values
from cxpulse.store.models import Rule

MAX_FIELD = 4000
BANDS = (
    ("bottom", "Unhappy", "NPS detractors (0-6), CSAT dissatisfied (1-2 of 1-5), CES hard"),
    ("middle", "In between", "NPS passives (7-8), CSAT neutral (3), CES neutral"),
    ("top", "Happy", "NPS promoters (9-10), CSAT satisfied (4-5), CES easy"),
)
SENTIMENTS = ("negative", "neutral", "positive")

_FIELDS = (
    ("conditions.band", "band"),
    ("conditions.score", "score"),
    ("conditions.theme", "theme"),
    ("conditions.sentiment", "sentiment"),
    ("conditions.comment", "comment"),
    ("conditions.segments", "segments"),
    ("conditions.contact_consent", "contact_consent"),
    ("conditions", "conditions"),
    ("actions.case", "case"),
    ("actions.email.user_ids", "notice_users"),
    ("actions.email", "notice_addresses"),
    ("actions.notify", "endpoints"),
    ("actions.tag", "tags"),
    ("actions", "actions"),
    ("survey_id", "survey_id"),
    ("position", "name"),
    ("name", "name"),
)


def field_of(path: str) -> str:
    """The form field that shows a problem at ``path`` (a field's own name stays)."""
    if path in {name for _, name in _FIELDS}:
        return path
    for prefix, name in _FIELDS:
        if path == prefix or path.startswith(prefix + "."):
            return name
    return "actions"


@dataclass
class Posted:
    """A posted rule form: the values for ``act.rules`` and the problems found reading it."""

    name: str = ""
    survey_id: int | None = None
    enabled: bool = True
    conditions: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _text(form: FormData, name: str, posted: Posted) -> str:
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    problem = values.text_problem(text)
    if problem is None and len(text) > MAX_FIELD:
        problem = f"must be at most {MAX_FIELD} characters"
    if problem is not None:
        posted.problems.append(Problem(name, problem))
        return ""
    return text


def _ints(form: FormData, name: str, posted: Posted) -> list[int]:
    out: list[int] = []
    for raw in form.getlist(name):
        if isinstance(raw, str) and raw.isascii() and raw.isdecimal() and len(raw) < 10:
            out.append(int(raw))
        elif raw:
            posted.problems.append(Problem(name, "choose from the list"))
    return out


def _number(form: FormData, name: str, posted: Posted, where: str) -> float | None:
    text = _text(form, name, posted).replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        posted.problems.append(Problem(where, "must be a number"))
        return None


def _segments(text: str, posted: Posted) -> dict[str, list[str]]:
    """``dimension=value, value`` per line, such as ``contact:vip=yes``."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, wanted = line.partition("=")
        choices = [v.strip() for v in wanted.split(",") if v.strip()]
        if not sep or not name.strip() or not choices:
            posted.problems.append(
                Problem("segments", f"write {line.strip()[:40]!r} as dimension=value, value")
            )
            continue
        out.setdefault(name.strip(), []).extend(choices)
    return out


def documents(form: FormData) -> Posted:
    """What the rule form posted, as the API's values."""
    posted = Posted()
    posted.name = _text(form, "name", posted)
    survey = _ints(form, "survey_id", posted)
    posted.survey_id = survey[0] if survey else None
    posted.enabled = form.get("enabled") == "on"
    conditions: dict[str, Any] = {}
    bands = [b for b in form.getlist("band") if isinstance(b, str)]
    if bands:
        conditions["band"] = bands
    low = _number(form, "score_min", posted, "score")
    high = _number(form, "score_max", posted, "score")
    if low is not None or high is not None:
        conditions["score"] = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    themes = [t for t in form.getlist("theme") if isinstance(t, str) and t]
    if themes:
        conditions["theme"] = themes
    sentiments = [s for s in form.getlist("sentiment") if isinstance(s, str)]
    if sentiments:
        conditions["sentiment"] = sentiments
    for name in ("comment", "contact_consent"):
        chosen = _text(form, name, posted)
        if chosen and chosen != "any":
            conditions[name] = {"yes": True, "no": False}.get(chosen, chosen)
    segments = _segments(_text(form, "segments", posted), posted)
    if segments:
        conditions["segments"] = segments
    posted.conditions = conditions

    actions: dict[str, Any] = {}
    if form.get("case") == "on":
        case: dict[str, Any] = {"priority": _text(form, "case_priority", posted) or "normal"}
        team = _ints(form, "case_team_id", posted)
        assignee = _ints(form, "case_assignee_user_id", posted)
        if team:
            case["team_id"] = team[0]
        if assignee:
            case["assignee_user_id"] = assignee[0]
        actions["case"] = case
    users = _ints(form, "notice_users", posted)
    addresses = [a for a in _text(form, "notice_addresses", posted).split() if a.strip(",;")]
    addresses = [a.strip(",;") for a in addresses]
    if users or addresses:
        actions["email"] = {"user_ids": users, "addresses": addresses}
    endpoints = _ints(form, "endpoints", posted)
    if endpoints:
        actions["notify"] = {"endpoint_ids": endpoints}
    tags = [t.strip() for t in _text(form, "tags", posted).split(",") if t.strip()]
    if tags:
        actions["tag"] = tags
    for flag in ("review_request", "referral_code", "passive_question"):
        if form.get(flag) == "on":
            actions[flag] = True
    posted.actions = actions
    return posted


def form_values(rule: Rule | None) -> dict[str, Any]:
    """A stored rule (or a new one's defaults) as the form's field values."""
    if rule is None:
        return posted_values(Posted())
    return posted_values(
        Posted(
            name=rule.name,
            survey_id=rule.survey_id,
            enabled=rule.enabled,
            conditions=dict(rule.conditions or {}),
            actions=dict(rule.actions or {}),
        )
    )


def posted_values(posted: Posted) -> dict[str, Any]:
    c: Mapping[str, Any] = posted.conditions
    a: Mapping[str, Any] = posted.actions
    case = a.get("case") or {}
    email = a.get("email") or {}
    score = c.get("score") or {}
    consent = c.get("contact_consent")
    bands = c.get("band") or []
    return {
        "name": posted.name,
        "survey_id": posted.survey_id,
        "enabled": posted.enabled,
        "band": {BAND_NAMES.get(str(b).lower(), str(b)) for b in bands},
        "score_min": _shown(score.get("min")),
        "score_max": _shown(score.get("max")),
        "theme": set(c.get("theme") or []),
        "sentiment": set(c.get("sentiment") or []),
        "comment": c.get("comment") or "any",
        "contact_consent": "any" if consent is None else ("yes" if consent else "no"),
        "segments": "\n".join(
            f"{name}={', '.join(v if isinstance(v, list) else [v])}"
            for name, v in (c.get("segments") or {}).items()
        ),
        "case": bool(case) or "case" in a,
        "case_priority": case.get("priority", "normal"),
        "case_team_id": case.get("team_id"),
        "case_assignee_user_id": case.get("assignee_user_id"),
        "notice_users": set(email.get("user_ids") or []),
        "notice_addresses": "\n".join(email.get("addresses") or []),
        "endpoints": set((a.get("notify") or {}).get("endpoint_ids") or []),
        "tags": ", ".join(a.get("tag") or []),
        "review_request": bool(a.get("review_request")),
        "referral_code": bool(a.get("referral_code")),
        "passive_question": bool(a.get("passive_question")),
    }


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def summary(rule: Rule) -> tuple[str, str]:
    """(when, then) of a rule in a few words, for the list."""
    c: Mapping[str, Any] = rule.conditions or {}
    a: Mapping[str, Any] = rule.actions or {}
    when: list[str] = []
    names = {"bottom": "unhappy", "middle": "in between", "top": "happy"}
    if c.get("band"):
        when.append(" or ".join(names.get(BAND_NAMES.get(b, b), b) for b in c["band"]))
    if c.get("score"):
        s = c["score"]
        when.append(
            f"score {_shown(s.get('min', ''))}–{_shown(s.get('max', ''))}".replace("–", "–")
        )
    if c.get("theme"):
        when.append("theme " + " or ".join(c["theme"]))
    if c.get("sentiment"):
        when.append(" or ".join(c["sentiment"]) + " comment")
    if c.get("comment"):
        when.append(f"comment {c['comment']}")
    for name, wanted in (c.get("segments") or {}).items():
        when.append(f"{name} = {' or '.join(wanted)}")
    if "contact_consent" in c:
        when.append("agreed to be contacted" if c["contact_consent"] else "declined contact")
    then: list[str] = []
    if "case" in a:
        then.append(f"open a {a['case'].get('priority', 'normal')} case")
    if a.get("email"):
        n = len(a["email"].get("user_ids", [])) + len(a["email"].get("addresses", []))
        then.append(f"email {n} recipient{'s' if n != 1 else ''}")
    if a.get("notify"):
        then.append("notify " + str(len(a["notify"]["endpoint_ids"])) + " endpoint(s)")
    if a.get("tag"):
        then.append("tag " + ", ".join(a["tag"]))
    if a.get("review_request"):
        then.append("ask for a review")
    if a.get("referral_code"):
        then.append("send a referral code")
    if a.get("passive_question"):
        then.append("ask what would make it a 10")
    return ("; ".join(when) or "every answer"), "; ".join(then)
