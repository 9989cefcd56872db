from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0006_device_flow'),
    ]

    operations = [
        migrations.CreateModel(
            name='BackChannelLogout',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('client_id', models.CharField(max_length=200)),
                ('uri', models.CharField(max_length=2000, verbose_name='back-channel logout URI')),
                ('issuer', models.CharField(max_length=2000)),
                ('subject', models.CharField(max_length=200)),
                ('session_id', models.CharField(blank=True, max_length=200, verbose_name='sid')),
                ('created', models.DateTimeField()),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(db_index=True)),
                ('last_error', models.CharField(blank=True, max_length=500)),
            ],
            options={
                'ordering': ['next_attempt_at', 'pk'],
            },
        ),
    ]
