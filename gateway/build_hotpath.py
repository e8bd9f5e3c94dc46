"""Compile the gateway's per-request modules with mypyc:
``python -m gateway.build_hotpath [--clean|--check]``.

Every proxied request runs through these modules, and on this machine that Python is about
60 % of the gateway's CPU per request. mypyc (mypy's compiler, the one mypy and black ship
with) turns the same typed source into C extensions next to the ``.py`` files: callgrind
counted 104k → 58k instructions per proxied request (``bench/gateway.py`` load). Nothing else
changes — same source, same tests — and without a C compiler or Python's headers the build is
skipped and the gateway runs as plain Python.

The same build (one group, one shared runtime) compiles the shadow sidecar's per-exchange modules
(``gateway/shadow/``: service, workers, sender, policy, exchanges, evidence, noise, windows,
metrics, contract_check, samples): callgrind counted 313k → 236k instructions per shadowed exchange
in the sidecar process (100 % shadowing, 10 % same-backend probes, both responses checked against
the ``llmstruct`` contract, 853-byte JSON body, the gateway's own modules compiled in both figures).
Not compiled: ``sidecar_wire`` (its frozen dataclasses are pickled across the socket, which a native
class refuses), ``sidecar`` (run with ``python -m``, which needs a ``.py``), ``config`` (parsing,
not per exchange) and ``contracts`` (the per-check work is in orjson and jsonschema_rs already).

The Makefile runs this before ``test``, ``run``, ``up`` and ``bench``; it builds only when a
source differs from the one its build was made from (``--force`` always). A compiled module
shadows its ``.py``: the build writes ``hotpath.manifest.json`` beside the package with the
SHA-256 of every source it compiled (and of this script), ``stale()`` lists the compiled modules
whose source's hash is not the one recorded — a checkout, ``touch`` or copy that changes
modification times but not the code is not stale, an edit is, whatever the clock says — and the
test suite refuses to run on them (``tests/conftest.py``) rather than test old code. A compiled
module without a manifest entry is stale too.

The Docker image compiles in its builder stage (``deploy/Dockerfile``, ``--require``: fail
rather than ship plain Python), so production runs the compiled code the suite tests;
``.ci/run`` also runs the suites that drive these modules once more as plain Python, the form
any host without a compiler runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: The gateway's per-request modules, then the shadow sidecar's per-exchange
#: ones (paths under the package). ``http`` only re-exports the server layer now; it stays compiled
#: so that a checkout's older ``http`` extension is rebuilt (or reported stale), never left to
#: shadow the ``.py``.
HOT_MODULES = (
    "client_limits", "client_timeouts", "connection", "exchange", "fastpath", "forward", "framing",
    "headers", "http", "listener", "metrics", "observer", "proxy", "request", "request_cycle",
    "routing", "upstream",
    *(
        f"shadow/{name}"
        for name in (
            "contract_check", "evidence", "exchanges", "metrics", "noise", "policy", "samples",
            "sender", "service", "windows", "workers",
        )
    ),
)  # fmt: skip
#: Written by :func:`build` beside the package: source hashes of the compiled modules.
MANIFEST = "hotpath.manifest.json"
GROUP = "gateway.hotpath"  # the shared mypyc runtime lands in the package as hotpath__mypyc*.so
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def built() -> list[Path]:
    """The compiled files in the package (modules and the shared runtime)."""
    names = [*HOT_MODULES, "hotpath__mypyc"]
    return [PACKAGE / f"{name}{SUFFIX}" for name in names if (PACKAGE / f"{name}{SUFFIX}").exists()]


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sources() -> dict[str, str]:
    """The hash of every hot module's source and of this script, as a build records them."""
    hashes = {name: digest(PACKAGE / f"{name}.py") for name in HOT_MODULES}
    return hashes | {"build_hotpath": digest(Path(__file__))}


def manifest() -> dict[str, str]:
    """The hashes the last build recorded (empty when there is none or it is unreadable)."""
    try:
        data = json.loads((PACKAGE / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def stale() -> list[str]:
    """Compiled hot modules whose ``.py`` is not the source their build was made from."""
    recorded = manifest()
    return [
        name
        for name in HOT_MODULES
        if (PACKAGE / f"{name}{SUFFIX}").exists()
        and recorded.get(name) != digest(PACKAGE / f"{name}.py")
    ]


def up_to_date() -> bool:
    """Every hot module compiled from its current source, by this script as it is now."""
    if len(built()) != len(HOT_MODULES) + 1 or stale():
        return False
    return manifest().get("build_hotpath") == digest(Path(__file__))


def clean() -> None:
    """Remove the compiled files: the gateway runs as plain Python."""
    for path in built():
        path.unlink()
    (PACKAGE / MANIFEST).unlink(missing_ok=True)


def missing_toolchain() -> str | None:
    """Why a build cannot run here, or None."""
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.exists():
        return f"no Python headers ({include})"
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        return "no C compiler (cc/gcc)"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypyc is not installed (pip install -e '.[dev]')"
    return None


def build() -> None:
    """Compile the hot modules in place (setuptools
    ``build_ext --inplace`` in a scratch directory)."""
    from mypyc.build import mypycify
    from setuptools import setup

    root = PACKAGE.parent
    recorded = sources()  # hashed before compiling: an edit made during the build shows as stale
    paths = [f"gateway/{name}.py" for name in HOT_MODULES]
    with tempfile.TemporaryDirectory(prefix="cutover-mypyc-") as scratch:
        cwd = Path.cwd()
        os.chdir(root)
        try:
            setup(
                name="cutover-gateway-hotpath",
                # pyproject's mypy overrides name every package; compiling a few gateway
                # modules leaves most of them unused, which warn_unused_configs makes an error.
                ext_modules=mypycify(
                    ["--no-warn-unused-configs", *paths], group_name=GROUP, target_dir=scratch
                ),
                script_args=["--quiet", "build_ext", "--inplace", "--build-temp", scratch],
            )
        finally:
            os.chdir(cwd)
            shutil.rmtree(root / "build", ignore_errors=True)
    (PACKAGE / MANIFEST).write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Build when out of date (``--force``: always), ``--clean``, or ``--check`` (1 when stale)."""
    parser = argparse.ArgumentParser(prog="python -m gateway.build_hotpath", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--clean", action="store_true", help="remove the compiled modules")
    action.add_argument("--check", action="store_true", help="exit 1 if a build is stale")
    action.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument(
        "--require",
        action="store_true",
        help="exit 1 when the toolchain is missing instead of running as plain Python (images)",
    )
    args = parser.parse_args(argv)
    if args.clean:
        clean()
        return 0
    if args.check:
        old = stale()
        if old:
            print(f"stale compiled gateway modules: {', '.join(old)}", file=sys.stderr)
        return 1 if old else 0
    reason = missing_toolchain()
    if reason is not None and args.require:
        print(f"cannot compile the gateway hot path: {reason}", file=sys.stderr)
        return 1
    if reason is not None:
        clean()
        print(f"gateway hot path not compiled ({reason}); it runs as plain Python", file=sys.stderr)
        return 0
    if up_to_date() and not args.force:
        return 0
    build()
    print(f"gateway hot path compiled: {', '.join(HOT_MODULES)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
