"""WebmentionRequest becomes InboundPing: one verification queue for every protocol."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backlinks_django", "0006_backlink_original_url"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RenameModel("WebmentionRequest", "InboundPing"),
        migrations.AlterModelOptions(
            name="inboundping",
            options={
                "ordering": ["-received_at"],
                "verbose_name": "inbound ping",
                "verbose_name_plural": "inbound pings",
            },
        ),
        migrations.AddField(
            model_name="inboundping",
            name="kind",
            field=models.CharField(
                choices=[
                    ("pingback", "Pingback"),
                    ("trackback", "TrackBack"),
                    ("webmention", "Webmention"),
                ],
                default="webmention",
                max_length=20,
                verbose_name="kind",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="inboundping",
            name="target_content_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="target_object_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="title",
            field=models.TextField(blank=True, verbose_name="title"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="excerpt",
            field=models.TextField(blank=True, verbose_name="excerpt"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="blog_name",
            field=models.TextField(blank=True, verbose_name="blog name"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="sender",
            field=models.CharField(blank=True, max_length=64, verbose_name="sender"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="source_domain",
            field=models.CharField(blank=True, max_length=253, verbose_name="source domain"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="detail",
            field=models.CharField(blank=True, max_length=500, verbose_name="detail"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="attempts"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="not_before",
            field=models.DateTimeField(blank=True, null=True, verbose_name="not before"),
        ),
        migrations.AddField(
            model_name="inboundping",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="claimed until"),
        ),
        migrations.AlterField(
            model_name="inboundping",
            name="state",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("verifying", "Being verified"),
                    ("accepted", "Accepted"),
                    ("rejected", "Rejected"),
                    ("removed", "Removed at source"),
                ],
                default="queued",
                max_length=20,
                verbose_name="state",
            ),
        ),
        migrations.AddIndex(
            model_name="inboundping",
            index=models.Index(fields=["state", "sender"], name="backlinks_inbound_sender"),
        ),
        migrations.AddIndex(
            model_name="inboundping",
            index=models.Index(fields=["state", "received_at"], name="backlinks_inbound_state"),
        ),
    ]
