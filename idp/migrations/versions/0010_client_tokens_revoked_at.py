"""clients.tokens_revoked_at: when `idp clients revoke-tokens` last voided the client's
tokens (its own, stored nowhere, issued up to then are inactive)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 07:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokens_revoked_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('tokens_revoked_at')
