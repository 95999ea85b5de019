import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    """Keys for the users registered before: the oldest of any look-alikes holds the key
    (the others keep their accounts and log in by their exact name)."""
    from chat.usernames import username_fold, username_skeleton

    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    UsernameKey = apps.get_model("chat", "UsernameKey")
    seen_folded, seen_skeleton = set(), set()
    keys = []
    for user_id, username in User.objects.order_by("pk").values_list("pk", "username").iterator():
        folded, skeleton = username_fold(username), username_skeleton(username)
        if folded in seen_folded or skeleton in seen_skeleton:
            continue
        seen_folded.add(folded)
        seen_skeleton.add(skeleton)
        keys.append(UsernameKey(user_id=user_id, folded=folded, skeleton=skeleton))
    UsernameKey.objects.bulk_create(keys, batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0004_room_access_version'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='UsernameKey',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='chat_username_key', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('folded', models.CharField(max_length=600, unique=True)),
                ('skeleton', models.CharField(max_length=600, unique=True)),
            ],
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
