"""GET /healthz (is the deployment working: 503 when no writer runs or it is too far behind),
GET /livez (is this process up) and GET /metrics (Prometheus text format)."""
from __future__ import annotations

import os

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

from services.health import components, health
from services.runtime import Runtime, current_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    status, body = health(current_runtime())
    response = jsonify(body)
    response.status_code = status
    return response


@bp.get("/livez")
def livez():
    return jsonify({"status": "ok"})


class ComponentCollector:
    """Background components' figures, read at scrape time from their heartbeats (the config store),
    so every API process answers the same, whichever process the component runs in."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self):
        found = components(self.runtime)
        up = GaugeMetricFamily("liveboard_component_up", "1 when the component is running", labels=["component"])
        restarts = GaugeMetricFamily("liveboard_component_restarts", "Restarts after a crash, all instances",
                                     labels=["component"])
        for name, info in found.items():
            up.add_metric([name], 1.0 if info["status"] == "running" else 0.0)
            restarts.add_metric([name], float(info["restarts"]))
        yield up
        yield restarts
        writer = found.get("writer", {})
        instances = writer.get("instances", [])
        yield GaugeMetricFamily("liveboard_writer_lag", "Events in the log not stored yet",
                                value=float(writer.get("lag") or 0))
        for figure, help_text in (("inserted", "Events stored"), ("dead_lettered", "Records dead-lettered"),
                                  ("duplicates", "Repeats dropped"), ("conflicts", "Conflicting duplicates kept aside"),
                                  ("pending_refunds", "Refunds held until their order arrives")):
            yield GaugeMetricFamily(f"liveboard_writer_{figure}", f"{help_text} by the running writers",
                                    value=float(sum(int(i.get(figure) or 0) for i in instances)))
        scheduler = found.get("scheduler", {})
        yield GaugeMetricFamily("liveboard_ranking_seconds", "Duration of the last ranking run",
                                value=float(scheduler.get("last_ranking_seconds") or 0))
        leader = scheduler.get("leader")
        yield GaugeMetricFamily("liveboard_scheduler_leader_epoch",
                                "Epoch of the scheduler lease's live holder (0: no scheduler leads now)",
                                value=float(leader["epoch"]) if leader else 0.0)


@bp.get("/metrics")
def metrics():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn: sum every worker's counters
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)  # one process: its own counters
    registry.register(ComponentCollector(current_runtime()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
