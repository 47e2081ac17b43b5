"""Join requests: one live request (testing, pending or approved) per benchmark and model.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Written out: a migration keeps the statuses of its day, whatever the model says later.
LIVE = "status IN ('approved', 'pending', 'testing')"


def upgrade():
    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.create_index(
            'uq_join_requests_live',
            ['benchmark_id', 'model_id'],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade():
    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_join_requests_live')
