"""provenance in one column; one store for rate limits

Sessions, authorization codes and tokens carry how the user authenticated in one JSON
column (idp.provenance.Provenance) instead of five copied columns. Every rate limit
counts its hits in rate_limit_hits; send_events and the account's federated counters go.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

CARRIERS = {
    # table: the old columns, in Provenance's names
    'login_sessions': ('auth_time', 'acr', 'amr', 'sid', 'login_method'),
    'authorization_codes': ('auth_time', 'acr', 'amr', 'sid', 'claims'),
    'tokens': ('auth_time', 'acr', 'amr', 'sid', 'claims'),
}


def _copy_into_provenance(table_name, columns):
    connection = op.get_bind()
    table = sa.table(table_name, sa.column('id', sa.Integer), sa.column('provenance', sa.JSON),
                     sa.column('claims', sa.JSON), *(sa.column(c) for c in columns if c != 'claims'))
    rows = connection.execute(sa.select(table.c.id, *(table.c[c] for c in columns))).mappings().all()
    for row in rows:
        if row['auth_time'] is None:
            continue  # client_credentials tokens carry no provenance
        value = {
            'auth_time': row['auth_time'], 'acr': row['acr'] or '',
            'amr': (row['amr'] or '').split(), 'login_method': row.get('login_method') or 'local',
            'sid': row['sid'], 'claims': row.get('claims'),
        }
        connection.execute(sa.update(table).where(table.c.id == row['id']).values(provenance=value))


def upgrade():
    for table_name, columns in CARRIERS.items():
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('provenance', sa.JSON(), nullable=True))
        _copy_into_provenance(table_name, columns)
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            for column in columns:
                if (table_name, column) != ('login_sessions', 'sid'):  # a session's own id stays a column
                    batch_op.drop_column(column)
            if table_name == 'login_sessions':
                batch_op.drop_column('code_verified')

    op.create_table('rate_limit_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_hits'))
    )
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_hits_key_at', ['key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rate_limit_hits_at'), ['at'], unique=False)

    with op.batch_alter_table('send_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_send_events_recipient'))
        batch_op.drop_index(batch_op.f('ix_send_events_ip'))
        batch_op.drop_index(batch_op.f('ix_send_events_at'))
        batch_op.drop_index(batch_op.f('ix_send_events_account_id'))
    op.drop_table('send_events')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('federated_failures')
        batch_op.drop_column('federated_wait_until')


def downgrade():
    raise NotImplementedError("0005 folds five columns into one; restore a backup to go back")
