"""AWS-shaped errors: a code, a message and the HTTP status real AWS answers with.

botocore reads the error code from the ``x-amzn-ErrorType`` header or the body's ``__type`` and turns
it into ``ClientError`` (or a modelled exception such as ``sagemaker-runtime``'s ``ModelError``), so
raising one of these anywhere in a request handler gives clients exactly what AWS would have sent.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error response. ``fields`` are extra members of the error body (``OriginalStatusCode``...)."""

    def __init__(self, code: str, message: str, status: int = 400, **fields):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields

    def body(self) -> dict:
        """The JSON error document botocore parses (``__type`` plus ``message``/``Message``)."""
        return {"__type": self.code, "message": self.message, "Message": self.message, **self.fields}


def validation(message: str) -> ServiceError:
    """SageMaker's ``ValidationException`` (HTTP 400): bad input and, by AWS's convention, unknown names."""
    return ServiceError("ValidationException", message)


def resource_in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUse", message)


def resource_not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFound", message)
