"""Accept this server's access tokens in a Django REST framework API.

Three lines of settings in the API project::

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.contrib.rest_framework.IdentityTokenAuthentication"]}
    IDENTITY_RESOURCE_SERVER = {"AUTHORITY": "https://id.example.com", "AUDIENCE": "api1"}

then ``permission_classes = [HasScopes]`` with ``required_scopes = ["api1.read"]`` on a view
(and, optionally, ``exception_handler`` as DRF's EXCEPTION_HANDLER for the insufficient_scope
challenge on 403s).
JWT access tokens (RFC 9068) are verified locally against the authority's published keys;
reference tokens are checked with the introspection endpoint (RFC 7662) when the API has
credentials for it. docs/resource-servers.rst is the user guide.
"""

from identity.contrib.rest_framework.authentication import IdentityTokenAuthentication
from identity.contrib.rest_framework.handlers import exception_handler
from identity.contrib.rest_framework.permissions import HasAnyScope, HasScopes, any_scope, scopes
from identity.contrib.rest_framework.principal import TokenUser

__all__ = ["HasAnyScope", "HasScopes", "IdentityTokenAuthentication", "TokenUser", "any_scope",
           "exception_handler", "scopes"]
