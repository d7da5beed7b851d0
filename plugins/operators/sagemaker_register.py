"""``RegisterModelVersionOperator``: the provider's model registration, with the serving environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerRegisterModelVersionOperator


class RegisterModelVersionOperator(SageMakerRegisterModelVersionOperator):
    """``SageMakerRegisterModelVersionOperator`` whose model package carries its container's environment.

    The provider's operator (apache-airflow-providers-amazon 9.39.0) registers only ``Image`` and
    ``ModelDataUrl``, and its ``extras`` are not templated, so they cannot carry values from XCom. A
    framework (script-mode) model needs its environment (``SAGEMAKER_PROGRAM``,
    ``SAGEMAKER_SUBMIT_DIRECTORY``, ...) in the package, as the SageMaker SDK's ``Model.register()``
    sends it: a model deployed from a package without it serves nothing, for the framework's model
    server finds no entry point to load the model with.

    :param environment: the serving container's ``Environment`` (templated), e.g.
        ``include.sagemaker_requests.script_mode.serving_environment(...)``; empty registers none.
    :param content_types: the package's ``SupportedContentTypes`` (the provider's ``["text/csv"]``).
    :param response_types: the package's ``SupportedResponseMIMETypes`` (the provider's ``["text/csv"]``).

    Every other parameter is the provider operator's; keys of ``extras`` still override the request's.
    """

    template_fields: Sequence[str] = (*SageMakerRegisterModelVersionOperator.template_fields, "environment")

    def __init__(
        self,
        *,
        environment: Mapping[str, str] | None = None,
        content_types: Sequence[str] = ("text/csv",),
        response_types: Sequence[str] = ("text/csv",),
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.environment = environment
        self.content_types = content_types
        self.response_types = response_types

    def execute(self, context: Any) -> str:
        container = {"Image": self.image_uri, "ModelDataUrl": self.model_url}
        if self.environment:
            container["Environment"] = {str(key): str(value) for key, value in self.environment.items()}
        specification = {
            "Containers": [container],
            "SupportedContentTypes": list(self.content_types),
            "SupportedResponseMIMETypes": list(self.response_types),
        }
        self.extras = {"InferenceSpecification": specification, **(self.extras or {})}
        return super().execute(context)
