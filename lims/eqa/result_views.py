"""The provider's side of participants' results under ``/eqa/results/``: uploading a laboratory's
results from its file on its behalf, and deciding the corrections laboratories sent after the
deadline. Guarded by ``MANAGE_EQA``; the rules and the audit trail are the submission service's."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from wtforms.fields.choices import SelectChoice

from lims.auth.models import User, UserRole
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError, ValidationError
from lims.core.inputs import parse_id
from lims.core.permissions import Permission, Role
from lims.eqa import submissions
from lims.eqa.models import (
    CorrectionStatus,
    EqaEnrolment,
    EqaLabAccount,
    EqaLaboratory,
    EqaResult,
    EqaRound,
    EqaSampleCode,
)
from lims.eqa.participant_forms import AccountLinkForm, DecisionForm, UploadForm
from lims.eqa.result_file import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from lims.extensions import db

bp = Blueprint("eqa_results", __name__, url_prefix="/eqa/results", template_folder="templates")

PageResult = str | Response | tuple[str, int]


def _enrolment(enrolment_id: int) -> EqaEnrolment:
    found = db.session.get(EqaEnrolment, enrolment_id)
    if found is None:
        raise NotFoundError(_("No such enrolment."), field="enrolment_id")
    return found


@bp.route("/enrolments/<int:enrolment_id>/upload", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_EQA)
def upload(enrolment_id: int) -> PageResult:
    item = _enrolment(enrolment_id)
    form = UploadForm()
    problems: LimsError | None = None
    if form.validate_on_submit():
        data = form.file.data.read()
        filename = form.file.data.filename or "upload"
        try:
            results = submissions.upload_results(db.session, actor=current_actor(),
                                                 now=now_utc(), enrolment=item,
                                                 filename=filename, data=data)
        except LimsError as error:
            db.session.rollback()
            problems = error
        else:
            db.session.commit()
            flash(ngettext("%(num)d result of laboratory %(lab)s saved from %(file)s.",
                           "%(num)d results of laboratory %(lab)s saved from %(file)s.",
                           len(results), lab=item.lab_code, file=filename), "success")
            return redirect(url_for(".upload", enrolment_id=item.id))
    status = (problems.http_status if problems else 422) if form.is_submitted() else 200
    return render_template("eqa_lab/upload.html", form=form, enrolment=item, problems=problems,
                           is_rows=isinstance(problems, ValidationError),
                           columns=REQUIRED_COLUMNS + OPTIONAL_COLUMNS), status


@bp.get("/corrections")
@permission_required(Permission.MANAGE_EQA)
def corrections() -> str:
    return _corrections_page()[0]


def _corrections_page(status: int = 200, posted: DecisionForm | None = None,
                      result_id: int | None = None) -> tuple[str, int]:
    """The waiting corrections; a refused decision (``posted`` for ``result_id``) is shown
    with its problem at the top and in its own card."""
    rows = db.session.execute(
        sa.select(EqaResult, EqaEnrolment.lab_code, EqaLaboratory.name, EqaRound.code,
                  EqaSampleCode.code)
        .join(EqaEnrolment, EqaResult.enrolment_id == EqaEnrolment.id)
        .join(EqaLaboratory, EqaEnrolment.laboratory_id == EqaLaboratory.id)
        .join(EqaRound, EqaEnrolment.round_id == EqaRound.id)
        .join(EqaSampleCode, sa.and_(EqaSampleCode.enrolment_id == EqaEnrolment.id,
                                     EqaSampleCode.material_id == EqaResult.material_id))
        .where(EqaResult.correction_status == CorrectionStatus.PENDING)
        .order_by(EqaResult.submitted_at, EqaResult.id)).all()
    enrolment_ids = {row[0].enrolment_id for row in rows}
    current = {(r.enrolment_id, r.material_id): r for r in db.session.scalars(
        sa.select(EqaResult).where(EqaResult.is_current.is_(True),
                                   EqaResult.enrolment_id.in_(enrolment_ids)))}
    forms = {row[0].id: DecisionForm(formdata=None, prefix=f"c{row[0].id}") for row in rows}
    if posted is not None and result_id in forms:
        forms[result_id] = posted
    return render_template("eqa_lab/corrections.html", rows=rows, current=current, forms=forms,
                           posted=posted), status


@bp.post("/corrections/<int:result_id>")
@permission_required(Permission.MANAGE_EQA)
def decide(result_id: int) -> PageResult:
    correction = submissions.find_correction(db.session, result_id)
    form = DecisionForm(prefix=f"c{result_id}")
    if not form.validate_on_submit():
        return _corrections_page(422, form, result_id)
    try:
        submissions.decide_correction(db.session, actor=current_actor(), now=now_utc(),
                                      correction=correction, accept=form.decision.data == "accept",
                                      reason=form.reason.data)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _corrections_page(error.http_status, form, result_id)
    db.session.commit()
    flash(_("Decision recorded."), "success")
    return redirect(url_for(".corrections"))


def _unlinked_participants() -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.EQA_PARTICIPANT, User.is_active.is_(True),
               User.id.not_in(sa.select(EqaLabAccount.user_id)))
        .order_by(User.username)))


@bp.route("/laboratories/<int:laboratory_id>/accounts", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_EQA)
def accounts(laboratory_id: int) -> PageResult:
    """The accounts a participating laboratory submits with; an administrator creates the
    user (role: EQA participant), the provider links it to its laboratory here."""
    laboratory = db.session.get(EqaLaboratory, laboratory_id)
    if laboratory is None:
        raise NotFoundError(_("No such laboratory."), field="laboratory_id")
    form = AccountLinkForm()
    form.user.choices = [SelectChoice(str(u.id), f"{u.username} · {u.full_name}".rstrip(" ·"))
                         for u in _unlinked_participants()]
    status = 200
    if form.validate_on_submit():
        user = db.session.get(User, parse_id(form.user.data) or 0)
        try:
            if user is None:
                raise NotFoundError(_("No such user."), field="user")
            submissions.link_participant_account(db.session, actor=current_actor(),
                                                 now=now_utc(), laboratory=laboratory, user=user)
        except LimsError as error:
            db.session.rollback()
            if not form.attach_error(error):
                form.form_errors.append(error.message)
            status = error.http_status
        else:
            db.session.commit()
            flash(_("Account %(user)s now acts for %(lab)s.", user=user.username,
                    lab=laboratory.name), "success")
            return redirect(url_for(".accounts", laboratory_id=laboratory.id))
    elif form.is_submitted():
        status = 422
    linked = db.session.scalars(sa.select(User).join(EqaLabAccount, EqaLabAccount.user_id == User.id)
                                .where(EqaLabAccount.laboratory_id == laboratory.id)
                                .order_by(User.username)).all()
    return render_template("eqa_lab/accounts.html", laboratory=laboratory, linked=linked,
                           form=form), status
