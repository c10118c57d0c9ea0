"""Reminder.channel: the channel the dispatcher chose (e-mail, LINE, postcard, SMS); blank before.

Added by the postcards branch so print batches can select `channel = "postcard"`; the channels branch
adds the same field (same definition). At merge keep one of the two migrations.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0003_customer_birthday_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="reminder",
            name="channel",
            field=models.CharField(
                blank=True,
                choices=[("email", "E-mail"), ("line", "LINE"), ("postcard", "Postcard"), ("sms", "SMS")],
                default="",
                max_length=10,
                verbose_name="channel",
            ),
        ),
    ]
