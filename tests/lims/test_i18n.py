"""Strings are marked for translation and the language switch works."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

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
