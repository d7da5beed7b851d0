"""No process the engine starts outlives it, and a container's processes end with the container.

The engine's fork server (``forkserver``) starts each container (``python -m
include.local_sagemaker.container`` for a training job, an endpoint's model server or a batch transform)
in a session and process group of its own, with its own pid in ``LOCAL_SAGEMAKER_PARENT_PID``; the fork
server has the engine's. Four rules (Linux only) leave nothing behind:

1. A container dies with the engine. The fork server watches the engine's process (a pidfd); once it
   is gone, even by SIGKILL, the fork server SIGKILLs all its descendants and exits. A container
   watches its parent pid; once it has been re-parented, the fork server is gone, and the container
   SIGKILLs all its descendants, then exits. These are watches, not ``PR_SET_PDEATHSIG``: the
   parent-death signal fires when the *thread* that forked the child exits, and the engine starts the
   fork server from whichever short-lived thread first needs it.
2. A container takes its processes with it. It is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so
   a descendant whose parent exits, or that leaves the process group (``setsid``), is re-parented to
   it rather than to init and stays findable as its descendant in ``/proc``; when the container ends
   (it finished, the engine stopped it with SIGTERM, or the engine died) it SIGKILLs all its
   descendants. (A training container running a built-in algorithm still dies at SIGTERM at once;
   rule 4 covers it, as such algorithms start no process outside the group.)
3. A user's script (script mode), or a framework image's own process (its training toolkit or model
   server, which starts the script), dies with its container however the container dies: it is started
   with ``PR_SET_PDEATHSIG(SIGKILL)``. Here the thread caveat does not bite: the container's main
   thread forks it and lives as long as the container. Whatever that process starts in turn is the
   container's descendant, and rule 2 covers it.
4. Once a container's main process has exited, the engine SIGKILLs what is left of its process group,
   as SageMaker removes a container whose main process ended.

What can outlive its container: a process that left its container's group and whose container was
SIGKILLed before it could clean up (the kernel offers no hook at SIGKILL). The fork server, a subreaper
too, adopts it and ends it with the engine. A PID namespace or cgroup per container would end it with
its container, at the price of privileges the engine does not ask for.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable

PARENT_PID_VARIABLE = "LOCAL_SAGEMAKER_PARENT_PID"
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_WATCH_INTERVAL_SECONDS = 0.5
_libc = ctypes.CDLL(None, use_errno=True)
# Whether this process is a container the engine started: only then are its descendants its own.
_container = False


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl({option}, {value}): {os.strerror(error)}")


def become_container() -> None:
    """Adopt orphaned descendants and die with the fork server that started this container, which dies
    with the engine (rules 1 and 2); does nothing when the engine did not start this process."""
    parent = int(os.environ.get(PARENT_PID_VARIABLE) or 0)
    if not parent:
        return
    adopt_orphans()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_INTERVAL_SECONDS)
        kill_descendants()
        os._exit(137)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def adopt_orphans() -> None:
    """Become a child subreaper (rule 2): a descendant whose parent exits stays this process's, and
    ``kill_descendants`` ends it."""
    global _container
    _container = True
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def kill_descendants(timeout: float = 5.0) -> None:
    """SIGKILL every living descendant of this container, again until none is left or ``timeout``
    passes (a process may fork between a scan of ``/proc`` and its kill; its child is found next round).

    Does nothing in a process that is not a container (say a test calling an algorithm directly):
    there the descendants are not the container's to end.
    """
    if not _container:
        return
    deadline = time.monotonic() + timeout
    while (pids := _living_descendants(os.getpid())) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def wait_for_group(poll: float = 0.05) -> None:
    """Wait until no descendant of this process is left in its process group: those the engine's
    SIGTERM reached have finished (the engine's SIGKILL bounds the wait). Descendants that left the
    group got no SIGTERM and are not waited for; ``kill_descendants`` ends them."""
    group = os.getpgid(0)
    while _living_descendants(os.getpid(), group):
        time.sleep(poll)


def _living_descendants(root: int, group: int | None = None) -> list[int]:
    """Living descendants of ``root``; with ``group``, only those in that process group."""
    children: dict[int, list[int]] = {}
    living: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except OSError:  # it exited meanwhile
            continue
        # The fields after the command name, which is in parentheses and may hold spaces and ')'.
        state, parent, process_group = stat[stat.rindex(b")") + 2 :].split()[:3]
        children.setdefault(int(parent), []).append(int(entry.name))
        # A zombie is dead already; its parent reaps it.
        if state not in (b"Z", b"X") and (group is None or int(process_group) == group):
            living.add(int(entry.name))
    found, pending = [], [root]
    while pending:
        for child in children.get(pending.pop(), ()):
            found.append(child)
            pending.append(child)
    return [pid for pid in found if pid in living]


def dies_with_this_process() -> Callable[[], None]:
    """A ``preexec_fn`` that arms ``PR_SET_PDEATHSIG(SIGKILL)`` in the child (rule 3).

    The signal fires when the forking *thread* ends: fork from a thread that lives as long as this
    process (its main thread).
    """
    parent = os.getpid()
    prctl = _libc.prctl  # looked up before the fork: the child only makes the call

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent ended before the signal was armed
            os._exit(137)

    return arm


def kill_process_group(group: int) -> None:
    """SIGKILL what is left of a container's process group once its main process has exited (rule 4)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
