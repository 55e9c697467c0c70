"""delegations: an establishment offers some of its services to another's account

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 22:25:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('offered_by', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_delegations_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishments.id'], name=op.f('fk_delegations_establishment_id_establishments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegations'))
    )
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delegations_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delegations_establishment_id'), ['establishment_id'], unique=False)


def downgrade():
    op.drop_table('delegations')
