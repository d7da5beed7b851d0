"""Serve a model directory through a framework serving image's own handler service, as its model server would.

Run in a framework environment that holds the image's serving toolkit:

    python handler_service_driver.py sagemaker_mxnet_serving_container.handler_service MODEL_DIR \
        < requests.csv > answers.jsonl

``MODEL_DIR`` is laid out as a model.tar.gz unpacks: the saved model, and the entry point under ``code/``
(``SAGEMAKER_PROGRAM`` names it). Each input line is one ``text/csv`` request; each output line is a JSON
object with the answer's body, content type and error status (null when the handlers set none), in order.
"""

from __future__ import annotations

import importlib
import json
import os
import sys


class RequestProcessor:
    """The part of a multi-model-server request processor the handlers use: the request's headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return self.headers


class Context:
    """The part of multi-model-server's ``Context`` the handlers use."""

    def __init__(self, model_dir: str, headers: dict[str, str]) -> None:
        self.system_properties = {"model_dir": model_dir}
        self.request_processor = [RequestProcessor(headers)]
        self.content_types: dict[int, str] = {}
        self.status: tuple[int, str] | None = None

    def set_response_content_type(self, index: int, content_type: str) -> None:
        self.content_types[index] = content_type

    def set_response_status(self, code: int = 200, phrase: str = "") -> None:
        self.status = (code, phrase)


def main(handler_module: str, model_dir: str) -> None:
    # The model server starts its workers with the unpacked code directory on the path.
    sys.path.insert(0, os.path.join(model_dir, "code"))
    context = Context(model_dir, {"Content-Type": "text/csv"})
    service = importlib.import_module(handler_module).HandlerService()
    service.initialize(context)
    for line in sys.stdin:
        context.content_types.clear()
        context.status = None
        [answer] = service.handle([{"body": line.encode()}], context)
        if isinstance(answer, bytes):
            answer = answer.decode()
        record = {"body": answer, "content_type": context.content_types.get(0), "status": context.status}
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
