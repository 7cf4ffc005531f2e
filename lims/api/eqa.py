"""The EQA participant's endpoints of ``/api/v1``: a participating laboratory's script lists its
enrolments and sample codes and submits its results, with the token of its own account.

The same isolation as its pages (`lims.eqa.participation`): another laboratory's enrolment is a
404, never a 403, and no answer carries another laboratory's name. The same rules as its form
(`lims.eqa.submissions`): the body is checked against its schema first (422 naming the field),
then the service refuses what a schema cannot say (closed round, a code not sent to this
laboratory, a second result, the wrong unit, a value above the ceiling).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Response, g, jsonify, request, url_for
from jsonschema import Draft202012Validator

from lims.api.openapi import EQA_RESULT_SUBMISSION_SCHEMA
from lims.api.views import bp, user_token
from lims.core.dt import now_utc
from lims.core.errors import UnsupportedMediaType, ValidationError
from lims.core.inputs import JsonProblem, loads_strict
from lims.core.permissions import Permission
from lims.eqa import participation, submissions
from lims.eqa.models import EqaEnrolment, EqaResult, EqaScore
from lims.extensions import db

participant_token = user_token(
    Permission.SUBMIT_EQA_RESULTS,
    instrument_refusal="an instrument's token cannot act for an EQA participant; use the token "
                       "of the laboratory's participant account",
    user_refusal="the user of this token is not an EQA participant")


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(EQA_RESULT_SUBMISSION_SCHEMA)
    return Draft202012Validator(EQA_RESULT_SUBMISSION_SCHEMA)


def _enrolment_json(enrolment: EqaEnrolment) -> dict[str, Any]:
    round_ = enrolment.round
    return {
        "id": enrolment.id,
        "lab_code": enrolment.lab_code,
        "round_code": round_.code,
        "programme_code": round_.programme.code,
        "unit": round_.programme.unit.value,
        "dispatch_date": round_.dispatch_date.isoformat(),
        "deadline": round_.deadline.isoformat(),
        "status": round_.status.value,
        "deadline_passed": round_.is_late(now_utc()),
        "links": {"self": url_for("api.eqa_enrolment", enrolment_id=enrolment.id),
                  "results": url_for("api.eqa_submit_result", enrolment_id=enrolment.id)},
    }


def _result_json(result: EqaResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "id": result.id,
        "value": result.value,
        "unit": result.unit.value,
        "uncertainty": result.u_x,
        "coverage_k": result.coverage_k,
        "method": result.method.value,
        "submitted_at": result.submitted_at.isoformat(),
        "via": result.via.value,
        "late": result.late,
        "version": result.version,
        "correction_status": result.correction_status.value if result.correction_status else None,
    }


def _score_json(score: EqaScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {"kind": score.score_kind.value, "value": score.score,
            "class": score.score_class.value, "zeta": score.zeta, "en": score.en}


@bp.get("/eqa/enrolments")
@participant_token
def eqa_enrolments() -> dict[str, Any]:
    user = g.api_token.created_by
    return {"items": [_enrolment_json(e) for e in participation.own_enrolments(db.session, user)]}


@bp.get("/eqa/enrolments/<int:enrolment_id>")
@participant_token
def eqa_enrolment(enrolment_id: int) -> dict[str, Any]:
    enrolment = participation.own_enrolment(db.session, g.api_token.created_by, enrolment_id)
    released = participation.scores_released(enrolment.round)
    return {
        **_enrolment_json(enrolment),
        "materials": [{
            "sample_code": line.sample_code,
            "result": _result_json(line.result),
            "pending_correction": _result_json(line.pending),
            "score": _score_json(line.score) if released else None,
            "assigned_value": line.x_pt,
            "sigma_pt": line.sigma_pt,
        } for line in participation.enrolment_sheet(db.session, enrolment)],
    }


@bp.post("/eqa/enrolments/<int:enrolment_id>/results")
@participant_token
def eqa_submit_result(enrolment_id: int) -> tuple[Response, int]:
    user = g.api_token.created_by
    enrolment = participation.own_enrolment(db.session, user, enrolment_id)
    if not request.is_json:
        raise UnsupportedMediaType("send the result as JSON (Content-Type: application/json)")
    try:
        body = loads_strict(request.get_data(cache=False))
    except JsonProblem as problem:
        raise ValidationError(problem.message, field="body") from None
    errors = [{"path": "/".join(map(str, err.path)), "message": err.message}
              for err in _validator().iter_errors(body)]
    if errors:
        raise ValidationError(f"the result does not match its schema: {errors[0]['message']}",
                              field="body", errors=errors)
    result = submissions.submit_result(
        db.session, actor=user, now=now_utc(), enrolment=enrolment,
        entry=submissions.ResultEntry(
            sample_code=body["sample_code"], value=body["value"], unit=body["unit"],
            method=body["method"], uncertainty=body.get("uncertainty"),
            coverage_k=body.get("coverage_k")))
    db.session.commit()
    return jsonify(_result_json(result)), 201
