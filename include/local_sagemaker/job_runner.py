"""The lifecycle every job runner shares: recover, start, stop, shut down, and end the job.

A :class:`JobRunner` runs the jobs whose documents live in one resource store, each on its own thread
(:class:`~include.local_sagemaker.job_threads.JobThreads`). A subclass names its store's status and name
fields, the reasons a job is failed with when the engine restarts or stops under it, and implements
``_execute`` (the job's work) and ``_finish`` (how its document records an end). Whatever ends
``_execute`` ends the job: a :class:`~include.local_sagemaker.failures.JobFailure` as ``Failed`` with its
reason, any other exception (an engine bug) as ``Failed`` with ``InternalServerError``, never stranded.
"""

from __future__ import annotations

from include.local_sagemaker.failures import JobFailure, failure_reason
from include.local_sagemaker.job_threads import JobThreads, RunningJob
from include.local_sagemaker.state import ResourceStore

__all__ = ["ACTIVE_STATUSES", "JobRunner"]

#: Statuses of a job whose thread is (or was, before a restart) still working on it.
ACTIVE_STATUSES = frozenset({"InProgress", "Stopping"})


class JobRunner:
    """Runs the jobs of one kind; see the module docstring for what a subclass provides."""

    #: Names the job threads (``<kind>-<job name>``).
    kind: str
    #: The document fields holding the job's status and its name (``TrainingJobStatus``, ...).
    status_field: str
    name_field: str
    #: ``FailureReason`` of a job that was running when the engine restarted (its work is lost).
    restart_reason: str
    #: ``FailureReason`` of a job the engine itself stopped by stopping (not a user's ``Stop*``).
    engine_stopped_reason = (
        "InternalServerError: The local SageMaker engine was stopped while this job was in progress. "
        "Start it again under a new name."
    )

    def __init__(self, jobs: ResourceStore):
        self.jobs = jobs
        self._threads = JobThreads(self.kind)

    # -- lifecycle ----------------------------------------------------------------------------
    def recover(self) -> None:
        """After a restart, jobs that were running are lost work: end them as Failed, never half-done."""
        for job in self.jobs.all():
            if job[self.status_field] in ACTIVE_STATUSES:
                self._finish(job[self.name_field], "Failed", FailureReason=self.restart_reason)

    def start(self, name: str) -> None:
        self._threads.start(name, self._run)

    def request_stop(self, name: str) -> None:
        """``Stop*``: raise the job's stop flag; its thread ends the job as Stopped."""
        self._threads.request_stop(name)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every running job (the engine is stopping) and wait for their threads."""
        self._threads.shutdown(timeout)

    # -- what a subclass implements -----------------------------------------------------------
    def _execute(self, name: str, running: RunningJob) -> None:
        """Do the job's work and end it (``_finish``), or raise :class:`JobFailure`."""
        raise NotImplementedError

    def _finish(self, name: str, status: str, **fields) -> None:
        """Record the job's end: its final ``status`` and any further document ``fields``."""
        raise NotImplementedError

    def _clean_up(self, name: str) -> None:
        """Remove what the job left on disk; runs after every job, however it ended."""

    def _fail(self, name: str, reason: str) -> None:
        self._finish(name, "Failed", FailureReason=failure_reason(reason))

    # -- one job ------------------------------------------------------------------------------
    def _run(self, name: str, running: RunningJob) -> None:
        try:
            self._execute(name, running)
        except JobFailure as failure:
            self._fail(name, failure.reason)
        except Exception as error:  # the engine's own bug must still end the job, not strand it
            self._fail(name, f"InternalServerError: {type(error).__name__}: {error}")
        finally:
            self._clean_up(name)

    def _raise_if_engine_stopping(self) -> None:
        """A job the engine itself interrupts by stopping did not stop at a user's request: it failed."""
        if self._threads.shutting_down:
            raise JobFailure(self.engine_stopped_reason)

    def _stopped(self, name: str, running: RunningJob) -> bool:
        """End the job as Stopped if it was asked to stop; True if it was."""
        if not running.stop_requested.is_set():
            return False
        self._raise_if_engine_stopping()
        self._finish(name, "Stopped")
        return True
