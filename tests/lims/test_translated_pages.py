"""Every page of the access matrix, rendered in Russian and in Kazakh for a user who may see
it, shows no English text of the catalogue: a string left unmarked, or marked but rendered
outside the translator, shows up here as its English words on a Russian or Kazakh page.

The check: the visible text of the page (tags, scripts and styles removed; placeholders,
titles and ARIA labels kept) must not contain, as whole words, any segment of four letters or
more of an English message whose translation differs from it (a message translated as itself,
such as a code or a unit, proves nothing). Fixture data is Cyrillic, so English on the page
comes from the application. It runs on the catalogues as they are (compiled to a temporary
directory), and is skipped only while ``lims/translations`` has no catalogues yet.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Role
from lims.extensions import babel
from lims.monitoring.models import District, PopulationGroup, Region, SampleKindRef
from lims.samples.models import Sample
from tests.lims.i18n_support import (
    LANGUAGES,
    PLACEHOLDER,
    catalogues_present,
    compile_catalogues,
    load_catalogue,
)
from tests.lims.test_access_matrix import ROUTES, add_user, build_url, url_objects  # noqa: F401

pytestmark = pytest.mark.skipif(
    not catalogues_present(),
    reason="lims/translations/{ru,kk}/LC_MESSAGES/messages.po do not exist yet (the catalogues "
           "are assembled from the helpers' fragments after merging)",
)

# English that may stay on a translated page: codes, units, names of standards and products.
ALLOWED = {"IodineLIMS", "ASTM", "LIMS", "Bio-Rad", "Metrohm", "MT-SICS", "SHA-256", "XLSX",
           "WHO2007", "Westgard", "Levey-Jennings", "DEFF", "ICP-MS"}
# Not pages for people: machine endpoints, files, the health probe.
NOT_PAGES = re.compile(r"^(api\.|core\.health$|static$)")
SEGMENT_SPLIT = re.compile(PLACEHOLDER.pattern + r"|<[^>]+>|&\w+;|[\n\t]")
LETTERS = re.compile(r"[A-Za-z]")
# Scripts, styles, and what the page itself marks as not for translation (codes, typed data).
HIDDEN = re.compile(r"<(script|style)\b.*?</\1>|<(\w+)\b[^>]*\btranslate=\"no\"[^>]*>.*?</\2>",
                    re.DOTALL | re.IGNORECASE)
VISIBLE_ATTRIBUTE = re.compile(r"""\b(?:placeholder|title|aria-label)="([^"]*)\"""")
TAG = re.compile(r"<[^>]+>")


def english_segments(lang: str) -> list[re.Pattern[str]]:
    """The English segments a page in ``lang`` must not show."""
    segments: set[str] = set()
    for message in load_catalogue(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not any(strings) or set(ids) <= set(strings):
            continue  # untranslated (test_catalogues reports it) or translated as itself
        for text in ids:
            for part in SEGMENT_SPLIT.split(text):
                part = part.strip(" .,:;!?()[]«»\"'—–-·/") if part else ""
                if len(LETTERS.findall(part)) >= 4 and part not in ALLOWED:
                    segments.add(" ".join(part.split()))
    return [re.compile(r"(?<![\w-])" + re.escape(s).replace(r"\ ", r"\s+") + r"(?![\w-])")
            for s in sorted(segments)]


def visible_text(page: str) -> str:
    page = HIDDEN.sub(" ", page)
    attributes = " ".join(VISIBLE_ATTRIBUTE.findall(page))
    return html.unescape(" ".join(TAG.sub(" ", page).split()) + " " + attributes)


@pytest.fixture(scope="module")
def translations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_catalogues(tmp_path_factory.mktemp("translations"))


@pytest.fixture()
def translated_app(app: Flask, translations: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The test app, reading the catalogues compiled just now. Flask-Babel keeps loaded
    catalogues per process, so its cache is emptied before and after."""
    monkeypatch.setattr(app.extensions["babel"], "translation_directories", [str(translations)])
    with app.app_context():
        domain = babel.domain_instance
    domain.cache.clear()
    yield app
    domain.cache.clear()


@pytest.fixture()
def cyrillic_objects(session: Session, url_objects: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The access matrix's objects, their free text in Russian (English on a page then comes
    from the application, not from the fixtures)."""
    sample = session.get(Sample, url_objects["sample_id"])
    assert sample is not None
    sample.cluster.name = "Школа № 12"
    sample.cluster.round.name = "Раунд 2026"
    sample.cluster.round.programme.name = "Национальное обследование"
    for user in session.scalars(sa.select(User)):
        user.full_name = "Айгуль Серикова"
    # Reference pages show each row's English name beside the others, on purpose: data, not UI.
    for model in (Region, District, PopulationGroup, SampleKindRef):
        session.execute(sa.update(model).values(name_en=model.name_ru))
    session.flush()
    return url_objects


PAGES = [r for r in ROUTES if r.method == "GET" and not NOT_PAGES.match(r.endpoint)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_show_no_english(translated_app: Flask, client: FlaskClient, session: Session,
                               login: Callable[[User], FlaskClient],
                               cyrillic_objects: dict[str, Any], lang: str) -> None:
    user = add_user(session, tuple(Role))
    user.full_name = "Айгуль Серикова"
    login(user)
    client.post("/language", data={"language": lang, "next": "/"})
    segments = english_segments(lang)
    found: dict[str, list[str]] = {}
    checked = 0
    for route in PAGES:
        response = client.get(build_url(translated_app, route, cyrillic_objects))
        if response.mimetype != "text/html":
            continue
        checked += 1
        text = visible_text(response.get_data(as_text=True))
        leaks = sorted({f"{m.group(0)!r} in …{text[max(m.start() - 40, 0):m.end() + 40]}…"
                        for pattern in segments for m in [pattern.search(text)] if m})
        if leaks:
            found[str(route)] = leaks
    assert checked > 30
    assert not found, f"English on {lang} pages:\n" + "\n".join(
        f"{route}: {leaks}" for route, leaks in sorted(found.items()))


def test_login_page_follows_the_language(translated_app: Flask, client: FlaskClient) -> None:
    english = visible_text(client.get("/login").get_data(as_text=True))
    refresh()  # the test's app context outlives a request; a real request chooses afresh
    russian = visible_text(client.get("/login", headers={"Accept-Language": "ru"}).get_data(as_text=True))
    assert english != russian
    assert not any(p.search(russian) for p in english_segments("ru")), russian

