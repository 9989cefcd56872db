"""Parse back-channel form posts: one value per name, bounded sizes, UTF-8, fast refusals.

Spec: RFC 6749 §3.2 (POST, application/x-www-form-urlencoded, parameters sent without a value
are treated as omitted, parameters must not be repeated).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from urllib.parse import parse_qsl

from identity.errors import InvalidRequest

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
MAX_FIELDS: Final = 50


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
    for name, value in params.items():
        if len(value) > max_lengths.get(name, default_max_length):
            raise InvalidRequest(f"{name} is too long")
        if "\x00" in value:
            raise InvalidRequest(f"{name} contains a NUL character")
    # RFC 6749 §3.1: a parameter sent without a value is treated as if it were omitted.
    return MappingProxyType({k: v for k, v in params.items() if v != ""})


def parse_query(query: str, *, max_query: int, max_lengths: Mapping[str, int],
                default_max_length: int) -> Mapping[str, str]:
    """Return the parameters of a URL query string, with the same checks as a form body."""
    return parse_form(query.encode("latin-1", "replace"), FORM_CONTENT_TYPE,
                      max_body=max_query, max_lengths=max_lengths,
                      default_max_length=default_max_length)
