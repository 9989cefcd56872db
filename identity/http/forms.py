"""Read a back-channel form post from Django's request, with the configured limits."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.http.request import RawPostDataException

from identity.conf import identity_settings
from identity.errors import InvalidRequest
from identity.validation.params import parse_form


def read_form(http: HttpRequest, *, keep_body: bool = False) -> Mapping[str, str]:
    """Return the form parameters, refusing oversized bodies before reading them.

    `keep_body` reads through `request.body`, so that a CSRF check after this still finds the
    token in `request.POST`.
    """
    limit = identity_settings.MAX_REQUEST_BODY
    try:
        declared = int(http.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidRequest("invalid Content-Length") from None
    if declared > limit:
        raise InvalidRequest("the request body is too large")
    try:
        body = http.body if keep_body else http.read(limit + 1)
    except RequestDataTooBig:
        raise InvalidRequest("the request body is too large") from None
    except (OSError, RawPostDataException):
        raise InvalidRequest("the request body could not be read") from None
    return parse_form(body, http.content_type or "", max_body=limit,
                      max_lengths=identity_settings.INPUT_LENGTHS,
                      default_max_length=identity_settings.DEFAULT_INPUT_LENGTH)
