"""Containers: an index the catalogue pages through by name without reading the rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('containers', schema=None) as batch_op:
        batch_op.create_index('ix_containers_catalogue', ['name_key', 'id', 'role'], unique=False)


def downgrade():
    with op.batch_alter_table('containers', schema=None) as batch_op:
        batch_op.drop_index('ix_containers_catalogue')
