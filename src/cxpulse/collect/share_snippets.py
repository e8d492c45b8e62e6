"""What a person copies to collect answers outside cxpulse's own emails: the public link, the
widget's script tag, and an email snippet with one link per score of the survey's scale,
either for their own mail tool (links to the public page) or for a helpdesk's "ticket solved"
template (links to the unsigned door ``/t/...`` with the helpdesk's placeholders for the
ticket, the agent and the customer, which ``collect.unsigned_answers`` stores).

The snippet's HTML is the template ``share/score_email.html`` of ``collect/templates``. Mail
programs need its styles inline (``style`` attributes); a signed-in page may not show style
attributes (its Content-Security-Policy), so its preview is the same markup with classes
instead (``inline=False``), which ``web/static/share.css`` styles alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cxpulse import i18n, templating
from cxpulse.collect.mailer import ScaleLink
from cxpulse.collect.questions import (
    EMOJI_FACES,
    THUMB_FACES,
    effective_presentation,
    end_labels,
    question_for,
)
from cxpulse.store.models import Survey

DOMAIN = "emails"
"""The snippet is an email: it is worded from the emails' catalogue."""
TEMPLATE = "share/score_email.html"


@dataclass(frozen=True)
class Helpdesk:
    """A helpdesk's placeholders for the ticket, its agent and its customer."""

    key: str
    name: str
    ticket: str
    agent: str
    customer: str

    def query(self) -> str:
        """The placeholders as a query, written as they are (the helpdesk fills them in)."""
        return f"ticket={self.ticket}&agent={self.agent}&customer={self.customer}"


HELPDESKS = (
    Helpdesk(
        "zendesk",
        "Zendesk",
        "{{ticket.id}}",
        "{{ticket.assignee.name}}",
        "{{ticket.requester.email}}",
    ),
    Helpdesk("generic", "Any other helpdesk", "{ticket}", "{agent}", "{customer}"),
)

STYLES = {
    "box": "font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;font-size:16px;line-height:1.5;",
    "question": "margin:0 0 12px;font-size:18px;font-weight:bold;line-height:1.3;",
    "scale": "margin:0;line-height:3;",
    "button": "display:inline-block;min-width:32px;margin:0 2px 4px 0;padding:8px 6px;"
    "line-height:1.2;text-align:center;border:2px solid #1f4e8c;border-radius:6px;"
    "color:#1f4e8c;text-decoration:none;font-weight:bold;",
    "ends": "margin:8px 0 0;font-size:14px;color:#4a4a4a;",
}
"""The looks of the invitation email's scale (``email/invitation.html``), so that answers
asked for here look like those cxpulse sends."""


def public_link(base_url: str, organisation_slug: str, survey_slug: str) -> str:
    return f"{base_url.rstrip('/')}/s/{organisation_slug}/{survey_slug}"


def unsigned_link(base_url: str, organisation_slug: str, survey_slug: str) -> str:
    return f"{base_url.rstrip('/')}/t/{organisation_slug}/{survey_slug}"


def widget_snippet(base_url: str, organisation_slug: str, survey_slug: str) -> str:
    """The script tag of docs/widget.md for this survey."""
    return (
        f'<script src="{base_url.rstrip("/")}/widget.js"\n'
        f'        data-survey="{organisation_slug}/{survey_slug}"\n'
        "        async></script>"
    )


def _face(value: int, presentation: str) -> str:
    """What a score's link shows: as on the answer page and in invitation emails."""
    if presentation == "stars":
        return "\u2605" * value
    if presentation == "emoji":
        return EMOJI_FACES[value - 1]
    if presentation == "thumbs":
        return THUMB_FACES[value]
    return str(value)


def score_links(survey: Survey, link: str, query: str = "") -> list[ScaleLink]:
    """One link per score of the survey's scale, low to high, to ``link?score=N&query``."""
    shown = effective_presentation(survey.presentation, survey.scale)
    extra = f"&{query}" if query else ""
    return [
        ScaleLink(value, _face(value, shown), f"{link}?score={value}{extra}")
        for value in survey.scale.values
    ]


def email_snippet(
    survey: Survey, organisation_name: str, links: list[ScaleLink], *, inline: bool = True
) -> str:
    """The question and its links as HTML to paste into an email (``inline``), or the same
    with classes for a page's preview."""
    gettext, _ = i18n.gettext_for(DOMAIN, survey.default_language)
    low_label, high_label = end_labels(survey.metric_spec(), gettext)
    question = question_for(
        survey.questions or {},
        survey.metric,
        survey.default_language,
        organisation_name,
        source_language=survey.default_language,
    )
    return (
        templating.environment()
        .get_template(TEMPLATE)
        .render(
            inline=inline,
            styles=STYLES,
            lang=survey.default_language,
            question=question,
            links=links,
            low_label=low_label,
            high_label=high_label,
        )
        .strip()
    )


def helpdesk_links(
    survey: Survey, base_url: str, organisation_slug: str, helpdesk: Helpdesk
) -> list[ScaleLink]:
    """The links of a helpdesk's template: to the unsigned door, with its placeholders."""
    door = unsigned_link(base_url, organisation_slug, survey.slug)
    return score_links(survey, door, helpdesk.query())


def snippets(
    survey: Survey, organisation_name: str, organisation_slug: str, base_url: str
) -> Mapping[str, tuple[str, str]]:
    """Each email snippet by name (``email``, then each helpdesk's key): its HTML to paste
    and its preview."""
    made: dict[str, tuple[str, str]] = {}
    kinds: list[tuple[str, list[ScaleLink]]] = [
        ("email", score_links(survey, public_link(base_url, organisation_slug, survey.slug)))
    ]
    kinds += [
        (helpdesk.key, helpdesk_links(survey, base_url, organisation_slug, helpdesk))
        for helpdesk in HELPDESKS
    ]
    for key, links in kinds:
        made[key] = (
            email_snippet(survey, organisation_name, links, inline=True),
            email_snippet(survey, organisation_name, links, inline=False),
        )
    return made
