"""The one Jinja environment: web pages, emails and reports, with shared filters."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import jinja2
import pytest
from sqlalchemy.orm import Session

from cxpulse import templating

EVIL = '<script>alert("x")</script> & co'


def test_one_environment_finds_pages_emails_and_reports() -> None:
    env = templating.environment()
    assert templating.environment() is env
    found = set(env.list_templates())
    assert {
        "app/survey.html",  # web
        "survey/page.html",  # web
        "survey/unsubscribe.html",  # web
        "email/invitation.html",  # collect
        "email/invitation.txt",  # collect
        "report/monthly.html",  # report
        "report/monthly.css",  # report
    } <= found
    stages = [path.parent.name for path in templating.template_dirs()]
    assert stages == ["web", "collect", "report"]


def test_no_template_name_is_in_two_stages() -> None:
    # The loader takes the first folder that has a name: a second one would never be seen.
    names: Counter[str] = Counter()
    for folder in templating.template_dirs():
        names.update(
            path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
        )
    assert [name for name, count in names.items() if count > 1] == []


def test_the_stages_render_with_it() -> None:
    from fastapi.templating import Jinja2Templates

    from cxpulse.web.routes import dashboard

    assert isinstance(dashboard.TEMPLATES, Jinja2Templates)
    assert dashboard.TEMPLATES.env is templating.environment()


def test_no_other_module_makes_an_environment_of_its_own() -> None:
    package = Path(templating.__file__).resolve().parent
    makers = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "Environment(" in path.read_text(encoding="utf-8") and path.name != "templating.py"
    )
    assert makers == []


def _loaded(name: str) -> bool:
    """Whether the one environment has compiled ``name`` (its cache keys: loader, name)."""
    cache = templating.environment().cache
    assert cache is not None
    return any(key[1] == name for key in cache)


def test_an_email_and_the_report_render_through_it(session: Session) -> None:
    from cxpulse.collect.links import LinkSigner
    from cxpulse.collect.mailer import compose
    from cxpulse.collect.smtp import SmtpSettings
    from cxpulse.report import monthly
    from cxpulse.store import accounts, surveys
    from cxpulse.store.models import Contact, Invitation

    cache = templating.environment().cache
    assert cache is not None
    cache.clear()  # forget compiled templates (the environment stays the one of the process)
    org = accounts.create_organisation(session, slug="acme", name=EVIL)
    survey = surveys.create_survey(session, org.id, slug="s", name=EVIL, metric="csat")
    invitation = Invitation(id=3, organisation_id=org.id, survey_id=survey.id, contact_id=1)
    contact = Contact(id=1, organisation_id=org.id, email="a@b.example", name=EVIL)
    composed = compose(
        invitation, contact, survey, EVIL, links=LinkSigner("k"), settings=SmtpSettings()
    )
    assert _loaded("email/invitation.html")
    assert _loaded("email/invitation.txt")
    assert b"&lt;script&gt;" in composed.data  # the HTML part, quoted-printable
    html = monthly.render_html(session, org.id, survey.id, "2026-10")
    assert _loaded("report/monthly.html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_html_escapes_user_text_and_plain_text_does_not() -> None:
    env = templating.environment()
    html = env.from_string("{{ x }}")  # a string template counts as HTML
    assert html.render(x=EVIL) == "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co"
    page = env.get_template("survey/message.html").render(
        title=EVIL, message=EVIL, lang="en", _=str, ngettext=str
    )
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    rendered = env.get_template("email/invitation.txt").render(
        _=lambda s: s,
        name=EVIL,
        reminder=False,
        question="How was it?",
        scale=[],
        low_label="low",
        high_label="high",
        organisation=EVIL,
        unsubscribe_url="https://x.example/u/t",
    )
    assert EVIL in rendered  # a plain-text email shows what was written, unescaped


def test_undefined_names_are_errors() -> None:
    with pytest.raises(jinja2.UndefinedError):
        templating.environment().from_string("{{ missing }}").render()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 28.5714|number }}", "28.6"),
        ("{{ 28.5714|number(0) }}", "29"),
        ("{{ none|number }}", "–"),
        ("{{ nan|number }}", "–"),
        ("{{ inf|number }}", "–"),
        ("{{ 2.5|signed }}", "+2.5"),
        ("{{ -2.5|signed(0) }}", "-2"),
        ("{{ nan|signed }}", "–"),
        ("{{ 40|percent }}", "40.0%"),
        ("{{ none|percent }}", "–"),
    ],
)
def test_shared_filters(template: str, expected: str) -> None:
    env = templating.environment()
    rendered = env.from_string(template).render(nan=float("nan"), inf=float("inf"))
    assert rendered == expected


def test_translations_per_render() -> None:
    env = templating.environment()
    template = env.from_string("{{ _('Thank you') }}")
    assert template.render(templating.translations("pages", "en")) == "Thank you"
    swedish = template.render(templating.translations("pages", "sv"))
    assert swedish not in ("", "Thank you")
    # The environment itself holds no language: the English render is unchanged after.
    assert template.render(templating.translations("pages", "en")) == "Thank you"


def test_the_bottom_layer_imports_no_stage() -> None:
    code = (
        "import sys\n"
        "from cxpulse import templating\n"
        "templating.environment().get_template('report/monthly.html')\n"
        "templating.environment().get_template('email/invitation.html')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('cxpulse.'))\n"
        "print(' '.join(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(out) <= {"cxpulse.templating", "cxpulse.i18n"}, out
