"""The README table of `IDENTITY` settings names every key of identity/conf.py and its default."""

from __future__ import annotations

import re

from identity.conf import DEFAULTS
from tests.helpers.servers import ROOT


def _table() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### `IDENTITY` settings", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.+?) \| .+ \|$", section, re.M)
    return dict(rows)


def test_every_setting_is_in_the_table_and_nothing_else() -> None:
    assert set(_table()) == set(DEFAULTS)


def test_the_table_gives_each_simple_default() -> None:
    for key, shown in _table().items():
        default = DEFAULTS[key]
        if isinstance(default, dict):
            continue  # INPUT_LENGTHS: summarised
        expected = "None" if default is None else (
            str(default) if not isinstance(default, list) else str(default).replace("'", '"'))
        assert shown.startswith(f"`{expected}`"), f"{key}: README says {shown}, code {default!r}"
