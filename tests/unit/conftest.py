"""Unit tests of the validators: no HTTP, no database; hypothesis writes nothing in the checkout."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

# As tests/fuzz does: hypothesis caches Unicode tables in its home; keep it out of the checkout.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "identity-unit-hypothesis")
