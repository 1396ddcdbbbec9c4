"""Shared plumbing for the native dev/test services: ports, child processes, readiness, logs.

Every service runs as a child process in its own session (so a Ctrl-C in the terminal or a
signal to the test runner's process group does not hit it half-way), and with a parent-death
signal (Linux PR_SET_PDEATHSIG): if the Python process that started it dies for any reason,
even SIGKILL, the kernel kills the service too, so nothing is left running. A graceful stop is
also registered with atexit.

Note: the parent-death signal fires when the *thread* that spawned the child exits, so always
spawn services from a long-lived thread (the main thread in pytest and in the CLI).
"""
from __future__ import annotations

import atexit
import concurrent.futures
import ctypes
import os
import random
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Iterable, Sequence

LOG_TAIL_LINES = 40

# --------------------------------------------------------------------------------------------
# ports

_handed_out: set[int] = set()
_ports_lock = threading.Lock()


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def _port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    # Also refuse ports something listens on via another address (e.g. 0.0.0.0 / ::).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) != 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now and was not handed out before in this process.

    Ports are drawn below the kernel's ephemeral range, so the port cannot be taken meanwhile
    as the source port of some outgoing connection (this matters for restart(), which leaves
    the port unbound for a few seconds).
    """
    eph_lo, _ = _ephemeral_range()
    lo, hi = 20000, max(20001, min(eph_lo, 32768))
    with _ports_lock:
        for _ in range(500):
            port = random.randrange(lo, hi)
            if port in _handed_out or not _port_is_free(port, host):
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free TCP port found in {lo}..{hi} on {host}")


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


# --------------------------------------------------------------------------------------------
# logs

def tail(path: Path | str, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def logs_report(paths: Iterable[Path | str], lines: int = LOG_TAIL_LINES) -> str:
    parts = []
    for path in paths:
        text = tail(path, lines)
        if text.strip():
            parts.append(f"--- last {lines} lines of {path} ---\n{text}")
    return "\n".join(parts) if parts else "(the service wrote no log)"


# --------------------------------------------------------------------------------------------
# child processes

_PR_SET_PDEATHSIG = 1
# PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process. A service
# restarted from a short-lived thread (a fault injector) would be killed when that thread
# returns, so every long-running service is forked from this one thread, alive until exit.
_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="devservices-spawner")


def _child_setup(parent_pid: int) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec (after any setuid)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except Exception:  # pragma: no cover - non-Linux: atexit is all we have
            pass
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
    return setup


def run_checked(cmd: Sequence[str], *, log_path: Path, what: str, cwd: Path | None = None,
                env: dict | None = None, user: str | None = None, timeout: float = 300) -> None:
    """Run a one-shot command (init step), output to ``log_path``; RuntimeError with its log on failure."""
    kwargs = _user_kwargs(user)
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.run(list(cmd), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  cwd=cwd, env=env, timeout=timeout, start_new_session=True,
                                  preexec_fn=_child_setup(os.getpid()), **kwargs)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"{what} failed: {exc}\n{logs_report([log_path])}") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n"
                           f"{logs_report([log_path])}")


def _user_kwargs(user: str | None) -> dict:
    if not user:
        return {}
    import grp
    import pwd
    pw = pwd.getpwnam(user)
    groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": groups}


def user_can_traverse(path: Path, user: str) -> bool:
    """Whether ``user`` may reach ``path`` (x permission on every ancestor directory)."""
    import grp
    import pwd
    pw = pwd.getpwnam(user)
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    path = Path(path).resolve()
    for directory in [path, *path.parents]:
        st = directory.stat()
        if pw.pw_uid == 0:
            continue
        if st.st_uid == pw.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in gids:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def make_base_dir(prefix: str = "liveboard-services-") -> Path:
    """A fresh temp dir that a service user (e.g. 'postgres') can traverse."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def wait_until(check: Callable[[], bool], *, timeout: float, what: str,
               proc: subprocess.Popen | None = None, logs: Sequence[Path] = (),
               interval: float = 0.1) -> None:
    """Poll ``check`` until it returns true; RuntimeError (with log tails) when ``proc`` exits or
    ``timeout`` seconds pass. Exceptions from ``check`` count as 'not yet'."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with code {proc.returncode} before it was ready\n"
                               f"{logs_report(logs)}")
        try:
            if check():
                return
        except Exception as exc:  # not ready yet
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last probe error: {last_error!r})" if last_error else ""
            raise RuntimeError(f"{what}: not ready after {timeout:.0f}s{detail}\n{logs_report(logs)}")
        time.sleep(interval)


_live: "weakref.WeakSet[Service]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for service in list(_live):
        try:
            service.stop()
        except Exception:
            pass


class Service:
    """Base class: one long-running child process with a data dir that survives restarts.

    Subclasses set ``name`` and implement ``_prepare()`` (one-time set-up: ports, config, init),
    ``_command()`` and ``_ready()``; they may override ``stop_signal`` and ``_log_files()``.
    """

    name = "service"
    stop_signal = signal.SIGTERM
    run_as: str | None = None  # OS user for the child process (None = the current user)

    def __init__(self, base_dir: Path | str, *, startup_timeout: float = 90, stop_timeout: float = 30):
        self.base_dir = Path(base_dir)
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.root: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._log_handle = None
        self._prepared = False
        self._began = 0.0
        self.startup_seconds: float | None = None  # how long the last start() took

    # -- to implement ----------------------------------------------------------------------
    def _prepare(self) -> None:
        raise NotImplementedError

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _log_files(self) -> list[Path]:
        return [self.log_path]

    def _env(self) -> dict | None:
        return None

    # -- public API ------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self._root / f"{self.name}.log"

    @property
    def _root(self) -> Path:
        if self.root is None:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            self.root = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.base_dir))
            self.root.chmod(0o755)
        return self.root

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> "Service":
        """Start the service (no-op when running) and wait until it answers; RuntimeError with
        the last lines of its log when it does not."""
        if self.running:
            return self
        self.launch()
        return self.wait_ready()

    def launch(self) -> "Service":
        """The first half of start(): prepare once and spawn the process, without waiting. Members
        of a cluster are launched together first, as none of them is ready before a quorum is."""
        if self.running:
            return self
        self._began = time.monotonic()
        self._root  # noqa: B018 - creates the service dir
        if not self._prepared:
            self._prepare()
            self._prepared = True
        self._spawn()
        return self

    def wait_ready(self) -> "Service":
        """The second half of start(): wait until the launched process answers (killing it and
        raising RuntimeError with its log tail when it does not)."""
        try:
            wait_until(self._ready, timeout=self.startup_timeout, what=f"{self.name} did not start",
                       proc=self._proc, logs=self._log_files())
        except BaseException:
            self.kill()
            raise
        self.startup_seconds = time.monotonic() - self._began
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Graceful stop (the service's stop signal), SIGKILL after ``timeout`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(self.stop_signal)  # the main process shuts its children down
            except ProcessLookupError:
                pass
            try:
                proc.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait()
        self._reap()

    def kill(self) -> None:
        """SIGKILL the service and everything in its process group (for fault tests)."""
        proc = self._proc
        if proc is None:
            return
        self._signal_group(signal.SIGKILL)
        proc.wait()
        self._reap()

    def restart(self) -> "Service":
        """Stop (if running) and start again on the same ports, keeping the data dir."""
        self.stop()
        return self.start()

    def __enter__(self) -> "Service":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------
    def _spawn(self) -> None:
        self._log_handle = open(self.log_path, "ab")
        self._log_handle.write(f"===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name} =====\n".encode())
        self._log_handle.flush()
        cmd = self._command()
        try:
            self._proc = _SPAWNER.submit(
                subprocess.Popen, cmd, stdout=self._log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self._root, env=self._env(), start_new_session=True,
                preexec_fn=_child_setup(os.getpid()), **_user_kwargs(self.run_as)).result()
        except OSError as exc:
            self._log_handle.close()
            self._log_handle = None
            raise RuntimeError(f"{self.name} could not be started ({' '.join(cmd)}): {exc}") from exc
        _live.add(self)

    def _signal_group(self, sig: int) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)  # start_new_session: the pgid is the child's pid
        except ProcessLookupError:
            pass

    def _reap(self) -> None:
        # Children of the service left in its group (e.g. postgres backends) die with it.
        self._signal_group(signal.SIGKILL)
        self._proc = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        _live.discard(self)


class ServiceGroup:
    """Several services that make one cluster, numbered from 1: started together (all launched
    before any is waited for, since members of a quorum are only ready once enough of them run),
    stopped together, and killed or restarted one at a time for fault tests."""

    def __init__(self, members: dict[int, Service]):
        self.members = members

    def in_service(self) -> list[Service]:
        """The members that start() starts (all, unless a subclass retires some for good)."""
        return list(self.members.values())

    def start(self) -> "ServiceGroup":
        """Start every member in service and wait until the group is ready; on failure stop them
        all and raise RuntimeError with the log tails."""
        members = self.in_service()
        try:
            for member in members:
                member.launch()
            for member in members:
                member.wait_ready()
            self._settle()
        except BaseException:
            self.stop()
            raise
        return self

    def _settle(self) -> None:
        """Hook: wait for what the group needs beyond each member answering."""

    def stop(self, timeout: float | None = None) -> None:
        """Every member's graceful stop, SIGKILL after `timeout` seconds (default: the member's own)."""
        # In parallel: a member stopped last may wait for peers that are already gone.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.members)) as pool:
            for stopped in [pool.submit(member.stop, timeout) for member in self.members.values()]:
                stopped.result()

    def kill(self, number: int) -> None:
        """SIGKILL one member; its data stays for restart(number)."""
        self.members[number].kill()

    def restart(self, number: int) -> None:
        """Stop (if running) and start one member on its ports and data; waits until it answers."""
        self.members[number].restart()

    def __enter__(self) -> "ServiceGroup":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
