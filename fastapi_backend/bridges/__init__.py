"""The engine bridges of the legacy stack: the seam, the CLI bridge, the in-process one, the choice.

``protocol`` (the :class:`Bridge` seam and its errors), ``cli`` (:class:`CLIBridge`, seed 000's),
``inprocess`` (:class:`InProcessBridge`, for benchmarks of the HTTP layer alone) and ``factory``
(:func:`make_bridge`). Each implementation imports only the protocol, so none imports another.
"""

from fastapi_backend.bridges.cli import CLIBridge
from fastapi_backend.bridges.factory import make_bridge
from fastapi_backend.bridges.inprocess import InProcessBridge
from fastapi_backend.bridges.protocol import (
    TASK_NOT_FOUND,
    Bridge,
    BridgeError,
    BridgeFailure,
    BridgeInvalidInput,
    BridgeNotFound,
    BridgeTimeout,
    JsonDict,
)

__all__ = [
    "TASK_NOT_FOUND",
    "Bridge",
    "BridgeError",
    "BridgeFailure",
    "BridgeInvalidInput",
    "BridgeNotFound",
    "BridgeTimeout",
    "CLIBridge",
    "InProcessBridge",
    "JsonDict",
    "make_bridge",
]
