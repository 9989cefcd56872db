"""Parse back-channel form posts: one value per name, bounded sizes, UTF-8, fast refusals.

Spec: RFC 6749 §3.2 (POST, application/x-www-form-urlencoded, parameters sent without a value
are treated as omitted, parameters must not be repeated).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from urllib.parse import parse_qsl

from identity.constants import GrantType
from identity.errors import InvalidGrant, InvalidRequest

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
MAX_FIELDS: Final = 50
# The parameter carrying what each grant redeems. Its length is the grant's business: a value
# longer than any the server issues is an invalid grant (RFC 6749 §5.2), which is what clients
# act on (an access token sent as refresh_token), not a malformed request.
GRANT_VALUES: Final = {GrantType.AUTHORIZATION_CODE.value: "code",
                       GrantType.REFRESH_TOKEN.value: "refresh_token",
                       GrantType.DEVICE_CODE.value: "device_code"}


def parse_form(body: bytes, content_type: str, *, max_body: int,
               max_lengths: Mapping[str, int], default_max_length: int) -> Mapping[str, str]:
    """Return the parameters of a form body, or raise InvalidRequest saying what is wrong."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"the body must be {FORM_CONTENT_TYPE}")
    if len(body) > max_body:
        raise InvalidRequest("the request body is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the body is not valid UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS,
                          errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("the body is not a valid form (too many fields or bad encoding)") \
            from None
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in params:
            repeated.add(name)
        params[name] = value
    if repeated:
        raise InvalidRequest(f"parameters must not be repeated: {', '.join(sorted(repeated))}")
    # Still bounded by max_body; check_grant_value judges its length.
    grant_value = GRANT_VALUES.get(params.get("grant_type", ""))
    for name, value in params.items():
        if name != grant_value and len(value) > max_lengths.get(name, default_max_length):
            raise InvalidRequest(f"{name} is too long")
        if "\x00" in value:
            raise InvalidRequest(f"{name} contains a NUL character")
    # RFC 6749 §3.1: a parameter sent without a value is treated as if it were omitted.
    return MappingProxyType({k: v for k, v in params.items() if v != ""})


def check_grant_value(params: Mapping[str, str], max_lengths: Mapping[str, int], *,
                      default_max_length: int) -> None:
    """Refuse a code or refresh token longer than any issued, reading no store.

    Spec: RFC 6749 §5.2 (invalid_grant).
    """
    name = GRANT_VALUES.get(params.get("grant_type", ""))
    if name is not None and len(params.get(name, "")) > max_lengths.get(name, default_max_length):
        raise InvalidGrant(f"{name} is not one this server issued")


def parse_query(query: str, *, max_query: int, max_lengths: Mapping[str, int],
                default_max_length: int) -> Mapping[str, str]:
    """Return the parameters of a URL query string, with the same checks as a form body."""
    return parse_form(query.encode("latin-1", "replace"), FORM_CONTENT_TYPE,
                      max_body=max_query, max_lengths=max_lengths,
                      default_max_length=default_max_length)
