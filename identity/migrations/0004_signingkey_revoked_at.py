from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0003_generation_failure_count'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='signingkey',
            options={'ordering': ['algorithm', '-generation'],
                     'permissions': [('revoke_signingkey', 'Can revoke signing keys')]},
        ),
        migrations.AddField(
            model_name='signingkey',
            name='revoked_at',
            field=models.DateTimeField(
                blank=True, null=True,
                help_text='Withdrawn at this time (manage.py revoke_signing_key): no longer '
                          'signs, published or accepted. Irreversible.'),
        ),
    ]
