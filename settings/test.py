"""Settings for the test suite: the project's settings with a throwaway key and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from settings.settings import *  # noqa: E402,F403

# User passwords only: client secrets keep IdentityServer's SHA-256 whatever this says.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
