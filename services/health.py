"""How the deployment is doing: each background component from its heartbeat
(configstore/heartbeats.py), the writer's lag, and the figures `/healthz`, `/metrics` and the
console's overview show. A writer that is down or too far behind makes the deployment unhealthy."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from configstore import heartbeats
from configstore.heartbeats import Beat
from services.runtime import Runtime

COMPONENTS = ("writer", "scheduler", "connector")
STALE_AFTER_BEATS = 3  # a component silent for this many beat intervals is taken for dead


def _fresh(beat: Beat, now: datetime, beat_seconds: float) -> bool:
    return (now - beat.beat_at).total_seconds() <= STALE_AFTER_BEATS * beat_seconds


def components(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Per component: status (running | restarting | down), its live instances, restarts, last error."""
    now, beat_seconds = runtime.clock.now(), runtime.settings.heartbeat_seconds
    beats = heartbeats.read_all(runtime.sessions)
    out: dict[str, dict[str, Any]] = {}
    for name in COMPONENTS:
        mine = [b for b in beats if b.component == name]
        live = [b for b in mine if _fresh(b, now, beat_seconds) and b.state != "stopped"]
        running = [b for b in live if b.state == "running"]
        if not mine and name == "connector":
            continue  # no connector has ever run here: nothing to report
        errors = sorted((b for b in mine if b.last_error_at), key=lambda b: b.last_error_at or now)
        out[name] = {
            "status": "running" if running else ("restarting" if live else "down"),
            "instances": [{"instance": b.instance, "state": b.state, "started_at": b.started_at.isoformat(),
                           "beat_at": b.beat_at.isoformat(), "restarts": b.restarts, **(b.figures or {})}
                          for b in live],
            "restarts": sum(b.restarts for b in mine),
            "last_error": errors[-1].last_error if errors else "",
            "last_error_at": errors[-1].last_error_at.isoformat() if errors and errors[-1].last_error_at else None,
        }
        if name == "writer":
            lags = [int(b.figures["lag"]) for b in running if b.figures and b.figures.get("lag") is not None]
            out[name]["lag"] = sum(lags) if lags else None
            batches = [float(b.figures["last_batch_at"]) for b in live if b.figures and b.figures.get("last_batch_at")]
            out[name]["last_batch_at"] = (datetime.fromtimestamp(max(batches), now.tzinfo).isoformat()
                                          if batches else None)
        if name == "scheduler":
            runs = [str(b.figures["last_ranking_at"]) for b in live if b.figures and b.figures.get("last_ranking_at")]
            out[name]["last_ranking_at"] = max(runs) if runs else None
            seconds = [float(b.figures["last_ranking_seconds"]) for b in live
                       if b.figures and b.figures.get("last_ranking_seconds") is not None]
            out[name]["last_ranking_seconds"] = max(seconds) if seconds else None
        if name == "connector":  # totals since each live worker started
            for figure in ("completed", "events", "retried", "dead_lettered"):
                out[name][figure] = sum(int((b.figures or {}).get(figure) or 0) for b in live)
    return out


def health(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 503 when no writer is running or the writers' lag is over the bound."""
    found = components(runtime)
    writer = found["writer"]
    problems = []
    if writer["status"] != "running":
        problems.append("writer_down")
    elif (writer.get("lag") or 0) > runtime.settings.health_max_writer_lag:
        problems.append("writer_lagging")
    body = {"status": "unhealthy" if problems else "ok", "problems": problems,
            "event_log": runtime.settings.event_log, "store": runtime.settings.store,
            "max_writer_lag": runtime.settings.health_max_writer_lag, "components": found,
            "counters": runtime.metrics.snapshot()}
    return (503 if problems else 200), body
