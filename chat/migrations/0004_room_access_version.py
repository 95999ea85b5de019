from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("chat", "0003_room_created_by")]

    operations = [
        migrations.AddField(
            model_name="room",
            name="access_version",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
