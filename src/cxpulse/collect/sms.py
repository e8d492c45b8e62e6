"""SMS through a provider's HTTP API, in the shape of Twilio's Messages API, and the rules
of the channel: numbers in E.164, opt-out keywords in our eight languages, the texts sent,
the provider's request signature and its reply format (TwiML).

``SmsClient.send`` posts ``To``, ``From`` and ``Body`` as a form to
``{base_url}/2010-04-01/Accounts/{account}/Messages.json`` with basic auth
``account:token``; the base URL is configurable, so any provider (or a test receiver) that
speaks this shape will do. ``SmsSettings`` holds what it needs; nothing here reads the
environment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

import phonenumbers
from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.config import Settings
from cxpulse.signing import Signer, TokenProblem
from cxpulse.store import sms_opt_outs
from cxpulse.store.errors import Invalid

DEFAULT_BASE_URL = "https://api.twilio.com"
MAX_SMS_LENGTH = 1600
"""Twilio's limit on one message's body (it is split into segments on the way)."""
UNSUBSCRIBED_CODE = 21610
"""Twilio's error for a number that replied STOP to the sending number."""

OPT_OUT_KEYWORDS: frozenset[str] = frozenset(
    {
        # en
        "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
        # sv
        "stopp", "avsluta", "avregistrera",
        # nl
        "uit", "afmelden", "stoppen",
        # mk (Cyrillic and its usual Latin spelling)
        "стоп", "откажи", "otkazi",
        # de
        "abmelden", "beenden", "abbestellen",
        # fr
        "arret", "desabonner", "desinscrire",
        # es
        "baja", "parar", "alto", "cancelar",
        # pt
        "sair", "remover",
    }
)  # fmt: skip
"""The first word of a reply that stops all SMS to its number (compared without case or
accents, so ARRÊT and arret are one)."""

_OPT_OUT_HINT = {
    "en": "Reply STOP to opt out.",
    "sv": "Svara STOPP för att avregistrera dig.",
    "nl": "Antwoord STOP om af te melden.",
    "mk": "Одговорете СТОП за да се одјавите.",
    "de": "Antworten Sie STOPP zum Abmelden.",
    "fr": "Répondez STOP pour vous désabonner.",
    "es": "Responda BAJA para darse de baja.",
    "pt": "Responda PARAR para cancelar.",
}
_OPTED_OUT_REPLY = {
    "en": "You will receive no more messages from us.",
    "sv": "Du får inga fler meddelanden från oss.",
    "nl": "U ontvangt geen berichten meer van ons.",
    "mk": "Нема повеќе да добивате пораки од нас.",
    "de": "Sie erhalten keine Nachrichten mehr von uns.",
    "fr": "Vous ne recevrez plus de messages de notre part.",
    "es": "No recibirá más mensajes nuestros.",
    "pt": "Não receberá mais mensagens nossas.",
}
_KEYWORD_LANGUAGE = {
    "stopp": "sv",
    "avsluta": "sv",
    "avregistrera": "sv",
    "uit": "nl",
    "afmelden": "nl",
    "stoppen": "nl",
    "стоп": "mk",
    "откажи": "mk",
    "otkazi": "mk",
    "abmelden": "de",
    "beenden": "de",
    "abbestellen": "de",
    "arret": "fr",
    "desabonner": "fr",
    "desinscrire": "fr",
    "baja": "es",
    "alto": "es",
    "parar": "pt",
    "sair": "pt",
    "remover": "pt",
    "cancelar": "es",
}
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class SmsSettings:
    """Where and as whom SMS are sent: ``CXPULSE_SMS_BASE_URL``, ``CXPULSE_SMS_ACCOUNT``,
    ``CXPULSE_SMS_TOKEN``, ``CXPULSE_SMS_FROM`` (empty account: SMS off)."""

    base_url: str = DEFAULT_BASE_URL
    account: str = ""
    token: str = ""
    sender: str = ""
    """The number (E.164) or sender id the messages come from."""
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.account and self.token and self.sender)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsSettings:
        """The SMS settings of ``settings`` (``CXPULSE_SMS_*``); off where they are absent."""
        return cls(
            base_url=settings.sms_base_url or DEFAULT_BASE_URL,
            account=settings.sms_account or "",
            token=settings.sms_token or "",
            sender=settings.sms_from or "",
        )

    def messages_url(self) -> str:
        account = urllib.parse.quote(self.account, safe="")
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{account}/Messages.json"


# -- numbers and keywords -----------------------------------------------------------------


def e164(field: str, value: object, *, index: int | None = None) -> str:
    """``value`` as an E.164 number (``+46701234567``); ``Invalid`` for anything that is not
    a valid number with its country code."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(field, "must be a phone number such as +46701234567", index=index)
    try:
        parsed = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise Invalid(
            field,
            "is not a phone number in international form: start with + and the country "
            "code, such as +46701234567",
            index=index,
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(field, "is not a valid phone number", index=index)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def opt_out_keyword(body: str) -> str | None:
    """The opt-out keyword a reply starts with (``STOP``, ``AVSLUTA``, ``UIT`` ...), in plain
    lower case; None for any other reply ("stop sending me the bill" stops nothing: only a
    reply that is the keyword, perhaps with punctuation, counts)."""
    words = _WORD.findall(body)
    if len(words) != 1:
        return None
    word = _plain(words[0])
    return word if word in OPT_OUT_KEYWORDS else None


OPT_IN_KEYWORDS: frozenset[str] = frozenset({"start", "unstop"})
"""A reply that undoes an opt-out (the words Twilio uses)."""
_OPTED_IN_REPLY = "You will receive our messages again. Reply STOP to opt out."


def take_reply(session: Session, organisation_id: int, sender: str, body: str) -> str | None:
    """Act on a reply from ``sender`` to the organisation's SMS: an opt-out keyword records
    the opt-out, START undoes it; the text to answer with, or None."""
    try:
        phone = e164("From", sender)
    except Invalid:
        return None
    keyword = opt_out_keyword(body)
    if keyword is not None:
        sms_opt_outs.add_opt_out(session, organisation_id, phone, keyword)
        return opted_out_reply(keyword)
    words = _WORD.findall(body)
    if len(words) == 1 and _plain(words[0]) in OPT_IN_KEYWORDS:
        sms_opt_outs.remove_opt_out(session, organisation_id, phone)
        return _OPTED_IN_REPLY
    return None


def keyword_language(keyword: str) -> str:
    return _KEYWORD_LANGUAGE.get(keyword, "en")


# -- texts ----------------------------------------------------------------------------------


def invitation_text(organisation: str, link: str, language: str) -> str:
    """The SMS of an invitation: who asks, the link, how to opt out."""
    chosen = i18n.normalise(language) or "en"
    gettext, _ = i18n.gettext_for("emails", chosen)
    asks = gettext("%(organisation)s would like your feedback") % {"organisation": organisation}
    return f"{asks}: {link}\n{_OPT_OUT_HINT.get(chosen, _OPT_OUT_HINT['en'])}"


def opted_out_reply(keyword: str) -> str:
    return _OPTED_OUT_REPLY[keyword_language(keyword)]


def twiml(message: str | None) -> str:
    """A TwiML answer to an incoming message: the reply, or nothing to send back."""
    if message is None:
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{escape(message, quote=False)}</Message></Response>"
    )


# -- the address replies come to ---------------------------------------------------------------

INCOMING_PURPOSE = "sms.incoming"
_NEVER = 253_402_300_799
"""9999-12-31: the address is configured once at the provider and must keep working; a new
secret key (with the old one among the previous keys for a while) is the way to change it."""


def incoming_token(signer: Signer, organisation_id: int) -> str:
    """The token in the organisation's address for replies (``/api/v1/sms/{token}/incoming``)."""
    return signer.dumps(INCOMING_PURPOSE, [organisation_id], expires_at=_NEVER)


def incoming_organisation(signer: Signer, token: str) -> int | None:
    """The organisation whose reply address holds ``token``; None for a damaged one."""
    try:
        claims = signer.loads(INCOMING_PURPOSE, token).claims
    except TokenProblem:
        return None
    match claims:
        case (int() as organisation_id,):
            return organisation_id
        case _:
            return None


# -- the provider's signature ------------------------------------------------------------------


def request_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """``X-Twilio-Signature``: base64 of HMAC-SHA1 (keyed by the auth token) of the full URL
    followed by each form parameter's name and value, sorted by name."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(
    token: str, url: str, params: Iterable[tuple[str, str]], signature: str
) -> bool:
    expected = request_signature(token, url, params)
    return bool(token) and hmac.compare_digest(expected.encode(), signature.strip().encode())


# -- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """The provider took the message: its id there."""

    sid: str


class SmsError(Exception):
    """The provider did not take the message. ``permanent``: trying again cannot help (a bad
    number, an opted-out one); ``opted_out``: the number opted out at the provider."""

    def __init__(self, message: str, *, permanent: bool, opted_out: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.opted_out = opted_out


class SmsClient:
    """Sends one message per call through the provider's Messages API."""

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def send(self, to: str, body: str) -> Sent:
        settings = self.settings
        if not settings.enabled:
            raise SmsError("SMS is not configured", permanent=False)
        form = urllib.parse.urlencode(
            {"To": to, "From": settings.sender, "Body": body[:MAX_SMS_LENGTH]}
        ).encode()
        credentials = base64.b64encode(f"{settings.account}:{settings.token}".encode()).decode()
        url = settings.messages_url()
        if not url.startswith(("https://", "http://")):
            raise SmsError(
                f"the SMS base URL {settings.base_url!r} is not http(s)", permanent=False
            )
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url,
            data=form,
            method="POST",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout) as answer:  # noqa: S310
                document = _json(answer.read())
        except urllib.error.HTTPError as error:
            raise _refusal(error.code, _json(error.read())) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SmsError(f"the SMS provider is unreachable: {reason}", permanent=False) from None
        return Sent(str(document.get("sid") or ""))


def _json(data: bytes) -> dict[str, object]:
    try:
        document = json.loads(data or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _refusal(status: int, document: dict[str, object]) -> SmsError:
    code = document.get("code")
    message = str(document.get("message") or f"HTTP {status}")
    text = f"the SMS provider refused the message ({status}"
    text += f", code {code}): {message}" if code is not None else f"): {message}"
    if code == UNSUBSCRIBED_CODE:
        return SmsError(text, permanent=True, opted_out=True)
    # A bad number stays bad; rate limits and outages pass, and wrong credentials can be
    # put right, so those are tried again.
    return SmsError(text, permanent=status in (400, 404, 410, 422))
