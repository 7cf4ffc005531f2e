"""``lims eqa demo``: a closed, scored round of 15 laboratories made through the services
(one late result, one outlier scored unsatisfactory), and nothing added on a second run."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from lims.cli import main
from lims.core.permissions import Role
from lims.eqa.models import EqaResult, EqaRound, EqaScore, RoundStatus, ScoreClass


def test_demo_round(app: Flask, session: Session, make_user) -> None:
    admin = make_user(Role.ADMIN)
    session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["eqa", "demo", "--by", admin.username])
    assert first.exit_code == 0, first.output
    assert "15 laboratories and 30 scores" in first.output
    round_ = session.scalars(sa.select(EqaRound).where(EqaRound.code == "2026-1")).one()
    assert round_.status is RoundStatus.CLOSED and len(round_.enrolments) == 15
    assert all(m.consensus_p == 15 and m.homogeneity_passed for m in round_.materials)
    late = session.scalar(sa.select(sa.func.count()).select_from(EqaResult)
                          .where(EqaResult.late.is_(True)))
    assert late == 2  # the last laboratory's two results
    classes = set(session.scalars(sa.select(EqaScore.score_class)
                                  .where(EqaScore.is_current.is_(True))))
    assert ScoreClass.UNSATISFACTORY in classes and ScoreClass.SATISFACTORY in classes
    again = runner.invoke(main, ["eqa", "demo", "--by", admin.username])
    assert again.exit_code == 0 and "nothing added" in again.output
