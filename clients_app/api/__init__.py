"""The management API: clients, secrets, scopes, resources, signing keys, grants and consents
over REST (djangorestframework), under the same rules as the admin and the import."""
