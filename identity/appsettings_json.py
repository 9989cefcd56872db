"""Read JSON text as ASP.NET Core reads appsettings.json, into plain Python data.

Accepted beyond strict JSON: `//` and `/* */` comments, trailing commas, and a bare member
pasted from IdentityServer's documentation (`"IdentityServer": {...}` without outer braces),
read as if wrapped in braces. No input ends in a traceback: nesting is bounded by MAX_DEPTH, NaN
and Infinity are refused, and a number no column can hold is kept as an UnstorableNumber for the
caller to report. Every error names the source, line and column in the text as the user wrote it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final, NamedTuple

from identity.errors import JsonTextError as JsonTextError  # importable from here too

# System.Text.Json's default MaxDepth; real documents nest about 5 deep. Checked before decoding,
# whose recursion a deeper document would exhaust.
MAX_DEPTH: Final = 64
# One token at a time, outside strings; a run of strings and plain values is one token, so that
# a large document costs one loop turn per bracket or comma, not per character.
_TOKEN: Final = re.compile(r"""
    (?P<plain>(?:"(?:[^"\\]|\\.)*"|[^"/\[\]{},A-Za-z])+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<unclosed>/\*)
  | (?P<open>[\[{]) | (?P<close>[\]}]) | (?P<comma>,)
  | (?P<word>[A-Za-z]+)
  | (?P<other>.)
""", re.S | re.X)
_NOT_NEWLINE: Final = re.compile(r"[^\r\n]")




class UnstorableNumber:
    """A number literal no column can hold (1e400, a thousand digits): kept for the message."""

    def __init__(self, literal: str) -> None:
        digits = len(literal.lstrip("-"))
        self.shown = literal if len(literal) <= 24 else f"a number of {digits} digits"

    def __repr__(self) -> str:
        return self.shown


class Decoded(NamedTuple):
    """What the text holds, and whether it was a bare member that was read as if in braces."""

    data: Any
    bare_member: bool


def loads(text: str, source: str = "document") -> Decoded:
    """Decode appsettings-style JSON text, raising JsonTextError that names `source`.

    Strict JSON (exports, most files) is decoded in one call. Anything else goes through
    `_plain_json`, a loop in Python about ten times slower, which also finds where a problem is.
    """
    hooks: dict[str, Any] = {"parse_int": _int_literal, "parse_float": _float_literal,
                             "parse_constant": _refuse_constant}
    try:
        data = json.loads(text, **hooks)
    except (json.JSONDecodeError, _NotJson, RecursionError):
        pass
    else:
        if _depth(data) <= MAX_DEPTH:
            return Decoded(data, False)
    clean, bare = _plain_json(text, source)
    try:
        return Decoded(json.loads("{" + clean + "}" if bare else clean, **hooks), bare)
    except json.JSONDecodeError as exc:
        # The braces added around a bare member are not in the text the user sees.
        at = min(max(exc.pos - bare, 0), len(text))
        raise JsonTextError(f"{source}: invalid JSON at {_line_column(text, at)}: "
                            f"{exc.msg}") from None


def is_json_text(value: str) -> bool:
    """Tell whether `value` is JSON text rather than a file name.

    It is text when its first character after whitespace and comments is `{`, `[` or `"` (a bare
    member), or when it opens a `/*` comment that never closes, so that `loads` reports that.
    """
    for match in _TOKEN.finditer(value):
        token = match.group().lstrip()
        if match.lastgroup == "comment" or not token:
            continue
        return match.lastgroup == "unclosed" or token[0] in '{["'
    return False


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def _depth(data: Any) -> int:
    """Return how deep objects and lists nest, without recursion."""
    if not isinstance(data, dict | list):
        return 0
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _plain_json(text: str, source: str) -> tuple[str, bool]:
    """Return `text` as strict JSON, and whether it is a bare member to wrap in braces.

    Comments become spaces (line breaks kept) and a trailing comma one space, so every position
    stays where it was in `text` and an error can point into the original.
    """
    pieces: list[str] = []
    depth = 0
    comma: int | None = None  # the piece holding a comma that may turn out to be trailing
    last = ""  # the kind of the last token that was not a comment or whitespace
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup or "", match.group()
        if kind == "comment":
            pieces.append(_NOT_NEWLINE.sub(" ", token))
            continue
        if kind == "plain" and token.isspace():
            pieces.append(token)
            continue
        if kind == "unclosed":
            raise _text_error(text, match.start(), source, "a /* comment is not closed with */.")
        if kind == "word" and token in ("NaN", "Infinity"):
            raise _text_error(text, match.start(), source, f"{token} is not a JSON number.")
        if kind == "open":
            depth += 1
            if depth > MAX_DEPTH:
                raise JsonTextError(
                    f"{source}: {_line_column(text, match.start())}: the document nests deeper "
                    f"than {MAX_DEPTH} levels; an IdentityServer document needs fewer than 10 "
                    f"(System.Text.Json, which reads appsettings.json, stops at {MAX_DEPTH} too).")
        elif kind == "close":
            depth = max(depth - 1, 0)
            if comma is not None:
                pieces[comma] = " "
        comma = len(pieces) if kind == "comma" and last not in ("open", "comma", "") else None
        last = kind
        pieces.append(token)
    clean = "".join(pieces)
    if comma is not None and _is_bare_member(clean):  # `"IdentityServer": {...},`
        pieces[comma] = " "
        clean = "".join(pieces)
    return clean, _is_bare_member(clean)


def _is_bare_member(clean: str) -> bool:
    """Tell whether the text starts with a string followed by a colon: `"Name": value`."""
    start = len(clean) - len(clean.lstrip())
    if not clean.startswith('"', start):
        return False
    try:
        _, end = json.JSONDecoder().raw_decode(clean, start)
    except json.JSONDecodeError:
        return False
    return clean[end:].lstrip().startswith(":")


def _line_column(text: str, at: int) -> str:
    line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    return f"line {line}, column {column}"


def _text_error(text: str, at: int, source: str, message: str) -> JsonTextError:
    return JsonTextError(f"{source}: invalid JSON at {_line_column(text, at)}: {message}")


def _int_literal(literal: str) -> int | UnstorableNumber:
    # Python refuses to read more than 4,300 digits (ValueError): stop long before.
    return int(literal) if len(literal) <= 24 else UnstorableNumber(literal)


def _float_literal(literal: str) -> float | UnstorableNumber:
    value = float(literal)
    return value if math.isfinite(value) else UnstorableNumber(literal)
