"""A participating laboratory's own pages under ``/eqa/lab/``: its enrolments, the sample codes it
received, the result and correction forms, its results and (once the round is reported) its
scores, and its documents.

Guarded by ``SUBMIT_EQA_RESULTS``; every lookup is scoped to the account's laboratory by
`lims.eqa.participation`, so another laboratory's enrolment or document answers 404, and no page
here ever loads another laboratory's name. Views are thin: the rules are the submission
service's.
"""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, Response, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, ValidationError
from lims.core.forms import LimsForm
from lims.core.permissions import Permission
from lims.eqa import participation, submissions
from lims.eqa.models import EqaEnrolment
from lims.eqa.participant_forms import CorrectionForm, ResultForm
from lims.extensions import db

bp = Blueprint("eqa_lab", __name__, url_prefix="/eqa/lab", template_folder="templates")

PageResult = str | Response | tuple[str, int]
#: The correction form shares the page with the result form: its fields get their own ids.
CORRECTION = "correction"


def attach_service_error(form: LimsForm, error: LimsError) -> None:
    """A service's refusal on the fields it names (several for a result: value, unit, …), or
    at the top of the form when it names none."""
    errors = error.errors if isinstance(error, ValidationError) else []
    named = [e for e in errors if isinstance(e.get("column"), str)
             and hasattr(form, str(e["column"]))]
    for item in named:
        field = getattr(form, str(item["column"]))
        field.errors = [*field.errors, str(item["message"])]
    if not named and not form.attach_error(error):
        form.form_errors.append(error.message)


def entry_from(form: ResultForm) -> submissions.ResultEntry:
    return submissions.ResultEntry(
        sample_code=form.sample_code.data or "", value=form.value.data, unit=form.unit.data,
        method=form.method.data, uncertainty=form.uncertainty.data,
        coverage_k=form.coverage_k.data)


def _code_choices(form: ResultForm, lines: list[participation.SheetLine], *,
                  answered: bool) -> None:
    """The laboratory's own codes: not answered yet for a result, answered for a correction."""
    form.sample_code.choices = [SelectChoice(line.sample_code, line.sample_code)
                                for line in lines if (line.result is not None) == answered]


def _enrolment_page(enrolment: EqaEnrolment, result_form: ResultForm | None = None,
                    correction_form: CorrectionForm | None = None, status: int = 200,
                    ) -> tuple[str, int]:
    lines = participation.enrolment_sheet(db.session, enrolment)
    programme = enrolment.round.programme
    if result_form is None:
        result_form = ResultForm(formdata=None, unit=programme.unit.value)
    if correction_form is None:
        correction_form = CorrectionForm(formdata=None, prefix=CORRECTION,
                                         unit=programme.unit.value)
    _code_choices(result_form, lines, answered=False)
    _code_choices(correction_form, lines, answered=True)
    return render_template(
        "eqa_lab/enrolment.html", enrolment=enrolment, round=enrolment.round,
        programme=programme, lines=lines, result_form=result_form,
        correction_form=correction_form,
        late=enrolment.round.is_late(now_utc()),
        released=participation.scores_released(enrolment.round),
        documents=participation.own_documents(db.session, current_actor(), enrolment),
    ), status


@bp.get("/")
@permission_required(Permission.SUBMIT_EQA_RESULTS)
def index() -> str:
    actor = current_actor()
    return render_template("eqa_lab/index.html",
                           laboratory=participation.laboratory_of(db.session, actor),
                           enrolments=participation.own_enrolments(db.session, actor),
                           now=now_utc())


@bp.get("/enrolments/<int:enrolment_id>")
@permission_required(Permission.SUBMIT_EQA_RESULTS)
def enrolment(enrolment_id: int) -> PageResult:
    return _enrolment_page(participation.own_enrolment(db.session, current_actor(), enrolment_id))


@bp.post("/enrolments/<int:enrolment_id>/results")
@permission_required(Permission.SUBMIT_EQA_RESULTS)
def submit(enrolment_id: int) -> PageResult:
    actor = current_actor()
    item = participation.own_enrolment(db.session, actor, enrolment_id)
    form = ResultForm()
    _code_choices(form, participation.enrolment_sheet(db.session, item), answered=False)
    if form.validate_on_submit():
        try:
            result = submissions.submit_result(db.session, actor=actor, now=now_utc(),
                                               enrolment=item, entry=entry_from(form))
        except LimsError as error:
            db.session.rollback()
            attach_service_error(form, error)
            return _enrolment_page(item, result_form=form, status=error.http_status)
        db.session.commit()
        if result.late:
            flash(_("Result for sample %(code)s received after the deadline: it is flagged "
                    "late.", code=form.sample_code.data), "warning")
        else:
            flash(_("Result for sample %(code)s received.", code=form.sample_code.data),
                  "success")
        return redirect(url_for(".enrolment", enrolment_id=item.id))
    return _enrolment_page(item, result_form=form, status=422)


@bp.post("/enrolments/<int:enrolment_id>/corrections")
@permission_required(Permission.SUBMIT_EQA_RESULTS)
def correct(enrolment_id: int) -> PageResult:
    actor = current_actor()
    item = participation.own_enrolment(db.session, actor, enrolment_id)
    form = CorrectionForm(prefix=CORRECTION)
    _code_choices(form, participation.enrolment_sheet(db.session, item), answered=True)
    if form.validate_on_submit():
        try:
            result = submissions.correct_result(db.session, actor=actor, now=now_utc(),
                                                enrolment=item, entry=entry_from(form),
                                                reason=form.reason.data)
        except LimsError as error:
            db.session.rollback()
            attach_service_error(form, error)
            return _enrolment_page(item, correction_form=form, status=error.http_status)
        db.session.commit()
        if result.is_current:
            flash(_("Correction of sample %(code)s saved.", code=form.sample_code.data),
                  "success")
        else:
            flash(_("The deadline has passed: the correction of sample %(code)s waits for the "
                    "provider's decision.", code=form.sample_code.data), "warning")
        return redirect(url_for(".enrolment", enrolment_id=item.id))
    return _enrolment_page(item, correction_form=form, status=422)


@bp.get("/documents/<int:document_id>")
@permission_required(Permission.SUBMIT_EQA_RESULTS)
def document(document_id: int) -> Response:
    actor = current_actor()
    found = participation.own_document(db.session, actor, document_id)
    own = next((e for e in participation.own_enrolments(db.session, actor)
                if e.round_id == found.round_id), None)
    response = send_file(BytesIO(found.data), mimetype="application/pdf",
                         download_name=participation.document_filename(
                             found, own.lab_code if own else None))
    response.headers["Cache-Control"] = "private, no-store"
    return response
