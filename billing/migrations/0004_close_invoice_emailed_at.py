from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_usage_and_invoices")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="emailed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="e-mail envoyé le"),
        ),
    ]
