"""revoked_access_tokens: the revoked ones among a client's own JWT access tokens, which
are not stored otherwise

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 06:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'revoked_access_tokens',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('jti'),
    )
    with op.batch_alter_table('revoked_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revoked_access_tokens_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('revoked_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoked_access_tokens_expires_at'))
    op.drop_table('revoked_access_tokens')
