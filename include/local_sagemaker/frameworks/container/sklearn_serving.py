"""The scikit-learn image's serving contract, on AWS's inference toolkit.

The image's own serving package is not published on PyPI; what it does is documented and open
(aws/sagemaker-scikit-learn-container ``src/sagemaker_sklearn_container/serving.py``, and the SageMaker
SDK's "Deploy a Scikit-learn model" guide): the module that ``SAGEMAKER_PROGRAM`` names, and no other,
supplies the handlers; ``model_fn`` is required; the defaults decode the request into a NumPy array (CSV,
JSON or NPY; text as float32), call ``model.predict`` and encode the prediction as the ``Accept`` type
asks. The inference toolkit's transformer, decoder and encoder do the rest, as in the other framework
images.
"""

from __future__ import annotations

import os

import numpy
from sagemaker_inference import content_types, decoder, encoder, errors, model_server
from sagemaker_inference.default_handler_service import DefaultHandlerService
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.transformer import Transformer

# The scikit-learn image's words when no model_fn is given (its default_model_fn).
NO_MODEL_FN = (
    "Please provide a model_fn implementation. "
    "See documentation for model_fn at https://github.com/aws/sagemaker-python-sdk"
)


def _supported(convert, data, content_type):
    # The image answers a type it cannot decode or encode with 415 (its transformer's mapping of
    # UnsupportedFormatError); the inference toolkit's transformer would make it a 500.
    try:
        return convert(data, content_type)
    except errors.UnsupportedFormatError as error:
        raise errors.GenericInferenceToolkitError(415, str(error)) from error


class HandlerService(DefaultHandlerService):
    # Nested: a model server takes the one class a handler module defines as its service.
    class DefaultHandlers(DefaultInferenceHandler):
        def default_model_fn(self, model_dir, context=None):
            raise NotImplementedError(NO_MODEL_FN)

        def default_input_fn(self, input_data, content_type, context=None):
            array = _supported(decoder.decode, input_data, content_type)
            # As the image does: text payloads become float32 (one CSV row stays one-dimensional).
            return array.astype(numpy.float32) if content_type in content_types.UTF8_TYPES else array

        def default_predict_fn(self, data, model, context=None):
            return model.predict(data)

        def default_output_fn(self, prediction, accept, context=None):
            return _supported(encoder.encode, prediction, accept), accept

    def __init__(self):
        super().__init__(transformer=Transformer(default_inference_handler=self.DefaultHandlers()))

    def initialize(self, context):
        # The inference toolkit would fall back to a module named "inference"; this image loads none.
        if not os.environ.get("SAGEMAKER_PROGRAM"):
            raise NotImplementedError(
                f"{NO_MODEL_FN} (the model's environment sets no SAGEMAKER_PROGRAM, so the scikit-learn "
                "model server loaded no user module to take model_fn from)"
            )
        super().initialize(context)


def main() -> None:
    model_server.start_model_server(handler_service=__name__)
