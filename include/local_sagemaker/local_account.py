"""STS and IAM as a local account would answer them (the AWS query protocol: form in, XML out).

Clients check who they are and what their role may do before they start work: the Airflow
connection's Test button calls ``sts:GetCallerIdentity``, the SageMaker SDK v3's ``ModelTrainer``
validates its role with ``iam:SimulatePrincipalPolicy``. Local mode has one account and no policies,
so every principal of that account is allowed everything; a principal of another account does not
exist here. Any other service gets an AWS-shaped error in the protocol it speaks, never another
service's answer.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from include.local_sagemaker.names import ACCOUNT_ID

_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
_XML = "text/xml"
_LOCAL_USER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/local"
_PRINCIPAL_ARN = re.compile(r"arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):(role|user|assumed-role)/(?:.*/)?([^/]+)$")


def _element(name: str, content: str) -> str:
    return f"<{name}>{content}</{name}>"


def _members(form: dict[str, str], name: str) -> list[str]:
    """A query-protocol list: ``Name.member.1``, ``Name.member.2``..."""
    values, index = [], 1
    while (value := form.get(f"{name}.member.{index}")) is not None:
        values.append(value)
        index += 1
    return values


class LocalAccountError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class LocalAccount:
    """Answers ``handle(service, query, body, content_type) -> (status, content type, body)``."""

    def handle(
        self, service: str, query: bytes, body: bytes, content_type: str = ""
    ) -> tuple[int, str, bytes]:
        form = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
        form.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        action = form.get("Action", "")
        request_id = str(uuid.uuid4())
        try:
            if service not in _NAMESPACES:
                raise LocalAccountError(
                    "UnknownOperationException",
                    f"The local SageMaker engine does not provide the {service!r} service; it serves S3, "
                    "SageMaker, SageMaker runtime, CloudWatch Logs, STS and IAM.",
                )
            handler = getattr(self, f"_{service}_{action}", None)
            if handler is None:
                raise LocalAccountError(
                    "InvalidAction", f"The action {action or '(none)'} is not valid for this web service."
                )
            result = handler(form)
        except LocalAccountError as error:
            if content_type.startswith("application/x-amz-json"):  # a JSON-protocol service (SQS...)
                document = {"__type": error.code, "message": error.message}
                return error.status, content_type, json.dumps(document).encode()
            return error.status, _XML, self._error(service, error, request_id).encode()
        namespace = _NAMESPACES[service]
        document = (
            f'<{action}Response xmlns="{namespace}">'
            f"{_element(f'{action}Result', result)}"
            f"{_element('ResponseMetadata', _element('RequestId', request_id))}"
            f"</{action}Response>"
        )
        return 200, _XML, document.encode()

    @staticmethod
    def _error(service: str, error: LocalAccountError, request_id: str) -> str:
        namespace = _NAMESPACES.get(service, _NAMESPACES["sts"])
        return (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
            f"{_element('Code', error.code)}{_element('Message', escape(error.message))}</Error>"
            f"{_element('RequestId', request_id)}</ErrorResponse>"
        )

    # -- STS --------------------------------------------------------------------------------------
    def _sts_GetCallerIdentity(self, form: dict) -> str:
        return (
            _element("Arn", _LOCAL_USER_ARN)
            + _element("UserId", "AIDALOCALSAGEMAKER0001")
            + _element("Account", ACCOUNT_ID)
        )

    # -- IAM --------------------------------------------------------------------------------------
    @staticmethod
    def _principal(arn: str) -> tuple[str, str]:
        """``(kind, name)`` of a principal of the local account; NoSuchEntity for any other."""
        match = _PRINCIPAL_ARN.fullmatch(arn or "")
        if match is None or match.group(1) != ACCOUNT_ID:
            raise LocalAccountError(
                "NoSuchEntity",
                f"The principal {arn!r} does not exist: the local account {ACCOUNT_ID} has every role "
                f"and user named arn:aws:iam::{ACCOUNT_ID}:role/<name> or :user/<name>.",
                404,
            )
        return match.group(2), match.group(3)

    def _iam_SimulatePrincipalPolicy(self, form: dict) -> str:
        self._principal(form.get("PolicySourceArn", ""))
        actions = _members(form, "ActionNames")
        if not actions:
            raise LocalAccountError("ValidationError", "ActionNames must name at least one action.")
        resources = _members(form, "ResourceArns") or ["*"]
        results = "".join(
            _element(
                "member",
                _element("EvalActionName", escape(action))
                + _element("EvalResourceName", escape(resource))
                + _element("EvalDecision", "allowed")
                + "<MatchedStatements/><MissingContextValues/>",
            )
            for action in actions
            for resource in resources
        )
        return _element("IsTruncated", "false") + _element("EvaluationResults", results)

    def _iam_GetRole(self, form: dict) -> str:
        name = form.get("RoleName", "")
        if not re.fullmatch(r"[\w+=,.@-]{1,64}", name):
            raise LocalAccountError("ValidationError", f"RoleName {name!r} is not a valid role name.")
        trust = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
            '{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        )
        role = (
            _element("Path", "/")
            + _element("RoleName", escape(name))
            + _element("RoleId", "AROALOCALSAGEMAKER001")
            + _element("Arn", f"arn:aws:iam::{ACCOUNT_ID}:role/{escape(name)}")
            + _element("CreateDate", "2024-01-01T00:00:00Z")
            + _element("AssumeRolePolicyDocument", escape(trust))
            + _element("MaxSessionDuration", "3600")
        )
        return _element("Role", role)
