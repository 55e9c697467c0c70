"""access_token_format: a client's access tokens opaque or JWT (RFC 9068); NULL follows
the configuration's oidc.access_token_format

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 00:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_token_format', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('access_token_format')
