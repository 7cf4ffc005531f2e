"""A technician's morning in a real browser, in English, Kazakh and Russian: log in, switch
the language, register a urine sample, receive it, request a monitoring report.

Why a browser and not the test client: the language switch is a form submitted by script, the
receipt desk is driven by the keyboard, and what must be checked is what a person sees — the
page's ``<html lang>``, its headings and its buttons after the switch, with real sessions and
CSRF tokens.

The words expected on each screen are in `ENGLISH`, `KAZAKH` and `RUSSIAN`, so that they are
adjusted in one place when the catalogues' wording changes. A language's run is expected to fail
while its catalogue is absent (the catalogues are assembled from the translators' fragments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page


@dataclass(frozen=True)
class Screen:
    """What one screen shows in one language: its main heading and its submit button's text
    (regular expressions, matched case-insensitively; in JavaScript, so ``\\w`` is ASCII only:
    write ``\\S*`` for the rest of a Cyrillic word)."""

    heading: str
    button: str


@dataclass(frozen=True)
class Language:
    code: str
    register: Screen
    receive: Screen
    #: the receipt desk's button once a sample is on screen
    confirm: str
    #: the flash after the sample was accepted
    accepted: str
    reports: Screen
    #: the flash after a report was requested
    requested: str


ENGLISH = Language(
    code="en",
    register=Screen(r"^Register a urine sample$", r"^Register$"),
    receive=Screen(r"^Receive samples$", r"^Look up$"),
    confirm=r"^Confirm$",
    accepted=r"accepted",
    reports=Screen(r"^Monitoring reports$", r"^Request$"),
    requested=r"Report requested",
)

#: Kazakh as in the translators' fragments and the glossary (glossary-ru-kk.md): «Зәр сынамасын
#: тіркеу», «Сынамаларды қабылдау», «Іздеу», «Растау», «… сынамасы қабылданды», «Мониторинг
#: есептері», «Сұрау», «Есеп сұралды». Adjust here to the assembled catalogue's wording.
KAZAKH = Language(
    code="kk",
    register=Screen(r"сынама\S* тірке", r"тірке"),
    receive=Screen(r"сынама\S* қабылда", r"іздеу"),
    confirm=r"растау",
    accepted=r"сынамасы қабылданды",
    reports=Screen(r"мониторинг есеп", r"сұра"),
    requested=r"есеп сұралды",
)

#: Russian as in the fragments, in the lab's words (проба, приёмка): «Регистрация пробы мочи»,
#: «Приёмка проб», «Найти», «Подтвердить», «Проба … принята», «Отчёты мониторинга», «Запросить»,
#: «Отчёт запрошен».
RUSSIAN = Language(
    code="ru",
    register=Screen(r"проб\S* мочи", r"регистр"),
    receive=Screen(r"при[её]м\S* проб", r"найти"),
    confirm=r"подтвердить",
    accepted=r"принята",
    reports=Screen(r"отч[её]т\S* мониторинга", r"запросить"),
    requested=r"отч[её]т запрошен",
)

#: English words that must be gone from the navigation and the heading once another language is
#: chosen (whole words; user data never shows there).
ENGLISH_WORDS = ("Register", "Receive", "Samples", "Reports", "Inbox", "Log out")


def pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


def check_screen(page: Page, language: Language, screen: Screen) -> None:
    """The page is in the language asked for: its ``<html lang>``, its heading, its button —
    and, in another language than English, none of the English navigation words."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", language.code)
    expect(page.locator("main h1")).to_have_text(pattern(screen.heading))
    expect(page.locator("main form button[type=submit]").filter(has_text=pattern(screen.button))
           .first).to_be_visible()
    if language.code != "en":
        shown = "\n".join(page.locator(where).inner_text() for where in ("header nav", "main h1"))
        for word in ENGLISH_WORDS:
            assert not re.search(rf"\b{re.escape(word)}\b", shown), f"{word!r} is still English"


@pytest.mark.parametrize("language", [ENGLISH, KAZAKH, RUSSIAN], ids=lambda lang: lang.code)
def test_register_receive_and_request_a_report(live_server: LiveServer, page: Page,
                                                language: Language) -> None:
    from playwright.sync_api import expect

    # log in (the login page is English for a browser that asks for English)
    page.goto(f"{live_server.url}/login")
    page.fill("#username", live_server.username)
    page.fill("#password", live_server.password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header nav")).to_be_visible()

    # switch the language with the header's selector (a form submitted by script)
    with page.expect_navigation():
        page.select_option("header select[name=language]", language.code)
    expect(page.locator("html")).to_have_attribute("lang", language.code)

    # register a urine sample
    page.locator("header nav a[href$='/samples/register/urine']").click()
    check_screen(page, language, language.register)
    cluster = page.locator("#cluster-codes option").first.get_attribute("value")
    assert cluster, "the demo round's clusters are offered"
    page.fill("#cluster_code", cluster)
    page.fill("#participant_code", "BRW-0001")
    page.select_option("#population_group", value="SAC")
    page.fill("#age_months", "110")
    page.select_option("#sex", index=1)
    page.fill("#volume_ml", "4.5")  # a number input: the browser's own locale decides its comma
    page.select_option("#container", index=1)
    page.locator("main form.intake button[type=submit]").click()
    accession = page.locator("main .card code").first.inner_text().strip()
    assert re.fullmatch(r"U-\d{4}-\d{6}", accession), accession
    check_screen(page, language, language.register)

    # receive it at the desk: scan (type + Enter), then confirm with Enter in the empty field
    page.goto(f"{live_server.url}/samples/receive")
    check_screen(page, language, language.receive)
    page.fill("#accession", accession)
    page.press("#accession", "Enter")
    expect(page.locator(".receipt-sample h2")).to_contain_text(accession)
    confirm = page.locator("#receipt-form button[type=submit]")
    expect(confirm).to_have_text(pattern(language.confirm))
    page.press("#accession", "Enter")
    expect(page.locator(".flash.success")).to_contain_text(pattern(language.accepted))
    check_screen(page, language, language.receive)

    # request a monitoring report of the demo round
    page.goto(f"{live_server.url}/reports/")
    check_screen(page, language, language.reports)
    # the latest round with verified results is preselected: the defaults build
    page.locator("main form button[type=submit]").filter(has_text=pattern(language.reports.button)
                                                         ).click()
    expect(page.locator(".flash.success")).to_contain_text(pattern(language.requested))
    check_screen(page, language, language.reports)
