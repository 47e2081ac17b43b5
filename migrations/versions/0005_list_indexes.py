"""Lists: a member's runs and the review queue are cut from an index alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Each new index begins with the column of the index it replaces.
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_requester_created', ['requester_id', 'created_at', 'id'], unique=False)
        batch_op.drop_index('ix_runs_requester_id')
    with op.batch_alter_table('benchmarks', schema=None) as batch_op:
        batch_op.create_index('ix_benchmarks_review', ['status', 'submitted_at', 'id'], unique=False)
        batch_op.drop_index('ix_benchmarks_status')


def downgrade():
    with op.batch_alter_table('benchmarks', schema=None) as batch_op:
        batch_op.create_index('ix_benchmarks_status', ['status'], unique=False)
        batch_op.drop_index('ix_benchmarks_review')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_requester_id', ['requester_id'], unique=False)
        batch_op.drop_index('ix_runs_requester_created')
