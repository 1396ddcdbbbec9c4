"""The host-milestone job: after each ranking run has published the campaign boards, hosts whose net
GMV passed one of the campaign's milestones get it recorded and one 销售里程碑 message enqueued
(services.notices.enqueue_milestone_pushes). Runs whether or not WeChat is configured, so hits are
recorded either way and turning WeChat on later sends nothing stale."""
from __future__ import annotations

import logging
from typing import Any

from services.notices import enqueue_milestone_pushes
from services.runtime import Runtime
from wechat.pushes import PushTemplates

log = logging.getLogger(__name__)


def _run(runtime: Runtime, templates: PushTemplates) -> None:
    try:
        enqueue_milestone_pushes(runtime.sessions, templates, runtime.clock.now())
    except Exception:  # the next tick tries again; hits are recorded with their messages, or not at all
        log.exception("host milestone run failed")


def add_milestone_job(scheduler: Any, runtime: Runtime) -> None:
    scheduler.add_job(_run, "interval", seconds=runtime.settings.ranking_interval_seconds,
                      args=(runtime, PushTemplates.from_settings(runtime.settings)), id="host-milestones",
                      max_instances=1, coalesce=True)
