"""Sphinx configuration of the identity server's documentation.

Build: .venv/bin/sphinx-build -W -b html docs docs/_build/html
Everything works offline: built-in theme, no intersphinx, graphviz through the local `dot`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

project = "identity"
author = "the identity server authors"
copyright = "the identity server authors"
# The one version of the distribution, read without importing Django.
release = re.search(r'^__version__ = "([^"]+)"', (ROOT / "identity" / "__init__.py")
                    .read_text(encoding="utf-8"), re.M).group(1)
version = release

extensions = ["sphinx.ext.graphviz"]
graphviz_output_format = "svg"

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []
highlight_language = "none"
pygments_style = "sphinx"

html_theme = "alabaster"
html_theme_options = {
    "description": "OAuth 2.0 / OpenID Connect token service for Django",
    "page_width": "1100px",
    "sidebar_width": "240px",
    "show_relbars": True,
}
html_static_path: list[str] = []
html_title = f"identity {release}"
html_show_sourcelink = False
