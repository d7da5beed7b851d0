"""``Resumable``: what makes a provider SageMaker create operator safe to retry, written once.

Resource names are fixed per DAG run, so a retry finds what its first try created and carries on from
there: it attaches to the resource, or creates it, and then waits for it the same way in every operator.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, ClassVar

from airflow.providers.amazon.aws.operators.sagemaker import serialize
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from botocore.exceptions import ClientError

from operators.sagemaker_errors import describe_or_none, is_refusal

JOB_RUNNING = ("InProgress", "Stopping")
ENDPOINT_RUNNING = ("Creating", "Updating", "SystemUpdating")
# The provider's SageMakerTrigger default, for operators without a max_attempts of their own.
TRIGGER_MAX_ATTEMPTS = 480
# Switched off while the provider's execute creates the resource: the wait is this mixin's.
WAIT_SETTINGS = ("wait_for_completion", "deferrable", "print_log")


class Resumable:
    """Mixin, first among the bases of a provider SageMaker create operator, whose ``execute`` attaches to
    the resource an earlier try created or creates it (:meth:`_attach_or_create`), then waits for it.

    The wait is the same in every operator: with ``wait_for_completion`` (where the operator has it) and
    ``deferrable=True`` a resource that is still running is waited for in the triggerer, so it holds no
    worker slot, whether this try created it or an earlier one did; otherwise it is described every
    ``check_interval`` seconds. A resource that ends failed or stopped fails the task with
    ``AirflowFailException`` naming its ``FailureReason``, as does a create request SageMaker refuses as
    invalid: retrying either cannot help.

    A subclass says what its resource is:

    - ``kind``: its name in the task log and in errors (``"training job"``);
    - ``name_key`` and ``section``: where its name is in ``config`` (``config[section][name_key]``, or
      ``config[name_key]`` when ``config`` has no ``section``);
    - ``describe``: the ``SageMakerHook`` method describing it;
    - ``status_key``, ``running`` and ``done``: its status in the description, the statuses it waits
      through and the one it ends well in (no ``status_key``: it is ready once it exists);
    - ``trigger_type``: the ``SageMakerTrigger`` job type that waits for it;
    - ``result_key``: the key of its description in the XCom result (or override :meth:`_result`);
    - ``replace_failed``: one an earlier try left failed or stopped is left alone and a new one created
      under a timestamped name (the provider's ``action_if_job_exists="timestamp"``), rather than failing
      the task.
    """

    kind: ClassVar[str]
    name_key: ClassVar[str]
    section: ClassVar[str | None] = None
    describe: ClassVar[str]
    status_key: ClassVar[str | None] = None
    running: ClassVar[tuple[str, ...]] = JOB_RUNNING
    done: ClassVar[str] = "Completed"
    trigger_type: ClassVar[str | None] = None
    replace_failed: ClassVar[bool] = False
    result_key: ClassVar[str] = ""

    def execute(self, context: Any) -> dict:
        return self._attach_or_create(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict:
        event = event or {}
        name = event.get("job_name") or self._name()
        if event.get("status") in ("failed", "stopped"):
            raise AirflowFailException(f"SageMaker resource failed because {event.get('message')}")
        if event.get("status") != "success":
            # A timeout, say: a retry attaches to the same resource and waits again.
            raise AirflowException(f"Error while waiting for {self.kind} {name}: {event}")
        self.log.info("SageMaker %s %s is %s.", self.kind, name, self.done)
        return self._result(name)

    def _attach_or_create(self, context: Any) -> dict:
        """Attach to the resource of this name an earlier try created, or create it; wait for it and
        return the operator's result."""
        name = self._name()
        existing = describe_or_none(getattr(self.hook, self.describe), name)
        status = existing.get(self.status_key) if existing and self.status_key else None
        usable = existing is not None and (status is None or status in (*self.running, self.done))
        if existing is None or (not usable and self.replace_failed):
            self._create(context)
            name = self._name()  # the provider may have timestamped it
        elif not usable:
            raise AirflowFailException(
                f"{self.kind.capitalize()} {name} from an earlier try is {status}: "
                f"{existing.get('FailureReason', 'no reason given')}. Start a new DAG run to create it again."
            )
        else:
            self.log.info(
                "%s %s already exists%s: using it instead of creating another.",
                self.kind.capitalize(),
                name,
                f" ({status})" if status else "",
            )
        self._wait_for(name)
        return self._result(name)

    def _name(self) -> str:
        return self.config.get(self.section, self.config)[self.name_key]

    def _create(self, context: Any) -> None:
        """The provider's ``execute`` (its config checks, S3 set-up, unique names, create requests),
        without its wait."""
        settings = {setting: getattr(self, setting) for setting in WAIT_SETTINGS if hasattr(self, setting)}
        for setting in settings:
            setattr(self, setting, False)
        try:
            super().execute(context)
        except ClientError as error:
            if is_refusal(error):
                raise AirflowFailException(
                    f"SageMaker refused to create {self.kind} {self._name()}: "
                    f"{error.response['Error'].get('Message')}"
                ) from error
            raise
        finally:
            for setting, value in settings.items():
                setattr(self, setting, value)

    def _wait_for(self, name: str) -> None:
        if not self.status_key or not getattr(self, "wait_for_completion", True):
            return
        if self.deferrable and self._describe(name)[self.status_key] in self.running:
            self._defer(name)
        self._poll(name)

    def _describe(self, name: str) -> dict:
        return getattr(self.hook, self.describe)(name)

    def _poll(self, name: str) -> None:
        """Describe the resource every ``check_interval`` seconds until it is no longer running (calling
        :meth:`_on_poll` with each description); fail the task unless it ended ``done``."""
        previous = None
        waited = 0
        while True:
            description = self._describe(name)
            self._on_poll(name, description, previous)
            previous = description
            status = description[self.status_key]
            if status not in self.running:
                break
            if self.max_ingestion_time and waited > self.max_ingestion_time:
                raise AirflowException(f"SageMaker job took more than {self.max_ingestion_time} seconds")
            time.sleep(self.check_interval)
            waited += self.check_interval
        if status != self.done:
            reason = description.get("FailureReason") or "it stopped"
            raise AirflowFailException(
                f"SageMaker resource failed because {reason} ({self.kind} {name} is {status})"
            )

    def _on_poll(self, name: str, description: dict, previous: dict | None) -> None:
        """Called with each description :meth:`_poll` reads (and the one before it)."""

    def _defer(self, name: str) -> None:
        self.defer(
            trigger=SageMakerTrigger(
                job_name=name,
                job_type=self.trigger_type,
                waiter_delay=self.check_interval,
                waiter_max_attempts=getattr(self, "max_attempts", None) or TRIGGER_MAX_ATTEMPTS,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.max_ingestion_time) if self.max_ingestion_time else None,
        )

    def _result(self, name: str) -> dict:
        """The operator's XCom result: ``{<result key>: <description>}`` by default."""
        return {self.result_key: serialize(self._describe(name))}
