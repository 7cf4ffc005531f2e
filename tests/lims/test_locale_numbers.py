"""Numbers in the reader's locale: ``4,5`` typed or shown in Russian and Kazakh."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField

from lims.core.forms import LimsForm
from lims.core.templating import fmt_number


class _Form(LimsForm):
    class Meta:
        csrf = False

    volume = DecimalField()
    mass = FloatField()


@pytest.mark.parametrize(("typed", "expected"), [
    ("4,5", Decimal("4.5")), ("4.5", Decimal("4.5")), (" 1 234,5\r\n", Decimal("1234.5")),
])
def test_decimal_inputs_accept_either_separator(app, typed, expected):
    with app.test_request_context():
        form = _Form(formdata=MultiDict({"volume": typed, "mass": typed}))
        assert form.validate(), form.errors
        assert form.volume.data == expected
        assert form.mass.data == pytest.approx(float(expected))


@pytest.mark.parametrize("typed", ["4,5,6", "4,5.6", "abc"])
def test_ambiguous_numbers_are_refused(app, typed):
    with app.test_request_context():
        form = _Form(formdata=MultiDict({"volume": typed, "mass": "1"}))
        assert not form.validate()
        assert form.volume.errors


def test_strip_filter_is_added_once_however_often_a_form_is_built(app):
    with app.test_request_context():
        for _ in range(3):
            _Form(formdata=MultiDict({"volume": "1", "mass": "1"}))
        form = _Form(formdata=MultiDict({"volume": "1", "mass": "1"}))
        assert len(form.volume.filters) == 1


@pytest.mark.parametrize(("lang", "text"), [("ru", "1\u00a0234,50"), ("kk", "1\u00a0234,50"),
                                            ("en", "1,234.50")])
def test_numbers_are_shown_in_the_locale(app, lang, text):
    with app.test_request_context(), force_locale(lang):
        assert fmt_number(1234.5, 2) == text
        assert fmt_number(None) == "—"
