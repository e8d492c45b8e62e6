"""The collection options of a survey, read from ``Survey.collect_options`` into one typed
object with defaults, and checked when written through the API.

| key | default | meaning |
|---|---|---|
| ``comment`` | ``true`` | show the optional comment box |
| ``reasons`` | ``[]`` | "what went wrong?" choices, shown only after a low score |
| ``reasons_i18n`` | ``{}`` | ``{language: [choices]}``, same order as ``reasons`` |
| ``review_url`` | none | promoters are invited to leave a review here |
| ``referral_url`` | none | promoters are invited to share this link |
| ``allowed_origins`` | ``[]`` | web origins allowed to show the widget (``https://shop.example``) |
| ``link_days`` | 30 | how long the personal links of an invitation stay valid |
| ``track_opens`` | ``false`` | add a tracking pixel to invitation emails |
| ``thanks`` | ``{}`` | ``{language: {"low"/"middle"/"high": text}}``: the survey's own thank-you |
| ``contact_consent`` | ``true`` | after a low score, ask "may we contact you about this?" |

``contact_consent`` is on by default: the box is unticked, asked only after a low score and
only where the respondent is known (a personal link; the widget when the site says who the
visitor is), and a follow-up without consent is what later issues must not do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cxpulse.store import _values as values

# How long the personal links of an invitation stay valid unless a survey says otherwise.
DEFAULT_LINK_DAYS = 30


MAX_REASONS = 12
MAX_REASON_LENGTH = 80
MAX_ORIGINS = 20
MAX_THANKS_LENGTH = 500
THANKS_BANDS = ("low", "middle", "high")


class OptionError(ValueError):
    """A collection option that cannot be used; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class CollectOptions:
    comment: bool = True
    reasons: tuple[str, ...] = ()
    reasons_i18n: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    review_url: str | None = None
    referral_url: str | None = None
    allowed_origins: tuple[str, ...] = ()
    link_days: int = DEFAULT_LINK_DAYS
    track_opens: bool = False
    thanks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """``{language: {band: text}}``; read through ``collect.questions.thanks_in``."""
    contact_consent: bool = True

    def reasons_in(self, language: str) -> tuple[str, ...]:
        """The reasons in ``language`` where translated, else as written."""
        translated = self.reasons_i18n.get(language)
        if translated and len(translated) == len(self.reasons):
            return translated
        return self.reasons

    def allows_origin(self, origin: str | None) -> bool:
        return origin is not None and normalise_origin(origin) in self.allowed_origins

    def to_document(self) -> dict[str, Any]:
        return {
            "comment": self.comment,
            "reasons": list(self.reasons),
            "reasons_i18n": {k: list(v) for k, v in self.reasons_i18n.items()},
            "review_url": self.review_url,
            "referral_url": self.referral_url,
            "allowed_origins": list(self.allowed_origins),
            "link_days": self.link_days,
            "track_opens": self.track_opens,
            "thanks": {lang: dict(texts) for lang, texts in self.thanks.items()},
            "contact_consent": self.contact_consent,
        }


def normalise_origin(origin: str) -> str:
    """``HTTPS://Shop.Example:443/`` -> ``https://shop.example``; raises ``ValueError``."""
    try:
        parts = urlsplit(origin.strip())
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise ValueError(f"not a web origin: {origin!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a web origin: {origin!r}")
    if values.text_problem(origin) is not None:  # urlsplit keeps most controls in the host
        raise ValueError(f"not a web origin: {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"an origin has no path, query or user: {origin!r}")
    default_port = 443 if parts.scheme == "https" else 80
    port = "" if parts.port in (None, default_port) else f":{parts.port}"
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _url(name: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise OptionError(name, "must be a web address of at most 2,000 characters")
    problem = values.text_problem(value)
    if problem is not None:
        raise OptionError(name, problem)
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # such as an unclosed IPv6 bracket
        raise OptionError(name, "is not a web address") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise OptionError(name, "must start with https:// or http://")
    return value


def _reasons(name: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_REASONS:
        raise OptionError(name, f"must be a list of at most {MAX_REASONS} texts")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_REASON_LENGTH:
            raise OptionError(name, f"each reason is a text of 1-{MAX_REASON_LENGTH} characters")
        problem = values.text_problem(item)
        if problem is not None:
            raise OptionError(name, f"reason {item.strip()[:20]!r} {problem}")
        out.append(item.strip())
    return tuple(out)


def _language_code(name: str, lang: object) -> str:
    if not isinstance(lang, str) or not 0 < len(lang) <= 35 or values.text_problem(lang):
        raise OptionError(name, f"{lang!r} is not a language code")
    return lang


def _thanks(value: object) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 100:
        raise OptionError("thanks", 'must map a language to {"low", "middle", "high": text}')
    out: dict[str, dict[str, str]] = {}
    for lang, texts in value.items():
        code = _language_code("thanks", lang)
        name = f"thanks.{code}"
        if not isinstance(texts, dict):
            raise OptionError(name, 'must map "low", "middle" or "high" to a text')
        checked: dict[str, str] = {}
        for band, text in texts.items():
            if band not in THANKS_BANDS:
                raise OptionError(f"{name}.{band}", 'is not "low", "middle" or "high"')
            if text is None or text == "":
                continue  # the default text
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_THANKS_LENGTH:
                raise OptionError(
                    f"{name}.{band}", f"must be a text of 1-{MAX_THANKS_LENGTH} characters"
                )
            problem = values.text_problem(text)
            if problem is not None:
                raise OptionError(f"{name}.{band}", problem)
            checked[band] = text.strip()
        if checked:
            out[code] = checked
    return out


def parse_options(document: Mapping[str, Any] | None) -> CollectOptions:
    """Options from a stored or submitted document; raises ``OptionError`` naming the field."""
    doc = dict(document or {})
    unknown = set(doc) - set(CollectOptions.__dataclass_fields__)
    if unknown:
        raise OptionError(sorted(unknown)[0], "unknown option")
    comment = doc.get("comment", True)
    track = doc.get("track_opens", False)
    if not isinstance(comment, bool):
        raise OptionError("comment", "must be true or false")
    if not isinstance(track, bool):
        raise OptionError("track_opens", "must be true or false")
    consent = doc.get("contact_consent", True)
    if not isinstance(consent, bool):
        raise OptionError("contact_consent", "must be true or false")
    link_days = doc.get("link_days", DEFAULT_LINK_DAYS)
    if isinstance(link_days, bool) or not isinstance(link_days, int) or not 1 <= link_days <= 365:
        raise OptionError("link_days", "must be a whole number of days from 1 to 365")
    i18n_doc = doc.get("reasons_i18n") or {}
    if not isinstance(i18n_doc, dict):
        raise OptionError("reasons_i18n", "must map a language to a list of reasons")
    for lang in i18n_doc:
        if not isinstance(lang, str) or not 0 < len(lang) <= 35 or values.text_problem(lang):
            raise OptionError("reasons_i18n", f"{lang!r} is not a language code")
    reasons_i18n = {
        str(lang): _reasons(f"reasons_i18n.{lang}", items) for lang, items in i18n_doc.items()
    }
    origins_doc = doc.get("allowed_origins") or []
    if not isinstance(origins_doc, list) or len(origins_doc) > MAX_ORIGINS:
        raise OptionError("allowed_origins", f"must be a list of at most {MAX_ORIGINS} origins")
    origins: list[str] = []
    for origin in origins_doc:
        try:
            origins.append(normalise_origin(str(origin)))
        except ValueError as error:
            raise OptionError("allowed_origins", str(error)) from None
    return CollectOptions(
        comment=comment,
        reasons=_reasons("reasons", doc.get("reasons")),
        reasons_i18n=reasons_i18n,
        review_url=_url("review_url", doc.get("review_url")),
        referral_url=_url("referral_url", doc.get("referral_url")),
        allowed_origins=tuple(dict.fromkeys(origins)),
        link_days=link_days,
        track_opens=track,
        thanks=_thanks(doc.get("thanks")),
        contact_consent=consent,
    )
