"""AWS-shaped errors: a code, a message and the HTTP status real AWS answers with.

botocore reads the error code from the ``x-amzn-ErrorType`` header or the body's ``__type`` and turns
it into ``ClientError`` (or a modelled exception such as ``sagemaker-runtime``'s ``ModelError``), so
raising one of these anywhere in a request handler gives clients exactly what AWS would have sent.

AWS's constraint errors share one text, built here and nowhere else: each broken constraint is
``Value 'v' at 'member.path' failed to satisfy constraint: Member must ...`` (``Value null at ...``
for a missing member), and the message counts them: ``1 validation error detected: <one>`` or
``2 validation errors detected: <one>; <two>``.
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


def member_path(parent: str, member: str) -> str:
    """AWS's path to a member: lowerCamelCase names joined by dots (``resourceConfig.volumeSizeInGB``).

    AWS lower-cases only the first letter, so ``S3DataSource`` is ``s3DataSource``.
    """
    name = member[:1].lower() + member[1:]
    return f"{parent}.{name}" if parent else name


def violation(path: str, constraint: str, shown: str | None, hidden: bool = False) -> str:
    """One broken constraint in AWS's words; ``shown`` is the value as AWS prints it, None for null.

    ``hidden`` leaves the value out (``Value at 'body' ...``), as AWS does for blobs.
    """
    value = "Value" if hidden else "Value null" if shown is None else f"Value '{shown}'"
    return f"{value} at '{path}' failed to satisfy constraint: {constraint}"


def validation_errors(violations: list[str]) -> ServiceError:
    """The ValidationException for one or more :func:`violation` texts, counted and joined as AWS does."""
    count = len(violations)
    noun = "validation error" if count == 1 else "validation errors"
    return validation(f"{count} {noun} detected: {'; '.join(violations)}")


def resource_in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUse", message)


def resource_not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFound", message)
