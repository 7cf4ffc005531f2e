"""Strings are marked for translation and the language switch works."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from flask_babel import refresh
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from lims.audit.service import events_for
from lims.auth.services import set_user_language
from lims.config import DEFAULTS
from lims.core.errors import ValidationError
from lims.core.errors_views import HTTP_MESSAGES, HTTP_TITLES, http_error_page
from lims.core.templating import DEFAULT_LAB_NAME, lab_name
from tests.conftest import FIXED_NOW

ROOT = Path(__file__).resolve().parents[2]


def test_messages_extract_from_python_and_templates():
    method_map = [("lims/**.py", "python"), ("lims/**/templates/**.html", "jinja2"),
                  ("lims/templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    messages = {msg for _, _, msg, _, _ in extract_from_dir(str(ROOT), method_map, keywords=keywords)}
    for expected in ("Log in", "Samples", "Please log in to see this page.", "Received"):
        assert expected in messages


def test_language_switch_keeps_choice(client, make_user, login):
    login(make_user())
    response = client.post("/language", data={"language": "ru", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ru">' in page


def test_unknown_language_is_refused(client):
    assert client.post("/language", data={"language": "xx"}).status_code == 400


def test_language_choice_is_stored_on_the_user_and_audited(client, session, make_user, login):
    user = make_user()
    login(user)
    client.post("/language", data={"language": "kk", "next": "/"})
    session.refresh(user)
    assert user.language == "kk"
    events = [e for e in events_for(session, "user", user.id) if e.action == "language_changed"]
    assert len(events) == 1 and events[0].changes == {"language": {"before": None, "after": "kk"}}
    client.post("/language", data={"language": "kk", "next": "/"})  # no change, no event
    assert len([e for e in events_for(session, "user", user.id)
                if e.action == "language_changed"]) == 1


def test_stored_language_wins_over_the_browser(client, session, make_user, login):
    user = make_user()
    user.language = "kk"
    session.flush()
    login(user)
    refresh()
    page = client.get("/", headers={"Accept-Language": "ru,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="kk">' in page


def test_accept_language_decides_before_login(client):
    page = client.get("/login", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})
    assert '<html lang="kk">' in page.get_data(as_text=True)
    refresh()
    page = client.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.8"})
    assert '<html lang="en">' in page.get_data(as_text=True)  # the tests' default locale


def test_the_lab_default_is_russian():
    assert DEFAULTS["BABEL_DEFAULT_LOCALE"] == "ru"
    assert DEFAULTS["LANGUAGES"][:2] == ["ru", "kk"]


def test_a_language_the_database_refuses_never_reaches_it(session, make_user):
    user = make_user()
    with pytest.raises(ValidationError):
        set_user_language(session, actor=user, now=FIXED_NOW, language="de")
    user.language = "de"
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(("lang", "required"), [("ru", "Обязательное поле."),
                                                ("kk", "Бұл өріс міндетті түрде керек.")])
def test_wtforms_messages_follow_the_language(client, lang, required):
    client.post("/language", data={"language": lang, "next": "/login"})
    page = client.post("/login", data={"username": "", "password": ""}).get_data(as_text=True)
    assert required in page


def test_error_pages_are_translated_and_api_problems_stay_english(app, client, make_user, login):
    login(make_user())
    client.post("/language", data={"language": "ru", "next": "/"})
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert http_error_page(NotFound()) == (str(HTTP_TITLES[404]), str(HTTP_MESSAGES[404]))
        custom = NotFound("Нет такой пробы.")
        assert http_error_page(custom)[1] == "Нет такой пробы."
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "404" in response.get_data(as_text=True)
    problem = client.get("/api/v1/no-such-endpoint")
    assert problem.status_code == 404 and problem.get_json()["title"] == "Not Found"


def test_the_login_page_after_logout_keeps_the_persons_language(client, session, make_user, login):
    user = make_user()
    user.language = "kk"
    session.flush()
    login(user)
    client.post("/logout")
    refresh()
    assert '<html lang="kk">' in client.get("/login").get_data(as_text=True)


def test_the_lab_name_follows_the_language(app):
    with app.test_request_context():
        assert lab_name(app.config) == DEFAULTS["LAB_NAME"] == str(DEFAULT_LAB_NAME)
        assert lab_name({"LAB_NAME": "Лаборатория № 1"}) == "Лаборатория № 1"
        assert lab_name({"LAB_NAME": "Lab 1", "LAB_NAME_EN": "Iodine lab"}) == "Iodine lab"
