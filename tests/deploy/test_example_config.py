"""deploy/gateway.example.yaml documents every key the code accepts, and loads (issue #15 item 7).

The keys are read from the code, not listed here: the gateway config dataclasses, the shadow blocks'
dataclasses, and the ``migration:`` parsers' key sets (runtime, policy, plan). A key added to any of
them without a line in the example fails this test, naming the key.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.config import GatewaySettings, load_config
from gateway.config_env import fields_of, own_parser, sections
from gateway.shadow.config import RouteShadowConfig, ShadowSettings
from migration import notify_config, runtime
from migration.plan import PLAN_KEYS, STEP_KEYS, plans_from_config
from migration.policy import Policy

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "gateway.example.yaml"
_KEY = re.compile(r"^(\s*)(?:- )?([A-Za-z_][A-Za-z0-9_]*):(?:\s|$)")


def _model_of(annotation: object) -> type | None:
    """The section in ``annotation`` (``Section``, ``Section | None``, ``tuple[Section, ...]``)."""
    if found := next(sections(annotation), None):
        return found
    if typing.get_origin(annotation) in (list, tuple):
        for arg in typing.get_args(annotation):
            if (model := _model_of(arg)) is not None:
                return model
    return None


def _dataclass_keys(cls: type) -> Iterator[tuple[str, ...]]:
    for field in dataclasses.fields(cls):
        if field.init and not field.name.startswith("_"):
            yield (field.name,)


def _model_keys(model: type) -> Iterator[tuple[str, ...]]:
    for name, (annotation, metadata) in fields_of(model).items():
        yield (name,)
        if own_parser(metadata):  # the shadow blocks: their keys are added below
            continue
        if (sub := _model_of(annotation)) is not None:
            yield from ((name, *rest) for rest in _model_keys(sub))


def accepted_keys() -> list[tuple[str, ...]]:
    """Every key path the gateway config accepts, from the models and parsers themselves."""
    keys = list(_model_keys(GatewaySettings))
    # Plain mappings in the models, parsed elsewhere: the shadow blocks and ``migration:``.
    keys += [("routes", "shadow", *k) for k in _dataclass_keys(RouteShadowConfig)]
    # shadow.routes.NAME takes the same block as routes[].shadow (one parser): documented once.
    keys += [("shadow", *k) for k in _dataclass_keys(ShadowSettings)]
    keys += [("migration", key) for key in runtime._KEYS]  # the runtime's own list of its keys
    keys += [("migration", "policy", *k) for k in _dataclass_keys(Policy)]
    keys += [("migration", "plan", key) for key in PLAN_KEYS]
    keys += [("migration", "plan", "steps", key) for key in STEP_KEYS]
    keys += [("migration", "notifications", key) for key in notify_config._SINK_KEYS]
    for hook in _dataclass_keys(notify_config.HooksSettings):
        keys += [("migration", "hooks", *hook, key) for key in notify_config._HOOK_KEYS]
    return sorted(set(keys))


def _key(line: str) -> tuple[int, str] | None:
    """A line's key and its indentation; ``# key:`` (commented out) and ``- key:`` count as set."""
    line = re.sub(r"^(\s*)# ?", r"\1", line).replace("- ", "  ", 1)
    found = _KEY.match(line)
    return None if found is None else (len(found.group(1)), found.group(2))


def documented(lines: list[str], path: tuple[str, ...]) -> bool:
    """Whether ``path`` appears as nested keys, set or commented out (``# key:``), in ``lines``.

    Each key must be a direct child of the one before it: one of the least indented keys in that
    key's block (the lines below it, up to the next key indented as little as it). A key may
    appear more than once (a set ``migration:`` section and a commented-out one that adds to
    it); any of its blocks may hold the rest of the path.
    """
    if not path:
        return True
    keys = [(i, k) for i, line in enumerate(lines) if (k := _key(line)) is not None]
    if not keys:
        return False
    child = min(indent for _, (indent, _) in keys)
    for start, (indent, name) in keys:
        if (indent, name) != (child, path[0]):
            continue
        end = next((i for i, (ind, _) in keys if i > start and ind <= child), len(lines))
        if documented(lines[start + 1 : end], path[1:]):
            return True
    return False


def test_the_walk_reaches_nested_and_migration_keys() -> None:
    """The key list covers nested models and every migration parser (so the check means much)."""
    keys = accepted_keys()
    for path in [
        ("upstreams", "baseline", "pool_size"),
        ("routes", "sticky", "cookie"),
        ("recording", "max_file_bytes"),
        ("migration", "state_db"),
        ("migration", "policy", "window_s"),
        ("migration", "plan", "steps", "gate"),
    ]:
        assert path in keys


@pytest.mark.parametrize("path", accepted_keys(), ids=".".join)
def test_every_accepted_key_is_in_the_example(path: tuple[str, ...]) -> None:
    """Each key the code accepts has its line in deploy/gateway.example.yaml, under its parent."""
    lines = EXAMPLE.read_text("utf-8").splitlines()
    assert documented(lines, path), f"{'.'.join(path)} is not documented in {EXAMPLE.name}"


def test_a_key_in_the_wrong_section_does_not_count() -> None:
    """The look-up is scoped: a key under another parent is not the one asked for."""
    lines = ["a:", "  b: 1", "  g:", "    h: 1", "c:", "  # d: 2", "  e:", "    f: 3", "  # i:"]
    lines += ["  #   j: 4", "k:", "  - l: 5", "    m: 6"]
    assert documented(lines, ("c", "d"))
    assert documented(lines, ("c", "e", "f"))
    assert documented(lines, ("c", "i", "j"))
    assert documented(lines, ("k", "m"))
    assert not documented(lines, ("a", "d"))
    assert not documented(lines, ("c", "b"))
    assert not documented(lines, ("a", "h"))  # a grandchild is not a child
    assert not documented(lines, ("h",))
    assert documented([*lines, "# c:", "#   n: 7"], ("c", "n"))  # a second c: adds to the first


def test_the_example_loads_with_its_migration_section(tmp_path: Path) -> None:
    """The example is a valid config, its migration: section included."""
    config = load_config(EXAMPLE)
    routes = [r.name for r in config.routes]
    settings = runtime.parse_migration_settings(config.migration, routes, tmp_path)
    assert settings.policy == Policy()  # the example shows the defaults
    assert settings.interval_s == 5.0
    assert settings.plans == ()  # the example starts no migration by itself


def test_the_commented_plan_is_a_valid_plan() -> None:
    """The example's commented-out ``plan:`` parses, uncommented, into the plan it describes."""
    lines = EXAMPLE.read_text("utf-8").splitlines()
    start = lines.index("  # plan:")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("  #  "):
            break
        block.append(line)
    text = "\n".join(line.replace("# ", "", 1) for line in block)
    (plan,) = plans_from_config(yaml.safe_load(text)["plan"], ["tasks", "default"])
    assert [s.weight_bps for s in plan.steps] == [0, 1000, 5000, 10_000]
    assert [s.gate for s in plan.steps] == [False, False, True, False]
    assert plan.steps[2].hold_s == 300.0
