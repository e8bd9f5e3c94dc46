"""Start real servers on 127.0.0.1 for integration tests and wait for them without sleeping blindly.

The implementation is :mod:`bench.harness`'s (one start/wait/stop for benches and tests alike).
"""

from __future__ import annotations

import sys

from bench.harness import free_port, wait_http
from bench.harness import process as run_process

__all__ = ["free_port", "python_argv", "run_process", "wait_http"]


def python_argv(*args: str) -> list[str]:
    """argv that runs ``python -m ...`` with the interpreter running the tests."""
    return [sys.executable, *args]
