"""Create the standard identity resources (openid, profile, email, address, phone)."""

from django.db import migrations

from clients_app.importing import import_document
from clients_app.mapping import ModelSet
from identity.config_document import ConfigDocument
from identity.domain.resources import STANDARD_IDENTITY_RESOURCES, Resources


def create(apps, schema_editor):
    document = ConfigDocument(resources=Resources(identity_resources=STANDARD_IDENTITY_RESOURCES))
    import_document(document, ModelSet.from_apps(apps))


def remove(apps, schema_editor):
    apps.get_model("clients_app", "IdentityResource").objects.filter(
        name__in=[r.name for r in STANDARD_IDENTITY_RESOURCES]).delete()


class Migration(migrations.Migration):
    dependencies = [("clients_app", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
