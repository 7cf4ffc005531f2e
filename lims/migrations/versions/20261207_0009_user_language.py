"""users.language: only a language IodineLIMS has catalogues for (the switcher now stores it)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Fixed here, not imported: a migration keeps meaning what it meant when it was written.
CHECK = "language IS NULL OR language IN ('ru', 'kk', 'en')"


def upgrade() -> None:
    op.execute(sa.text("UPDATE users SET language = NULL WHERE language NOT IN ('ru', 'kk', 'en')"))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_check_constraint('language', CHECK)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_language'), type_='check')
