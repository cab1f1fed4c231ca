from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="entry",
            name="pings_open",
            field=models.BooleanField(
                default=True,
                help_text="Accept Webmentions, pingbacks and trackbacks for this entry.",
            ),
        ),
    ]
