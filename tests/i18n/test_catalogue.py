"""The French catalogue is committed compiled (the set-up has no compile step): every entry of
django.po is translated, none fuzzy, and django.mo says the same."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

MESSAGES = Path(__file__).resolve().parents[2] / "identity" / "locale" / "fr" / "LC_MESSAGES"
_ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.MULTILINE)


def _entries() -> dict[str, str]:
    text = (MESSAGES / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    return {"".join(ast.literal_eval(s) for s in msgid.split("\n") if s):
            "".join(ast.literal_eval(s) for s in msgstr.split("\n") if s)
            for msgid, msgstr in _ENTRY.findall(text)}


def test_every_message_is_translated_and_compiled() -> None:
    entries = {k: v for k, v in _entries().items() if k}  # "" is the header
    assert len(entries) > 50
    with (MESSAGES / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for msgid, msgstr in entries.items():
        assert msgstr.strip(), msgid
        assert compiled.gettext(msgid) == msgstr, msgid
        assert set(re.findall(r"%\(\w+\)s", msgid)) == set(re.findall(r"%\(\w+\)s", msgstr))
