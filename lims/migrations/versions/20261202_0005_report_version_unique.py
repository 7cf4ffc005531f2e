"""report jobs: one version number per report (unique params_key, version)

The PDF is now issued before the spreadsheet and results are attached, so the version is taken
when the PDF is issued; the unique index makes two workers issuing the same report at once
collide instead of both printing the same version.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 20:40:00
"""

from __future__ import annotations

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_report_jobs_params_key_version')
        batch_op.create_index('ux_report_jobs_params_key_version', ['params_key', 'version'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('report_jobs', schema=None) as batch_op:
        batch_op.drop_index('ux_report_jobs_params_key_version')
        batch_op.create_index('ix_report_jobs_params_key_version', ['params_key', 'version'], unique=False)
