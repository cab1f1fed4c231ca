"""Editors untick links of their content: a per-link "do not ping" flag on the outbound rows."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("backlinks_django", "0008_staging_update_services"),
    ]

    operations = [
        migrations.AddField(
            model_name='outboundping',
            name='do_not_ping',
            field=models.BooleanField(default=False, help_text='An editor unticked this link: it is never pinged for this object.', verbose_name='do not ping'),
        ),
    ]
