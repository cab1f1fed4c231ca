"""Staging: sites say their environment; update services (weblogUpdates) as an outbound protocol."""

import backlinks_django.models.sites
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('backlinks_django', '0007_inboundping'),
    ]

    operations = [
        migrations.AddField(
            model_name='sitesettings',
            name='feed_url',
            field=models.URLField(blank=True, help_text="The site's feed: with it, update services are told with weblogUpdates.extendedPing.", max_length=2000, verbose_name='feed URL'),
        ),
        migrations.AddField(
            model_name='sitesettings',
            name='update_services',
            field=models.TextField(blank=True, help_text='XML-RPC addresses of update services (such as http://rpc.pingomatic.com/), one a line, told with weblogUpdates.ping when content is first published.', validators=[backlinks_django.models.sites.validate_service_urls], verbose_name='update services'),
        ),
        migrations.AlterField(
            model_name='outboundping',
            name='protocol',
            field=models.CharField(blank=True, choices=[('pingback', 'Pingback'), ('trackback', 'TrackBack'), ('webmention', 'Webmention'), ('weblogupdates', 'Update service')], max_length=20, verbose_name='protocol'),
        ),
        migrations.AlterField(
            model_name='sitesettings',
            name='send_pings',
            field=models.BooleanField(default=True, help_text='Ping linked pages and notify update services when content is published.', verbose_name='send pings'),
        ),
    ]
