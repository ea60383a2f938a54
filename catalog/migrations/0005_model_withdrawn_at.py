from django.db import migrations, models
from django.utils import timezone


def withdrawn_now(apps, schema_editor):
    # Models already unavailable were withdrawn at an instant nobody recorded: from now on,
    # their usage is refused; what happened before stays accepted.
    AIModel = apps.get_model("catalog", "AIModel")
    AIModel.objects.filter(is_active=False, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_french_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="aimodel",
            name="withdrawn_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="Quand le modèle a été rendu indisponible : l'usage survenu après est refusé.",
                null=True,
                verbose_name="retiré le",
            ),
        ),
        migrations.RunPython(withdrawn_now, migrations.RunPython.noop),
    ]
