"""The SageMaker control plane (awsJson 1.1, ``X-Amz-Target: SageMaker.<Operation>``): the dispatcher.

Each resource family is a module of its own whose object answers its operations with methods named
``_op_<Operation>`` (:mod:`~include.local_sagemaker.training_jobs`, :mod:`~include.local_sagemaker.models`,
:mod:`~include.local_sagemaker.endpoints`, :mod:`~include.local_sagemaker.transform_jobs`,
:mod:`~include.local_sagemaker.tuning_jobs`, :mod:`~include.local_sagemaker.model_registry`,
:mod:`~include.local_sagemaker.tags`), on the shared layer of
:mod:`~include.local_sagemaker.api_support`. Every request is first checked against botocore's service
model (:mod:`~include.local_sagemaker.request_validation`), then handed to its family's handler.
"""

from __future__ import annotations

from collections.abc import Iterable

from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.request_validation import validate_request

__all__ = ["SageMakerApi"]

_HANDLER_PREFIX = "_op_"


class SageMakerApi:
    """Maps each SageMaker operation to the family that owns it, and calls that family's handler."""

    def __init__(self, families: Iterable[object]):
        self.families = tuple(families)
        self._owners: dict[str, object] = {}
        for family in self.families:
            for attribute in dir(family):
                if attribute.startswith(_HANDLER_PREFIX):
                    operation = attribute.removeprefix(_HANDLER_PREFIX)
                    if operation in self._owners:
                        raise ValueError(f"Two resource families answer {operation}")
                    self._owners[operation] = family

    def family_of(self, operation: str) -> object | None:
        """The family whose ``_op_<operation>`` answers ``operation``, None if the engine has none."""
        return self._owners.get(operation)

    def handle(self, operation: str, request: dict) -> dict:
        """Answer ``operation``: AWS's error for a request the service model refuses, else the handler's.

        Past validation, any exception but a ``ServiceError`` is an engine bug: it propagates, and the
        front door logs it with its traceback and answers 500 ``InternalFailure``.
        """
        family = self.family_of(operation)
        if family is None:
            raise ServiceError(
                "UnknownOperationException", f"The local SageMaker engine does not implement {operation}."
            )
        validate_request(operation, request)
        return getattr(family, _HANDLER_PREFIX + operation)(request)
