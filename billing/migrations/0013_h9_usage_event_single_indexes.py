"""The single-column indexes on usage events' account and period go: the composite indexes
(account, occurred_at), (period, model) and the idempotency constraint (account, key) start
with those columns and serve the same lookups.

Only the indexes are dropped (CONCURRENTLY on PostgreSQL, so ingestion goes on): Django's own
AlterField would also drop and re-add the foreign keys, re-validating them over every event
under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "billing_usageevent_account_id_2ec9b380": "account_id",
    "billing_usageevent_period_id_963f650a": "period_id",
}


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')


def create(apps, schema_editor):
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "billing_usageevent" ("{column}")'
        )


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("accounts", "0006_key_budget_expiry_creator"),
        ("billing", "0012_h9_rollup_overage_counts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="usageevent",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="usage_events",
                        to="accounts.account",
                        verbose_name="compte client",
                    ),
                ),
                migrations.AlterField(
                    model_name="usageevent",
                    name="period",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="billing.billingperiod",
                        verbose_name="période",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, create)],
        ),
    ]
