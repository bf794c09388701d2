"""billing: run progress and problems, cumulative-term amount and note on invoices, auto-apply exactly-once key

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('billing_run', sa.Column('customers_total', sa.Integer(), server_default='0', nullable=False))
    op.add_column('billing_run', sa.Column('customers_done', sa.Integer(), server_default='0', nullable=False))
    op.add_column('billing_run', sa.Column('last_customer_id', sa.BigInteger(), nullable=True))
    op.create_table(
        'billing_run_problem',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('billing_run_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('noted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['billing_run_id'], ['billing_run.id'],
                                name=op.f('fk_billing_run_problem_billing_run_id_billing_run'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name=op.f('fk_billing_run_problem_customer_id_customer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_run_problem')),
        sa.UniqueConstraint('billing_run_id', 'customer_id',
                            name=op.f('uq_billing_run_problem_billing_run_id_customer_id')),
    )
    op.add_column('invoice', sa.Column('cumulative_discount_amount', sa.Numeric(precision=12, scale=2),
                                       server_default='0', nullable=False))
    op.add_column('invoice', sa.Column('note', sa.Text(), nullable=True))
    op.create_check_constraint(op.f('ck_invoice_cumulative_discount_non_negative'), 'invoice',
                               'cumulative_discount_amount >= 0')
    op.create_index('uq_discount_application_auto', 'discount_application',
                    ['definition_id', 'billing_item_id', 'period_start'], unique=True,
                    postgresql_where=sa.text('discount_id IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_discount_application_auto', table_name='discount_application',
                  postgresql_where=sa.text('discount_id IS NULL'))
    op.drop_constraint(op.f('ck_invoice_cumulative_discount_non_negative'), 'invoice', type_='check')
    op.drop_column('invoice', 'note')
    op.drop_column('invoice', 'cumulative_discount_amount')
    op.drop_table('billing_run_problem')
    op.drop_column('billing_run', 'last_customer_id')
    op.drop_column('billing_run', 'customers_done')
    op.drop_column('billing_run', 'customers_total')
