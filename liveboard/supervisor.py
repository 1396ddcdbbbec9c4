"""Supervised background components: a crashed one is restarted with backoff and counted, and every
component reports a heartbeat (configstore/heartbeats.py) so `/healthz`, `/metrics` and the
console see a dead, restarting or stuck worker — never a silently dead thread.

`liveboard run` supervises the writer and the scheduler beside the API; `liveboard consume` and
`liveboard schedule` supervise their one component each.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from configstore import heartbeats
from configstore.heartbeats import Beat
from domain.clock import SYSTEM_CLOCK, Clock
from liveboard.log import STATUS_LOGGER

log = logging.getLogger(__name__)
status_log = logging.getLogger(STATUS_LOGGER)


@dataclass
class Component:
    """A long-running piece: `run(stop)` works until `stop` is set (it may raise: it is restarted);
    `figures()` says what it has done lately (for heartbeats and the minute's status line)."""

    name: str
    run: Callable[[threading.Event], None]
    figures: Callable[[], dict[str, Any]] = dict
    summary: Callable[[dict[str, Any], dict[str, Any]], str] | None = None  # (before, now) -> status text
    # filled in while supervised
    state: str = "starting"
    restarts: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None
    started_at: datetime | None = None
    thread: threading.Thread | None = None


def _wait(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


@dataclass
class Supervisor:
    sessions: sessionmaker[Session]
    clock: Clock = SYSTEM_CLOCK
    beat_seconds: float = 5.0
    status_seconds: float = 60.0
    max_backoff_s: float = 60.0
    wait: Callable[[threading.Event, float], bool] = _wait  # tests hold a restart here
    stop: threading.Event = field(default_factory=threading.Event)
    components: list[Component] = field(default_factory=list)
    instance_prefix: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    _threads: list[threading.Thread] = field(default_factory=list)

    def add(self, component: Component) -> Component:
        self.components.append(component)
        return component

    def start(self) -> "Supervisor":
        for component in self.components:
            component.started_at = self.clock.now()
            component.thread = threading.Thread(target=self._keep_running, args=(component,),
                                                name=f"supervised-{component.name}", daemon=True)
            component.thread.start()
            self._threads.append(component.thread)
        reporter = threading.Thread(target=self._report_loop, name="supervisor-heartbeats", daemon=True)
        reporter.start()
        self._threads.append(reporter)
        return self

    def _keep_running(self, component: Component) -> None:
        failures = 0
        while not self.stop.is_set():
            component.state = "running"
            try:
                component.run(self.stop)
                if self.stop.is_set():
                    break
                raise RuntimeError("returned while it should keep running")
            except Exception as exc:  # a component must never take the process (or its thread) down quietly
                failures += 1
                component.restarts += 1
                component.state = "restarting"
                component.last_error = f"{type(exc).__name__}: {exc}"[:500]
                component.last_error_at = self.clock.now()
                backoff = min(self.max_backoff_s, 2.0 ** min(failures - 1, 6))
                log.exception("%s crashed (restart %d in %.0fs)", component.name, component.restarts, backoff)
                self._beat(component)
                if self.wait(self.stop, backoff):
                    break
        component.state = "stopped"

    def _beat(self, component: Component) -> None:
        figures = _figures(component)
        error, error_at = _latest_error(component, figures)
        try:
            heartbeats.report(self.sessions, Beat(
                component.name, f"{self.instance_prefix}-{component.name}", component.started_at or self.clock.now(),
                self.clock.now(), component.state, component.restarts, error, error_at, figures))
        except Exception:  # the config store may be down for a moment: the next beat tries again
            log.warning("heartbeat of %s not recorded", component.name, exc_info=True)

    def _report_loop(self) -> None:
        previous = {c.name: _figures(c) for c in self.components}
        next_status = self.clock.monotonic() + self.status_seconds
        while True:
            for component in self.components:
                self._beat(component)
            if self.clock.monotonic() >= next_status:
                next_status = self.clock.monotonic() + self.status_seconds
                lines = []
                for component in self.components:
                    now = _figures(component)
                    if component.summary is not None:
                        lines.append(component.summary(previous[component.name], now))
                    previous[component.name] = now
                if lines:
                    status_log.info("；".join(lines))
            if self.stop.wait(self.beat_seconds):
                break
        for component in self.components:  # the last word: stopped
            self._beat(component)

    def shutdown(self, timeout: float = 10) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)


def _latest_error(component: Component, figures: dict[str, Any]) -> tuple[str, datetime | None]:
    """The component's last crash, or the last error it handled itself (a store outage waited out, a
    failed job) when that is newer: figures carry it as `last_error` / `last_error_at` (epoch s)."""
    handled, handled_at = figures.get("last_error") or figures.get("last_job_error"), figures.get("last_error_at")
    if handled and handled_at:
        at = datetime.fromtimestamp(float(handled_at), timezone.utc)
        if component.last_error_at is None or at > component.last_error_at:
            return str(handled)[:500], at
    return component.last_error, component.last_error_at


def _figures(component: Component) -> dict[str, Any]:
    try:
        return dict(component.figures())
    except Exception:  # figures are best effort; a component's own thread owns its state
        return {}


@dataclass
class ChildProcesses:
    """N copies of one command as child processes (`liveboard consume --processes N`), kept running:
    a child that exits while the group should run is started again after a backoff (doubling from
    1 s, at most `max_backoff_s`, reset by a child that ran a minute), and counted. `stop` ends them
    all: SIGTERM, then SIGKILL for one that has not exited within `grace_s`."""

    command: list[str]
    count: int
    clock: Clock = SYSTEM_CLOCK
    max_backoff_s: float = 60.0
    grace_s: float = 20.0
    wait: Callable[[threading.Event, float], bool] = _wait
    once: bool = False  # children that exit 0 are done (one-off runs), and so is the group when all are
    stop: threading.Event = field(default_factory=threading.Event)
    restarts: int = 0
    _children: list[Any] = field(default_factory=list)

    def _spawn(self):
        import subprocess

        return subprocess.Popen(self.command)

    def run(self) -> None:
        """Start the children and keep them running until `stop` is set; then stop them."""
        self._children = [self._spawn() for _ in range(self.count)]
        started = [self.clock.monotonic()] * self.count
        failures = [0] * self.count
        due: dict[int, float] = {}  # slot -> when its replacement starts
        try:
            while not self.wait(self.stop, 0.5):
                now = self.clock.monotonic()
                for slot, child in enumerate(self._children):
                    if slot in due:
                        if now >= due[slot]:
                            del due[slot]
                            self._children[slot], started[slot] = self._spawn(), now
                        continue
                    if child.poll() is None or (self.once and child.returncode == 0):
                        continue
                    failures[slot] = 1 if now - started[slot] > 60 else failures[slot] + 1
                    backoff = min(self.max_backoff_s, 2.0 ** (failures[slot] - 1))
                    self.restarts += 1
                    log.error("writer process %d (pid %d) exited with %s; starting another in %.0fs",
                              slot + 1, child.pid, child.returncode, backoff)
                    due[slot] = now + backoff
                if self.once and not due and all(c.poll() == 0 for c in self._children):
                    break
        finally:
            self._stop_children()

    def _stop_children(self) -> None:
        import signal

        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = self.clock.monotonic() + self.grace_s
        for child in self._children:
            try:
                child.wait(timeout=max(0.0, deadline - self.clock.monotonic()))
            except Exception:  # still running after the grace period
                child.kill()
                child.wait()

    def pids(self) -> list[int]:
        return [child.pid for child in self._children if child.poll() is None]
