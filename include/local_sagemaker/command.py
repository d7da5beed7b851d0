"""The command line that starts the engine as its own process."""

from __future__ import annotations

import sys
from pathlib import Path


def serve_command(state_dir: str | Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """``python -m include.local_sagemaker serve ...`` with this interpreter."""
    return [
        sys.executable, "-m", "include.local_sagemaker", "serve",
        "--host", host, "--port", str(port), "--state-dir", str(state_dir),
    ]  # fmt: skip
