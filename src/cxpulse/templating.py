"""The one Jinja environment of cxpulse: web pages, emails and reports render with it.

Each stage keeps the templates it renders in its own ``templates`` folder, named with a
folder of their own so that names never collide (``app/survey.html`` and
``survey/page.html`` in ``web``, ``email/invitation.html`` in ``collect``,
``report/monthly.html`` in ``report``). The loader searches those folders by path: this
module is at the bottom of the stage order, so it names the stages' folders but imports
none of them (``jinja2.PackageLoader`` would import each package).

HTML templates are autoescaped, plain-text ones (``.txt``, ``.css``) are not; an undefined
name is an error, never an empty string. Translations stay per render: ``translations``
gives the ``_`` and ``ngettext`` of one gettext domain and language (``cxpulse.i18n``), and
the caller passes them in the template's context, so one environment serves every language
at once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from cxpulse import i18n

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_STAGES = ("web", "collect", "report")
"""The stages whose ``templates`` folder the environment searches, in this order."""


def template_dirs() -> list[Path]:
    """The ``templates`` folders of ``TEMPLATE_STAGES`` that exist."""
    found = (PACKAGE_DIR / stage / "templates" for stage in TEMPLATE_STAGES)
    return [path for path in found if path.is_dir()]


# Filters shared by every template (before: the dashboard's and the report's own).


def number(value: float | None, digits: int = 1) -> str:
    """``28.571`` -> ``28.6``; a dash for no value (None, NaN or infinite)."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 1) -> str:
    """``2.5`` -> ``+2.5``: a change, always with its sign; a dash for no value."""
    if value is None or math.isnan(value):
        return "–"
    return f"{value:+.{digits}f}"


def percent(value: float | None) -> str:
    """``40`` -> ``40.0%`` (the value is a percentage already); a dash for no value."""
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}%"


FILTERS: dict[str, Callable[..., str]] = {"number": number, "signed": signed, "percent": percent}


@functools.cache
def environment() -> jinja2.Environment:
    """The environment, made once per process (it caches compiled templates)."""
    made = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dirs()),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml", "svg"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    made.filters.update(FILTERS)
    return made


def translations(domain: str, language: str) -> dict[str, Any]:
    """``_`` and ``ngettext`` of a gettext domain in a language, for a template's context."""
    gettext, ngettext = i18n.gettext_for(domain, language)
    return {"_": gettext, "ngettext": ngettext}


def render(name: str, context: dict[str, Any]) -> str:
    """The template ``name`` rendered with ``context``."""
    return environment().get_template(name).render(context)
