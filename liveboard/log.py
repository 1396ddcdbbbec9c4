"""Logging for the `liveboard` command and the processes it starts."""
from __future__ import annotations

import logging

# `liveboard run` reports what it did once a minute on this logger, even when quiet
STATUS_LOGGER = "liveboard.status"


def configure_logging(verbose: bool) -> None:
    """Quiet by default: commands print what the user needs with click.echo, and libraries
    (Alembic, werkzeug, APScheduler, kafka-python) only warnings. `-v` shows every library's log."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    logging.getLogger(STATUS_LOGGER).setLevel(logging.INFO)
    logging.getLogger("kafka").setLevel(logging.INFO if verbose else logging.WARNING)  # DEBUG: every byte
    if not verbose:
        # werkzeug sets its own logger to INFO on first use (one line per request) unless a level is set
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # APScheduler warns on every skipped overlapping run; the supervisor and /healthz report
        # failed jobs, so only its errors are worth a line here
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
