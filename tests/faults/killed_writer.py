"""A sales writer process that kills itself (SIGKILL) right after its Nth insert, before the commit:
the crash the exactly-once tests need, injected from outside the product's code.

    python -m tests.faults.killed_writer [N]     (settings from LIVEBOARD_* like `liveboard consume`)
"""
from __future__ import annotations

import os
import signal
import sys
import threading

from liveboard.wiring import build_writer
from settings import Settings


def main(argv: list[str]) -> None:
    kill_after = int(argv[0]) if argv else 1
    inserts = 0

    def after_insert(_outcome) -> None:
        nonlocal inserts
        inserts += 1
        if inserts >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    build_writer(Settings.from_env(), after_insert=after_insert).run(threading.Event())


if __name__ == "__main__":
    main(sys.argv[1:])
