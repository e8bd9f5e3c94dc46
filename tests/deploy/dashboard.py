"""Load deploy/grafana/generate.py by path (it is a script, not a package
module) and walk its output."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.deploy.deployfiles import DEPLOY

GENERATOR = DEPLOY / "grafana" / "generate.py"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "cutover-migration.json"


@cache
def generator() -> ModuleType:
    """The generator module, imported once from its file."""
    spec = importlib.util.spec_from_file_location("cutover_dashboard_generator", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def checked_in() -> dict[str, Any]:
    """The dashboard JSON as committed."""
    data: dict[str, Any] = json.loads(Path(DASHBOARD).read_text(encoding="utf-8"))
    return data


def panel_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(panel title, expr)`` for every panel target and every Prometheus annotation."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']}", annotation["expr"]
