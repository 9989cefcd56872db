"""A data migration as a host project writes it: seed a client with the helper."""

from django.db import migrations

from clients_app.seeding import seed_operation

BILLING = {
    "IdentityServer": {
        "ApiScopes": [{"Name": "billing.read"}],
        "Clients": [{
            "ClientId": "billing",
            "ClientSecrets": [{"Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="}],
            "AllowedGrantTypes": ["client_credentials"],
            "AllowedScopes": ["billing.read"],
        }],
    }
}


class Migration(migrations.Migration):
    dependencies = [("clients_app", "0002_standard_identity_resources")]
    operations = [seed_operation(BILLING)]
