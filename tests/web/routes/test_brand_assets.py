"""The branding's public files and where they show: the logo with its type, nosniff and a
long cache for its current version; brand.css with the accent colour; the survey layout's
logo and style sheet; the widget's accent colour."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.store.logo_samples import png, webp_lossless

from cxpulse import templating
from cxpulse.store import organisation_settings
from cxpulse.store.organisation_settings import Brand, SettingsChange

from ..helpers import World

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def _brand(db: sessionmaker[Session], organisation_id: int, **fields: object) -> None:
    with db.begin() as session:
        organisation_settings.apply_change(session, organisation_id, SettingsChange(**fields))  # type: ignore[arg-type]


def test_the_logo_is_served_with_its_own_type_and_cached_by_version(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    assert client.get("/brand/org-a/logo").status_code == 404
    assert client.get("/brand/nobody/logo").status_code == 404
    logo = webp_lossless(100, 50)
    _brand(db, world.a.id, logo=logo)
    version = organisation_settings.logo_version(logo)
    current = client.get(f"/brand/org-a/logo?v={version}")
    assert current.status_code == 200
    assert current.content == logo
    assert current.headers["content-type"] == "image/webp"
    assert current.headers["x-content-type-options"] == "nosniff"
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert current.headers["cross-origin-resource-policy"] == "cross-origin"
    plain = client.get("/brand/org-a/logo")
    assert plain.headers["cache-control"] == "public, max-age=3600"
    again = client.get("/brand/org-a/logo", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/brand/org-b/logo").status_code == 404  # another organisation's


def test_brand_css_sets_the_accent_colour(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    plain = client.get("/brand/org-a/brand.css")
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/css")
    assert "--accent" not in plain.text
    _brand(db, world.a.id, accent_colour="#aa0000")
    styled = client.get("/brand/org-a/brand.css").text
    assert ":root { --accent: #aa0000; }" in styled
    assert "background: #880000" in styled  # the hover shade
    assert client.get("/brand/nobody/brand.css").status_code == 404


def test_the_survey_layout_links_the_brand_and_shows_the_logo() -> None:
    page = templating.environment().get_template("survey/message.html")
    plain = page.render(lang="en", title="t", message="m", _=str)
    assert "/brand/" not in plain
    branded = page.render(
        lang="en", title="t", message="m", _=str, brand=Brand("acme", "Acme <&>", None, True)
    )
    assert '<link rel="stylesheet" href="/brand/acme/brand.css">' in branded
    assert '<img src="/brand/acme/logo" alt="Acme &lt;&amp;&gt;">' in branded
    no_logo = page.render(
        lang="en", title="t", message="m", _=str, brand=Brand("acme", "Acme", "#123456", False)
    )
    assert "brand.css" in no_logo
    assert "<img" not in no_logo


def test_the_widget_gets_the_accent_colour(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    url = "/w/org-a/support-csat"
    assert "accent" not in client.get(url).json()
    _brand(db, world.a.id, accent_colour="#0055aa", logo=png(5, 5))
    config = client.get(url).json()
    assert (config["accent"], config["accent_dark"]) == ("#0055aa", "#004488")
