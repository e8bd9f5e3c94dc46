"""Read the deployment files and the code's own settings, for tests that check one against the
other.

The environment-variable names come from the pydantic-settings classes themselves (prefix, field
names, nested delimiter), so a renamed setting breaks the deploy tests instead of a deployment.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def settings_env_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every environment variable ``settings_cls`` reads, upper-cased (nested sections included)."""
    from gateway.config_env import fields_of, sections

    config = settings_cls.model_config
    prefix = str(config.get("env_prefix") or "")
    delimiter = config.get("env_nested_delimiter")
    names: set[str] = set()

    def walk(section: type, path: list[str]) -> None:
        for name, (annotation, _) in fields_of(section).items():
            full = [*path, name]
            names.add((prefix + (delimiter or "").join(full)).upper())
            for sub in sections(annotation) if delimiter else ():
                walk(sub, full)

    walk(settings_cls, [])
    return names


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """All YAML documents of ``path`` (Kubernetes files hold several)."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with continuation lines joined."""

    keyword: str
    args: str
    stage: int  # index of the FROM it belongs to


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Parse a Dockerfile enough to check its stages, COPY sources, USER and commands."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    result: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        result.append(Instruction(keyword, args.strip(), stage))
    return result


def copy_sources(instruction: Instruction) -> list[str]:
    """Source paths of a COPY/ADD from the build context (empty for ``COPY --from=...``)."""
    parts = shlex.split(instruction.args)
    if any(p.startswith("--from=") for p in parts):
        return []
    paths = [p for p in parts if not p.startswith("--")]
    return paths[:-1]


def option_value(argv: list[str], option: str) -> str | None:
    """Value of ``--option VALUE`` or ``--option=VALUE`` in ``argv``."""
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


def urls_in(text: str) -> Iterator[tuple[str, int, str]]:
    """``(host, port, path)`` of every http:// URL with an explicit port in ``text``."""
    for match in re.finditer(r"http://([A-Za-z0-9_.-]+):(\d+)(/[^\s'\"]*)?", text):
        yield match.group(1), int(match.group(2)), match.group(3) or "/"


#: libpq's own variables, read by psycopg beside a ``postgresql://`` URL (the password stays out of
#: it).
LIBPQ_ENV = frozenset({"PGPASSWORD", "PGPASSFILE", "PGSSLMODE", "PGHOST", "PGUSER", "PGDATABASE"})


def gateway_reads(name: str, value: str) -> bool:
    """Whether ``GatewaySettings`` reads ``name``: setting it to ``value`` changes the settings.

    Free-form sections (``migration``, ``shadow``) take any nested name, so the field-name walk of
    :func:`settings_env_names` cannot list ``CUTOVER_MIGRATION__STATE_DB``; this asks the settings
    class itself, with every other ``CUTOVER_*`` variable of the caller's environment left out.
    """
    import os

    from gateway.config import GatewaySettings

    saved = {k: v for k, v in os.environ.items() if k.startswith("CUTOVER_")}
    for key in saved:
        del os.environ[key]
    try:
        before = GatewaySettings().model_dump()
        os.environ[name] = value
        return bool(GatewaySettings().model_dump() != before)
    finally:
        os.environ.pop(name, None)
        os.environ.update(saved)
