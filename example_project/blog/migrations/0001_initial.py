from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Entry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("slug", models.SlugField(max_length=200, unique=True)),
                (
                    "body",
                    models.TextField(
                        help_text="HTML. Links in it are pinged when the entry is saved."
                    ),
                ),
                (
                    "published_at",
                    models.DateTimeField(
                        blank=True, help_text="Leave empty to keep the entry a draft.", null=True
                    ),
                ),
                (
                    "pings_open",
                    models.BooleanField(
                        default=True, help_text="Accept pingbacks and trackbacks for this entry."
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "entries",
                "ordering": ["-published_at", "-pk"],
            },
        ),
    ]
