"""What the analysis pages show for stored values and numbers, and how a run's QC messages are
told apart: by the stored violations, never by the (translated) words of a message."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Flask
from flask_babel import force_locale

from lims.analysis.labels import analysis_label, decimal, short_number
from lims.analysis.methods import CalibrationModel
from lims.analysis.models import ResultStatus, RunStatus
from lims.analysis.runs import acceptance_problems


def test_stored_values_get_labels_and_unknown_ones_are_shown_as_stored() -> None:
    assert analysis_label(RunStatus.CALCULATED) == "Calculated"
    assert analysis_label(ResultStatus.VERIFIED) == "Verified"
    assert analysis_label(CalibrationModel.LN_LINEAR) == "ln(A) linear"
    assert analysis_label("Urine pool low") == "Urine pool low"
    assert analysis_label("A pool the lab named") == "A pool the lab named"
    assert analysis_label(None) == ""


def test_numbers_follow_the_readers_language(app: Flask) -> None:
    with app.test_request_context():
        shown = (short_number(20.0), short_number(2.5), short_number(0.995))
        assert shown == ("20", "2.5", "0.995")
        assert decimal(16.834, "+.2f") == "+16.83"
        with force_locale("ru"):
            assert (short_number(2.5), decimal(5.5, ".2f")) == ("2,5", "5,50")
        assert short_number(None) == "—"


def test_a_qc_warning_never_blocks_acceptance_whatever_its_words() -> None:
    qc = {"accepted": True, "messages": ["1-2s (предупреждение): …", "1-3s (отбраковка): …"],
          "violations": [{"message": "1-2s (предупреждение): …", "reject": False},
                         {"message": "1-3s (отбраковка): …", "reject": True}]}
    run = SimpleNamespace(curve_accepted=True, problems=[], qc=qc, qc_accepted=False)
    assert acceptance_problems(run) == ["QC: 1-3s (отбраковка): …"]  # type: ignore[arg-type]
