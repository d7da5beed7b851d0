"""The recordIO tests import their independent wire-format encoder (``recordio_wire_reference``) from here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
