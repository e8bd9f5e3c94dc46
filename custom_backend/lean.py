"""What the server process keeps out of memory: imports the serve path never uses.

Resident memory is one of the figures this stack is compared on (``bench/backends.py``: custom ≤
0.5x the FastAPI baseline). ``python -m custom_backend`` calls ``keep_unused_imports_out`` before
importing the server; each item below was measured by resident memory right after the imports:

- ``structlog`` (~0.6 MiB, 22 modules; ``rich`` too when installed, ~5 MB): the app logs through
  ``custom_backend.logs``, which writes the same JSON lines. Not blocked, simply never imported.
- ``watchfiles`` (and the ``anyio`` it loads): ``uvicorn.supervisors`` tries it for ``--reload``,
  which this server never runs; uvicorn falls back to its stat reloader class (~0.9 MiB).
- uvicorn's CLI: ``uvicorn/__init__.py`` imports ``uvicorn.main`` for ``uvicorn.run``, and with it
  click and the worker supervisors (``multiprocessing``) — ~1.4 MiB for code ``server.run`` never
  calls. The package is registered without running its ``__init__`` and given ``Config``, which
  its lifespan modules import from it, and ``Server``, its other class; ``uvicorn.config`` and
  ``uvicorn.server`` are the unchanged modules ``uvicorn.run`` itself uses. Only in a process
  where uvicorn is not imported yet.
- ``importlib.metadata`` (~1.1 MiB with ``zipfile``, ``csv``, ``email.message`` and
  ``importlib.resources`` it loads): ``websockets.version`` imports it at the top and uses
  it only in a development checkout, reached through uvicorn's websockets-sansio protocol.
  It is registered as a stand-in (``_OnFirstUse``) that imports the real module on first
  use, so any caller still gets it.
- ``hashlib`` and ``secrets`` (~0.55 MiB: ``_hashlib``'s OpenSSL digest set-up, and ``hmac``):
  imported at the top of ``websockets.utils`` and ``websockets.frames``, used only for a handshake's
  accept key or a client's mask; the app compares keys without ``hmac`` (``custom_backend.auth``).
  Stand-ins as well: a WebSocket handshake or a scan (``engine.scanner``) loads the real modules.

``watchfiles`` is blocked (``None`` in ``sys.modules`` makes an import fail) and its importer takes
the fallback it has for a missing optional dependency. ``tests/custom_backend/test_lean.py`` pins
the list of modules the serve path must not load.

The uvicorn step relies on uvicorn's internals, which a 0.x minor release may change:
pyproject.toml pins uvicorn to the minor release it was checked against, and ``test_lean.py``
fails naming that pin when the installed uvicorn's modules take from the package a name other
than ``UVICORN_PACKAGE_NAMES``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any, Final

UNUSED_OPTIONAL_IMPORTS: Final = ("watchfiles",)
LOADED_ON_FIRST_USE: Final = ("importlib.metadata", "hashlib", "secrets")
# What uvicorn's own modules import from the package (``from uvicorn import
# Config``), and where each lives.
UVICORN_PACKAGE_NAMES: Final = {"Config": "uvicorn.config", "Server": "uvicorn.server"}


def keep_unused_imports_out() -> None:
    """Block unused optional imports, defer unused eager ones, load uvicorn without its CLI."""
    for name in UNUSED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "import fails" (importlib)
    for name in LOADED_ON_FIRST_USE:
        _defer_until_first_use(name)
    if "uvicorn" not in sys.modules:
        _import_uvicorn_without_cli()


def _defer_until_first_use(name: str) -> None:
    """Stand ``_OnFirstUse`` in for ``name``: importing binds it, using it imports the module."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:  # pragma: no cover - standard library modules
        return
    stand_in = _OnFirstUse(name)
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)


class _OnFirstUse(types.ModuleType):
    """A module not run yet: the first attribute it lacks imports the real one, which replaces it.

    Not ``importlib.util.LazyLoader``: on Python 3.11 a second ``import`` of a lazy module reads its
    ``__spec__`` (``_find_and_load``) and so runs it, which is exactly what ``websockets.version``
    does.
    """

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attribute)


def _import_uvicorn_without_cli() -> None:
    spec = importlib.util.find_spec("uvicorn")
    if spec is None:  # pragma: no cover - uvicorn is a dependency
        return
    package = importlib.util.module_from_spec(spec)
    sys.modules["uvicorn"] = package
    try:
        for name, module in UVICORN_PACKAGE_NAMES.items():
            setattr(package, name, getattr(importlib.import_module(module), name))
    except BaseException as exc:
        del sys.modules["uvicorn"]
        exc.add_note(
            "custom_backend.lean loads uvicorn's Config and Server without its __init__; "
            "pyproject.toml pins the uvicorn release that was checked against"
        )
        raise
