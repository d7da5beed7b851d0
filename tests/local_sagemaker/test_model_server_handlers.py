"""The framework model server loads a handler service named as MMS names it (an import name) or as
TorchServe's toolkit does (``handler_service.__file__``)."""

from __future__ import annotations

import sys
from pathlib import Path

from include.local_sagemaker.frameworks.container import model_server

HANDLER = "class HandlerService:\n    kind = 'handler'\n"


def test_a_handler_module_is_loaded_by_file_or_by_import_name(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "my_handler.py").write_text(HANDLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    by_file = model_server._handler_service(str(tmp_path / "my_handler.py"))
    by_name = model_server._handler_service("my_handler")
    assert (type(by_file).__name__, by_file.kind) == ("HandlerService", "handler")
    assert (type(by_name).__name__, by_name.kind) == ("HandlerService", "handler")
    sys.modules.pop("my_handler", None)
