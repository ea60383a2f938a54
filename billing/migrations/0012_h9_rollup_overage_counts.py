"""The rollups' overage counts, and every event already recorded summed into the rollups."""

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import migrations, models

ALGIERS = ZoneInfo("Africa/Algiers")
SUMS = (
    "events", "input_tokens", "output_tokens", "images", "cost", "credits", "prepaid",
    "overage", "written_off", "overage_input_tokens", "overage_output_tokens", "overage_images",
)

BACKFILL_SQL = """
    INSERT INTO billing_usagedaily (account_id, day, model_id, api_key_id, events, input_tokens,
        output_tokens, images, cost, credits, prepaid, overage, written_off,
        overage_input_tokens, overage_output_tokens, overage_images)
    SELECT account_id, (occurred_at AT TIME ZONE 'Africa/Algiers')::date, model_id, api_key_id,
        count(*), sum(input_tokens), sum(output_tokens), sum(images), sum(cost), sum(credits),
        sum(prepaid), sum(overage), sum(written_off),
        coalesce(sum(input_tokens) FILTER (WHERE overage > 0), 0),
        coalesce(sum(output_tokens) FILTER (WHERE overage > 0), 0),
        coalesce(sum(images) FILTER (WHERE overage > 0), 0)
    FROM billing_usageevent GROUP BY 1, 2, 3, 4
"""


def backfill(apps, schema_editor):
    UsageDaily = apps.get_model("billing", "UsageDaily")
    UsageEvent = apps.get_model("billing", "UsageEvent")
    UsageDaily.objects.all().delete()
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL_SQL)
        return
    # Elsewhere (SQLite, one machine): summed in Python, exact Decimals; only the groups are held.
    groups = {}
    events = UsageEvent.objects.order_by().values_list(
        "account_id", "occurred_at", "model_id", "api_key_id", "input_tokens", "output_tokens",
        "images", "cost", "credits", "prepaid", "overage", "written_off",
    )
    for account, at, model, key, tin, tout, img, cost, cred, pre, over, off in events.iterator(
        chunk_size=2000
    ):
        group = (account, at.astimezone(ALGIERS).date(), model, key)
        sums = groups.setdefault(group, [0, 0, 0, 0] + [Decimal(0)] * 5 + [0, 0, 0])
        counted = over > 0
        for index, value in enumerate(
            (1, tin, tout, img, cost, cred, pre, over, off)
            + ((tin, tout, img) if counted else (0, 0, 0))
        ):
            sums[index] += value
    UsageDaily.objects.bulk_create(
        [
            UsageDaily(
                account_id=account, day=day, model_id=model, api_key_id=key,
                **dict(zip(SUMS, sums, strict=True)),
            )
            for (account, day, model, key), sums in groups.items()
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_invoice_line_images_bigint"),
    ]

    operations = [
        migrations.AddField(
            model_name="usagedaily",
            name="overage_input_tokens",
            field=models.BigIntegerField(default=0, verbose_name="tokens input en dépassement"),
        ),
        migrations.AddField(
            model_name="usagedaily",
            name="overage_output_tokens",
            field=models.BigIntegerField(default=0, verbose_name="tokens output en dépassement"),
        ),
        migrations.AddField(
            model_name="usagedaily",
            name="overage_images",
            field=models.BigIntegerField(default=0, verbose_name="images en dépassement"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
