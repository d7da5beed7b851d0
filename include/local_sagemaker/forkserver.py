"""Containers forked from a process that has already imported the algorithms' libraries.

A built-in algorithm's container is ``python -m include.local_sagemaker.container``; started afresh, each
one spends about 2.5 s of CPU importing scikit-learn, SciPy and XGBoost before it reads a byte, which
is most of what a small job or a model server's start costs. The engine's process instead starts one
fork server (``python -m include.local_sagemaker.forkserver``) that imports them once, and asks it to
fork each container. The child then becomes the container a fresh interpreter would have been:

- its own session and process group, working directory, environment and output pipe (stdin is
  ``/dev/null``), its command line rewritten to ``python -m include.local_sagemaker.container ...``;
- what a fresh interpreter would have read from its environment at start-up: ``sys.path`` from the
  working directory and ``PYTHONPATH``, the OpenMP and BLAS thread pools' sizes (``OMP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``; the engine gives each host of a job its share of the cores), and unbuffered
  output (the engine's containers run with ``PYTHONUNBUFFERED=1``);
- NumPy's global random state is reseeded (``random`` reseeds itself after a fork);
- it ends through the interpreter's normal exit, so its exit code is what ``main`` returned, raised or
  was killed by.

The server answers the engine over a Unix socket: ``started`` with the child's pid, then ``exited`` with
its exit code once reaped (the engine is not the child's parent). It is a child subreaper, so whatever a
container leaves behind stays its descendant; when the engine's process ends, even by SIGKILL, the server
SIGKILLs all its descendants and exits (``process_tree``).
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from include.local_sagemaker import process_tree
from include.local_sagemaker.algorithms.registry import EXTRA_ALGORITHMS_VARIABLE

CONTAINER_MODULE = "include.local_sagemaker.container"
_MESSAGE_LIMIT = 1 << 20  # a request carries the container's whole environment
# A fresh interpreter's OpenMP and OpenBLAS read these at start-up, in this order of precedence.
_THREAD_VARIABLES = {
    "openmp": ("OMP_NUM_THREADS",),
    "blas": ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"),
}


class ForkServerGone(RuntimeError):
    """The fork server exited before it started the container."""


class ForkedProcess:
    """A container the fork server started: the part of ``subprocess.Popen`` the engine uses."""

    def __init__(self, pid: int, arguments: list[str], stdout: io.BufferedReader):
        self.pid = pid
        self.args = [sys.executable, "-m", CONTAINER_MODULE, *arguments]
        self.stdout = stdout
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode


@dataclass
class _Request:
    """A container asked for and not yet started: the server answers requests in the order sent."""

    arguments: list[str]
    output: int  # the read end of the container's output pipe
    answered: threading.Event = field(default_factory=threading.Event)
    process: ForkedProcess | None = None
    error: str = ""


class ForkServer:
    """The engine's side: starts the server, asks it for containers, and hears of their exits.

    One per engine process (``shared()``), started on first use or ahead of it (``start``), and
    started again if it ever exits.
    """

    def __init__(self):
        self._lock = threading.Lock()  # orders requests as the server answers them
        self._control: socket.socket | None = None
        self._requests: collections.deque[_Request] = collections.deque()
        self._children: dict[int, ForkedProcess] = {}
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        """Start the server now: it takes a few seconds to import, better spent before the first job."""
        with self._lock:
            self._started()

    def spawn(
        self, arguments: list[str], environment: dict[str, str], cwd: Path | None = None
    ) -> ForkedProcess:
        """Fork ``python -m include.local_sagemaker.container <arguments>`` with ``environment``, in
        ``cwd``; its stdout and stderr are the returned process's ``stdout``."""
        output, container_output = os.pipe()
        request = _Request(arguments, output)
        message = {"arguments": arguments, "environment": environment, "cwd": str(cwd or os.getcwd())}
        try:
            with self._lock:
                control = self._started()
                self._requests.append(request)
                try:
                    socket.send_fds(control, [json.dumps(message).encode()], [container_output])
                except OSError as error:
                    self._requests.remove(request)
                    raise ForkServerGone(f"The container fork server is gone: {error}") from error
        except BaseException:
            os.close(output)
            raise
        finally:
            os.close(container_output)
        request.answered.wait()
        if request.process is None:
            os.close(output)
            raise ForkServerGone(request.error)
        return request.process

    def _started(self) -> socket.socket:
        if self._control is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            # The server imports the built-in algorithms only: an extra algorithm module is each
            # container's to import, so that a broken one fails the containers that need it, with its
            # traceback in their logs, and not the server.
            environment = {**os.environ, process_tree.PARENT_PID_VARIABLE: str(os.getpid())}
            environment.pop(EXTRA_ALGORITHMS_VARIABLE, None)
            with theirs:
                server = subprocess.Popen(
                    [sys.executable, "-m", __name__, str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # a terminal's Ctrl-C is the engine's to handle
                )
            self._control = ours
            self._listener = threading.Thread(
                target=self._listen, args=(ours, server), name="forkserver", daemon=True
            )
            self._listener.start()
        return self._control

    def close(self) -> None:
        """End the server, which SIGKILLs every container it started (a running engine's containers
        end with its process: this is for a server of one's own)."""
        with self._lock:
            control, listener = self._control, self._listener
        if control is not None:
            with contextlib.suppress(OSError):
                control.shutdown(socket.SHUT_RDWR)
            listener.join()

    def _listen(self, control: socket.socket, server: subprocess.Popen) -> None:
        """Hand each started container to its request and each exit code to its process, until the
        server is gone; its containers are then gone too (it SIGKILLs them as it ends)."""
        while message := _receive(control):
            event = json.loads(message)
            if "exited" in event:
                self._children.pop(event["exited"])._exit(event["code"])
                continue
            request = self._requests.popleft()
            if "started" in event:
                request.process = ForkedProcess(
                    event["started"], request.arguments, os.fdopen(request.output, "rb")
                )
                self._children[event["started"]] = request.process
            else:
                request.error = event["error"]
            request.answered.set()
        code = server.wait()
        with self._lock:
            self._control = None
            control.close()
            for request in self._requests:
                request.error = (
                    f"The container fork server exited with code {code} before it started the container"
                )
                request.answered.set()
            self._requests.clear()
        for child in self._children.values():
            child._exit(-signal.SIGKILL)
        self._children.clear()


def _receive(control: socket.socket) -> bytes:
    try:
        return control.recv(_MESSAGE_LIMIT)
    except OSError:
        return b""


_shared: tuple[int, ForkServer] | None = None
_shared_lock = threading.Lock()


def shared() -> ForkServer:
    """This process's fork server (a process forked from this one gets a server of its own)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), ForkServer())
        return _shared[1]


# The server's side.


@dataclass
class _Launch:
    """What a forked child runs: the container's arguments, environment, directory and output."""

    arguments: list[str]
    environment: dict[str, str]
    cwd: str
    output: int


@dataclass(frozen=True)
class _StartUp:
    """What a fresh interpreter takes from outside its environment's variables: its thread pools' default
    sizes, and the ``sys.path`` entries after its working directory and ``PYTHONPATH``."""

    threads: dict[str, int]
    library_path: list[str]


def _search_path(environment: dict[str, str]) -> list[str]:
    """``PYTHONPATH``'s entries as the interpreter puts them on ``sys.path`` (an empty one is the working
    directory)."""
    setting = environment.get("PYTHONPATH")
    return [os.path.abspath(entry) for entry in setting.split(os.pathsep)] if setting else []


def _preload() -> _StartUp:
    """Import what containers import; returns what a fresh start gives them apart from its environment."""
    import numpy  # noqa: F401
    import threadpoolctl

    from include.local_sagemaker import container  # noqa: F401
    from include.local_sagemaker.algorithms import registry

    registry.known_repositories()  # imports every built-in algorithm (the server has no extra one)
    return _StartUp(
        threads={pool["user_api"]: pool["num_threads"] for pool in threadpoolctl.threadpool_info()},
        library_path=sys.path[1 + len(_search_path(os.environ)) :],
    )


def _serve(control: socket.socket, parent: int) -> _Launch | None:
    """Fork a container per request until the engine's process is gone; returns, in a forked child, what
    that child is to run, and ``None`` in the server once it is time to exit."""
    process_tree.adopt_orphans()
    try:
        engine = os.pidfd_open(parent)
    except ProcessLookupError:
        return None
    if os.getppid() != parent:  # the engine ended before it could be watched
        return None
    start_up = _preload()
    wakeup, woken = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(woken, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD writes to ``woken``
    selector = selectors.DefaultSelector()
    for source in (control, wakeup, engine):
        selector.register(source, selectors.EVENT_READ)
    children: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.fileobj == wakeup:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wakeup, 4096):
                        pass
                for pid, code in _reaped():
                    if pid in children:
                        children.discard(pid)
                        if not _tell(control, {"exited": pid, "code": code}):
                            return None
                continue
            if key.fileobj == engine:
                return None
            message, fds, _, _ = socket.recv_fds(control, _MESSAGE_LIMIT, 1)
            if not message:
                return None
            request = json.loads(message)
            try:
                pid = os.fork()
            except OSError as error:
                os.close(fds[0])
                if not _tell(control, {"error": f"Could not start the container: {error}"}):
                    return None
                continue
            if pid == 0:
                selector.close()
                for descriptor in (control.detach(), wakeup, woken, engine):
                    os.close(descriptor)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                launch = _Launch(request["arguments"], request["environment"], request["cwd"], fds[0])
                _become_fresh(launch, start_up)
                return launch
            os.close(fds[0])
            children.add(pid)
            if not _tell(control, {"started": pid}):
                return None


def _tell(control: socket.socket, event: dict) -> bool:
    """Send ``event`` to the engine; False if it is gone."""
    try:
        control.send(json.dumps(event).encode())
    except OSError:
        return False
    return True


def _reaped() -> list[tuple[int, int]]:
    """Every exited child (orphans adopted as subreaper included), with its ``Popen``-style exit code."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append((pid, os.waitstatus_to_exitcode(status)))


def _thread_limits(environment: dict[str, str], defaults: dict[str, int]) -> dict[str, int]:
    """The pool sizes a fresh interpreter with ``environment`` would start with."""
    limits = {}
    for pool, default in defaults.items():
        setting = next(
            (environment[name] for name in _THREAD_VARIABLES.get(pool, ()) if name in environment), ""
        )
        first = setting.split(",")[0].strip()
        limits[pool] = int(first) if first.isdigit() and int(first) > 0 else default
    return limits


def _become_fresh(launch: _Launch, start_up: _StartUp) -> None:
    """Turn this forked child into what ``python -m include.local_sagemaker.container`` started afresh
    in ``launch``'s directory, environment and output would be (see the module's docstring)."""
    import numpy
    import setproctitle
    import threadpoolctl

    # Before the environment changes: the title takes over the memory of the original environment.
    setproctitle.setproctitle(" ".join([sys.executable, "-m", CONTAINER_MODULE, *launch.arguments]))
    os.setsid()
    os.dup2(launch.output, 1)
    os.dup2(launch.output, 2)
    os.close(launch.output)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    sys.stdout = _unbuffered_text(1)
    sys.stderr = _unbuffered_text(2)
    os.chdir(launch.cwd)
    environment = {**launch.environment, process_tree.PARENT_PID_VARIABLE: str(os.getppid())}
    os.environ.clear()
    os.environ.update(environment)
    sys.path[:] = [os.getcwd(), *_search_path(environment), *start_up.library_path]
    threadpoolctl.threadpool_limits(_thread_limits(environment, start_up.threads))
    numpy.random.seed()
    sys.argv = [sys.modules[CONTAINER_MODULE].__file__, *launch.arguments]


def _unbuffered_text(descriptor: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.FileIO(descriptor, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )


def main(argv: list[str]) -> int:
    parent = int(os.environ[process_tree.PARENT_PID_VARIABLE])
    control = socket.socket(fileno=int(argv[0]))
    launch = _serve(control, parent)
    if launch is None:  # the engine is gone: so are its containers
        process_tree.kill_descendants()
        return 0
    from include.local_sagemaker import container

    return container.main(launch.arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
