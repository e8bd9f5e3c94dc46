"""The composition root: one gateway process with shadowing, live contract checks and the
controller.

The gateway makes no rollout decisions and the migration package does no proxying; this module is
where the two meet. It reads the ``migration:`` section of the gateway's config file, builds
:class:`~migration.metrics.MigrationMetrics` (the gateway's request observer and the shadow
component's result observer), the shadow service (a response tap), the optional traffic recorder
(another tap), the controller over the state store (an SQLite file, or PostgreSQL when
``state_db`` is a ``postgresql://`` URL), and installs the shadow and migration
admin endpoints. ``cutover gateway``, ``cutover up`` and ``cutover demo`` all run this.

``migration:`` keys (all optional)::

    state_db: .cutover/migration.db   # SQLite file with plans, phases, weights and events,
                                      # or postgresql://user@host/db (password: PGPASSWORD)
    interval_s: 5                      # controller evaluation interval (issue default: 5 s)
    rollback_mode: zero                # or step_down
    policy: {window_s: 10s, ...}       # migration.policy.Policy fields
    plan: {route: default, steps: [shadow, 10, 50, 100], hold: 60s, min_requests: 500}
    memory_scrape: true                # read each backend's /metrics for the report
    snapshot_cache: .cutover/config-snapshot.json   # a cluster member's copy of the last snapshot
    journal: .cutover/state-journal.jsonl  # writes the store refused, kept across a crash
                                           # (default: beside snapshot_cache)
    notifications: [{url, format: json|slack, events, routes, timeout_s, ...}]   # webhooks
    hooks: {pre_promotion: {url, timeout_s, ...}, post_rollback: {url, timeout_s}}

``notifications`` and ``hooks`` are parsed by :mod:`migration.notify_config`; the notifier
(:mod:`migration.notify`) and the hooks (:mod:`migration.hooks`) get the controller's events through
its ``sinks`` and the pre-promotion hook is its ``gate``. Their calls run as named tasks of this
runtime, on its event loop, and go out through the runtime's HTTP client; only a process that may
run the controller builds them (a ``--workers`` data plane does not).

A ``plan`` in the config starts only when its route has no migration in the store yet, so a
restart resumes the stored one instead of starting over.

Wiring for issue #12: every weight change the gateway makes is reported to the controller
(``GatewayState.on_weight_change``), which persists manual ones; the controller reads the proxy's
in-flight attempts (:class:`ProxyInflight`) and publishes each route's ``auto`` fallback deadline to
the gateway state. A state file that cannot be opened or read stops start-up with a
:class:`~gateway.config.ConfigError` naming it (exit code 2 in the commands).

Wiring for issue #13: ``role`` (:class:`~migration.cluster.seams.Role`) makes the process a cluster
member — by default when ``state_db`` is a PostgreSQL URL, and for ``--workers`` (a PRIMARY
supervisor, WORKER data planes) over either store. A member's controller reads the merged evidence
of every member and sets weights through the shared snapshot (:mod:`migration.cluster.wiring` builds
the parts, :class:`~migration.cluster.member.ClusterMember` runs their loops); it runs only while
the member holds the lease. The config file's plans start at each won election, for routes the store
has none.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import structlog
import yaml
from prometheus_client import CollectorRegistry

from gateway.config import ConfigError, GatewayConfig, default_config_text
from gateway.observer import ResponseTap
from gateway.recording import RecordingTap
from gateway.server import Classify, Gateway
from gateway.shadow import build_shadow, install_shadow_routes
from gateway.shadow.admin import LocalShadowAdmin
from gateway.shadow.service import ShadowService
from gateway.shadow.sidecar_client import ShadowSidecar
from gateway.state import WeightChange
from gateway.tasks import TaskSet
from migration.admin_api import install_migration_routes
from migration.buffered_store import BufferedStore
from migration.cluster.admin import cluster_view, install_cluster_routes
from migration.cluster.config_watch import ConfigWatcher, open_config_watcher
from migration.cluster.follower import has_snapshot_of
from migration.cluster.local_journal import (
    LocalJournal,
    journal_hook,
    local_journal_path,
    replay_local_changes,
)
from migration.cluster.member import ClusterMember
from migration.cluster.seams import ClusterStore, FencedOut, Role
from migration.cluster.shadow_rates import ShadowRates, install_shadow_rates
from migration.cluster.weights import LOCAL_ACTOR
from migration.cluster.wiring import (
    ClusterParts,
    ProxyInflight,
    build_parts,
    default_replica_name,
    member_info,
)
from migration.controller import MigrationController
from migration.decision_metrics import DecisionMetrics
from migration.hooks import HookMetrics, PostRollbackHook, PrePromotionHook
from migration.journal import Journal, JournalError, JournalMetrics
from migration.memory import HttpMemoryScraper
from migration.metrics import MigrationMetrics
from migration.notify import Notifier
from migration.notify_config import HooksSettings, SinkSettings, parse_hooks, parse_notifications
from migration.operation_metrics import register_operation_metrics
from migration.operations import build_classifier
from migration.plan import Plan, PlanError, parse_duration, plans_from_config
from migration.policy import Policy
from migration.seams import EventSink
from migration.store import StateStoreError, open_store
from migration.store_postgres import connection_params, is_postgres_url, redact_url
from migration.store_sql import StoreUnreachable

log = structlog.get_logger("cutover")

#: The controller loop's tick: beyond an hour it could not react to anything.
MAX_INTERVAL_S = 3600.0
_KEYS = {
    "state_db",
    "interval_s",
    "rollback_mode",
    "policy",
    "plan",
    "memory_scrape",
    "contract",
    "snapshot_cache",
    "journal",
    "notifications",
    "hooks",
}


@dataclass(frozen=True)
class MigrationSettings:
    """The parsed ``migration:`` section."""

    state_db: Path | str  # an SQLite file, or a PostgreSQL URL (never shown unredacted)
    interval_s: float
    rollback_mode: Literal["zero", "step_down"]
    policy: Policy
    plans: tuple[Plan, ...]
    memory_scrape: bool
    contract: str | None
    snapshot_cache: Path | None = None  # a replica's copy of the last config snapshot
    journal: Path | None = None  # the buffered writes' journal (migration.journal)
    notifications: tuple[SinkSettings, ...] = ()
    hooks: HooksSettings = field(default_factory=HooksSettings)


def _file_path(value: Any, field: str, base_dir: Path | None) -> Path:
    """A file-path setting, relative to ``base_dir`` when given."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"migration.{field}: expected a file path, got {value!r}")
    return _under(Path(value), base_dir)


def _under(path: Path, base_dir: Path | None) -> Path:
    return base_dir / path if base_dir is not None and not path.is_absolute() else path


def _flag(value: Any, field: str) -> bool:
    """A boolean: ``true``/``false`` (or those words, as an environment override spells them)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(f"{field}: expected true or false, got {value!r}")


def _state_db(value: Any, base_dir: Path | None) -> Path | str:
    """An SQLite path (relative to ``base_dir``), or a PostgreSQL URL checked for syntax now."""
    text = str(value).strip()
    if is_postgres_url(text):
        try:
            connection_params(text)
        except StateStoreError as exc:
            raise ConfigError(f"migration.state_db: {exc}") from None
        return text
    if "://" in text:  # mysql://, sqlite://...: a typo here would silently become a file name
        raise ConfigError(
            "migration.state_db: expected a file path or a postgresql:// URL, "
            f"got {redact_url(text)!r}"
        )
    path = Path(text)
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


def parse_migration_settings(
    data: Mapping[str, Any], routes: list[str], base_dir: Path | None = None
) -> MigrationSettings:
    """Validate the ``migration:`` mapping; errors raise :class:`ConfigError` naming the field."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"migration: unknown field(s) {unknown}; known: {sorted(_KEYS)}")
    try:  # a number, or a duration string ("5s"; environment overrides are strings)
        interval_s = parse_duration(data.get("interval_s", 5.0), "migration.interval_s")
    except PlanError as exc:
        raise ConfigError(str(exc)) from None
    if not 0 < interval_s <= MAX_INTERVAL_S:
        raise ConfigError(f"migration.interval_s: must be within (0, {MAX_INTERVAL_S:g}] seconds")
    mode = data.get("rollback_mode", "zero")
    if mode not in ("zero", "step_down"):
        raise ConfigError(f"migration.rollback_mode: must be zero or step_down, got {mode!r}")
    try:
        policy = Policy.from_mapping(data.get("policy") or {})
    except ValueError as exc:
        raise ConfigError(f"migration.{exc}") from None
    plans: tuple[Plan, ...] = ()
    if data.get("plan"):
        try:
            plans = tuple(plans_from_config(data["plan"], routes))
        except PlanError as exc:
            raise ConfigError(f"migration.plan.{exc}") from None
        for plan in plans:
            if plan.route not in routes:
                raise ConfigError(f"migration.plan.route: no gateway route named {plan.route!r}")
    state_db = _state_db(data.get("state_db", ".cutover/migration.db"), base_dir)
    cache = data.get("snapshot_cache")
    if cache is None:  # beside the SQLite file, or in .cutover/ for a PostgreSQL store
        default = (
            state_db.parent / "config-snapshot.json"
            if isinstance(state_db, Path)
            else Path(".cutover/config-snapshot.json")
        )
        cache_path = _under(default, base_dir)
    else:
        cache_path = _file_path(cache, "snapshot_cache", base_dir)
    journal = data.get("journal")
    journal_path = (
        cache_path.parent / "state-journal.jsonl"  # beside the cache
        if journal is None
        else _file_path(journal, "journal", base_dir)
    )
    contract = data.get("contract", "llmstruct")
    return MigrationSettings(
        state_db=state_db,
        interval_s=interval_s,
        rollback_mode=mode,
        policy=policy,
        plans=plans,
        memory_scrape=_flag(data.get("memory_scrape", True), "migration.memory_scrape"),
        contract=None if contract in (None, "", "none") else str(contract),
        snapshot_cache=cache_path,
        journal=journal_path,
        notifications=parse_notifications(data.get("notifications"), routes),
        hooks=parse_hooks(data.get("hooks"), routes),
    )


def embedded_config_data(
    *,
    baseline_port: int,
    candidate_port: int,
    public_port: int,
    admin_port: int,
    admin_token: str,
    state_dir: Path,
) -> dict[str, Any]:
    """The embedded default config (``cutover up``, ``cutover demo``) on the given loopback ports.

    Returned as a plain mapping so a caller can adjust it before ``gateway.config.build_config``.
    """
    data: dict[str, Any] = yaml.safe_load(default_config_text())
    data["upstreams"]["baseline"]["url"] = f"http://127.0.0.1:{baseline_port}"
    data["upstreams"]["candidate"]["url"] = f"http://127.0.0.1:{candidate_port}"
    data["listeners"]["public"]["port"] = public_port
    data["listeners"]["admin"]["port"] = admin_port
    data["admin_token"] = admin_token
    data["migration"]["state_db"] = str(state_dir / "migration.db")
    return data


def _contract_source(contract: str | None) -> str | None:
    """The contract for live validation as a file path, or None.

    ``"llmstruct"`` (the embedded stack's default) is the packaged ``contracts/openapi.json``: the
    name is resolved here, so the generic gateway's shadow component only ever sees a path (issue
    #17 item 5). A file is compiled once here so a bad one stops start-up naming the field; the
    shadow component (often a sidecar process) compiles its own copy.
    """
    if contract is None:
        return None
    from contracts.export import OPENAPI_PATH
    from contracts.validators import ContractValidator

    if contract == "llmstruct":
        return str(OPENAPI_PATH)

    path = Path(contract)
    if not path.is_file():
        raise ConfigError(f"migration.contract: no such file {contract!r}")
    try:
        ContractValidator.from_path(path)
    except Exception as exc:  # invalid JSON or not an OpenAPI document
        raise ConfigError(
            f"migration.contract: {contract!r} is not a usable contract: {exc}"
        ) from None
    return str(path.resolve())


class CutoverRuntime:
    """Everything one gateway process runs, started and stopped together."""

    def __init__(
        self,
        config: GatewayConfig,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
        base_dir: Path | None = None,
        role: Role | None = None,
        replica: str | None = None,
    ) -> None:
        """``role`` None: a member of a cluster on a PostgreSQL store, else a single process."""
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        routes = [r.name for r in config.routes]
        self.settings = parse_migration_settings(config.migration, routes, base_dir)
        state_db = self.settings.state_db
        if role is None:
            role = Role.MEMBER if isinstance(state_db, str) else Role.SOLO
        self.role = role
        self.replica = replica or default_replica_name()
        self.metrics = MigrationMetrics(clock=clock)
        taps: list[ResponseTap] = []
        self.shadow: ShadowService | ShadowSidecar | None = None
        classify: Classify | None = None
        if role.serves:  # a supervisor has no traffic to shadow (nor to classify)
            contract = _contract_source(self.settings.contract)
            self.shadow = build_shadow(
                config, self.registry, config.shadow, contract=contract, observers=[self.metrics]
            )
            taps.append(self.shadow)
            classify = build_classifier(config.routes, contract).classify
            register_operation_metrics(self.registry, self.metrics, self.metrics.window_s)
        self.recorder: RecordingTap | None = None
        if config.recording is not None and role.serves:
            self.recorder = RecordingTap(config.recording, registry=self.registry)
            taps.append(self.recorder)
        self._http = httpx.AsyncClient(timeout=2.0)
        self.memory = (
            HttpMemoryScraper(
                self._http,
                {b: config.upstream(b).url + "/metrics" for b in ("baseline", "candidate")},
            )
            if self.settings.memory_scrape and role is not Role.WORKER
            else None
        )
        self.gateway = Gateway(
            config,
            self.registry,
            observers=[self.metrics],
            taps=taps,
            public=role.serves,
            classify=classify,
            reuse_port=role is Role.WORKER,
            admin_bind=("127.0.0.1", 0) if role is Role.WORKER else None,
        )
        store_id = redact_url(state_db) if isinstance(state_db, str) else str(state_db.resolve())
        try:
            if isinstance(state_db, Path):
                state_db.parent.mkdir(parents=True, exist_ok=True)
            self.store = open_store(state_db)
        except StoreUnreachable as exc:
            cache = self.settings.snapshot_cache
            if not (role.clustered and cache is not None and has_snapshot_of(cache, store_id)):
                raise ConfigError(f"migration.state_db: {exc}") from None
            # A replica restarted during an outage: serve the last snapshot (fail-static) and
            # join the cluster when the database answers.
            log.error("state_store_unreachable_at_start", error=str(exc), snapshot=str(cache))
            self.store = open_store(state_db, lazy=True)
        except StateStoreError as exc:
            raise ConfigError(f"migration.state_db: {exc}") from None
        except OSError as exc:
            raise ConfigError(
                f"migration.state_db: state store {state_db}: {exc.strerror or exc}"
            ) from None
        self.cluster: ClusterParts | None = None
        self.member: ClusterMember | None = None
        if role.clustered:
            cluster_store: ClusterStore = self.store  # type: ignore[assignment]
            self.cluster = build_parts(
                role=role,
                replica=self.replica,
                store=cluster_store,
                gateway=self.gateway,
                windows=self.metrics,
                policy=self.settings.policy,
                registry=self.registry,
                cache_path=self.settings.snapshot_cache,
                store_id=store_id,
            )
        c = self.cluster
        self._tasks = TaskSet("cutover")
        self.notifier: Notifier | None = None
        sinks: list[EventSink] = []
        gate: PrePromotionHook | None = None
        if role is not Role.WORKER:  # only where a controller may run
            sinks, gate = self._notifications(clock)
        self._journal_metrics: JournalMetrics | None = None
        buffered = BufferedStore(self.store, clock, self._journal(role, store_id))
        self.controller = MigrationController(
            store=buffered,
            source=c.merged if c is not None and c.merged is not None else self.metrics,
            weights=c.weights if c is not None else self.gateway.state,
            policy=self.settings.policy,
            clock=clock,
            metrics=DecisionMetrics(self.registry) if role is not Role.WORKER else None,
            interval_s=self.settings.interval_s,
            rollback_mode=self.settings.rollback_mode,
            inflight=(c.merged_inflight if c is not None else ProxyInflight(self.gateway)),
            deadlines=self.gateway.state if c is None else None,  # members: the local guard
            sinks=sinks,
            gate=gate,
        )
        self.gateway.state.on_weight_change(self._weight_changed)
        self._replay_journal()
        self.local_journal = self._local_journal(role, store_id)
        if self.shadow is not None:
            install_shadow_routes(self.gateway.router, self.shadow)
        if c is not None:
            self.member = self._join(c, open_config_watcher(state_db), clock)
        if role is not Role.WORKER:
            views = c.merged if c is not None and c.merged is not None else self.metrics
            install_migration_routes(
                self.gateway.router,
                self.controller,
                views,
                route_weights=self.gateway.state.get_weights,
                sticky_keys=self.gateway.state.sticky_keys,
                memory=self.memory,
                leader=self.member.leader_refusal if self.member is not None else None,
                cluster=self._cluster_view if self.member is not None else None,
            )
            if self.member is not None:
                install_cluster_routes(self.gateway.router, self.member)
        self._stop = asyncio.Event()

    def _journal(self, role: Role, store_id: str) -> Journal | None:
        """The local journal of refused writes, where a controller may run."""
        path = self.settings.journal
        if role is Role.WORKER or path is None:
            return None
        elector = self.cluster.elector if self.cluster is not None else None
        epoch = (lambda: elector.epoch) if elector is not None else (lambda: 0)
        self._journal_metrics = JournalMetrics(self.registry)
        return Journal(path, store_id, epoch=epoch, metrics=self._journal_metrics)

    def _local_journal(self, role: Role, store_id: str) -> LocalJournal | None:
        """A member's (or a ``--workers`` data plane's) journal of its fail-static changes, beside
        the buffered writes' journal, read back now, before anything can append to it;
        :meth:`_apply_journal` replays it."""
        path, c = self.settings.journal, self.cluster
        if c is None or path is None:
            return None
        if self._journal_metrics is None:  # a worker: no buffered writes' journal
            self._journal_metrics = JournalMetrics(self.registry)
        worker = self.replica if role is Role.WORKER else None
        local = LocalJournal(
            Journal(
                local_journal_path(path, worker),
                store_id,
                metrics=self._journal_metrics,
                ops=("local",),
            )
        )
        try:
            local.read()
        except JournalError as exc:
            self.store.close()
            raise ConfigError(f"migration.journal: {exc}") from None
        c.follower.on_keep = journal_hook(local, c.follower)
        c.follower.on_published = lambda: local.rewrite(c.follower)
        return local

    def _replay_journal(self) -> None:
        """Buffer again the decisions a crashed predecessor could not store (before any weight).

        On one process :meth:`start`'s ``recover`` then applies them with the store's weights. In
        a cluster the lease epoch they were made under is handed to the elector, so a lease taken
        right after it continues that term (the replayed writes are flushed) while one taken after
        another member led discards them; :meth:`_apply_journal` lowers the weights locally.
        """
        try:
            replay = self.controller.store.replay()
        except JournalError as exc:
            self.store.close()
            raise ConfigError(f"migration.journal: {exc}") from None
        elector = self.cluster.elector if self.cluster is not None else None
        if replay.entries and elector is not None:
            elector.resume_after(replay.epoch)

    def _apply_journal(self) -> None:
        """A member restarted with replayed decisions and no store: put their lower weights in
        force here now.

        They are kept as fail-static changes (published when the store answers, as an operator's
        lowering during an outage is). When the store answers at start-up its snapshot is the
        truth: the leader's term flushes the replayed writes (or discards them if another member
        led since) and publishes their weights. The member's own fail-static changes
        (:mod:`migration.cluster.local_journal`) come back either way, where lower than the
        snapshot's: they are published with the member's next read of the store.
        """
        assert self.cluster is not None
        follower, state = self.cluster.follower, self.gateway.state
        if not follower.store_up:
            for route, bps in sorted(self.controller.store.buffered_weights().items()):
                if route in state.route_names and bps < state.get_weight(route):
                    reason = "replayed from the journal"
                    state.set_weight(route, bps, actor=LOCAL_ACTOR, reason=reason)
                    follower.keep_local(
                        "weight", route, bps, "a decision replayed from the journal"
                    )
        if self.local_journal is not None:  # lower-only, store up or not: they were made
            replay_local_changes(self.local_journal, follower, state, LOCAL_ACTOR)

    def _join(
        self, c: ClusterParts, watcher: ConfigWatcher, clock: Callable[[], float]
    ) -> ClusterMember:
        """The member's loops, the leader's record of published weights, shadow rates via the
        snapshot."""
        role = self.role
        member = ClusterMember(
            role=role,
            replica=self.replica,
            store=c.store,
            follower=c.follower,
            metrics=c.metrics,
            info=lambda: member_info(role, self.gateway),
            watcher=watcher,
            exporter=c.exporter,
            guard=c.guard,
            elector=c.elector,
            controller=self.controller if role.may_lead else None,
            merged=c.merged,
            merged_inflight=c.merged_inflight,
            interval_s=self.settings.interval_s,
            clock=clock,
            on_term=self._start_plans,
        )
        c.follower.on_change = self._published
        shadow_api = (
            None
            if self.shadow is None
            else LocalShadowAdmin(self.shadow)
            if isinstance(self.shadow, ShadowService)
            else self.shadow
        )
        rates = ShadowRates(c.store, c.follower, self.gateway.state.route_names, shadow_api)
        c.follower.on_shadow = rates.apply
        if role is not Role.WORKER:  # a worker only applies what the others publish
            install_shadow_rates(self.gateway.router, rates)
        return member

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> object:
        return self._tasks.spawn(coro, name)

    def _notifications(
        self, clock: Callable[[], float]
    ) -> tuple[list[EventSink], PrePromotionHook | None]:
        """The notifier and the hooks the settings ask for: the controller's sinks and gate."""
        settings, sinks = self.settings, list[EventSink]()
        if settings.notifications:
            self.notifier = Notifier(settings.notifications, self._http, self.registry)
            sinks.append(self.notifier)
        hooks = settings.hooks
        metrics = HookMetrics(self.registry) if hooks.pre_promotion or hooks.post_rollback else None
        if hooks.post_rollback is not None:
            record = self._record_hook
            sinks.append(
                PostRollbackHook(
                    hooks.post_rollback, self._http, self._spawn, record, metrics=metrics
                )
            )
        gate = None
        if hooks.pre_promotion is not None:
            gate = PrePromotionHook(
                hooks.pre_promotion, self._http, self._spawn, clock=clock, metrics=metrics
            )
        return sinks, gate

    def _record_hook(
        self, route: str, kind: str, reasons: Sequence[str], numbers: dict[str, Any]
    ) -> None:
        """A post-rollback hook's outcome, recorded by the controller (skipped once not leading)."""
        if self.member is None or self.member.leading:
            self.controller.note(route, kind, reasons, numbers)

    def _cluster_view(self) -> dict[str, Any]:
        assert self.member is not None
        return cluster_view(self.member)

    def _weight_changed(self, change: WeightChange) -> None:
        """Record a manual weight change made here (in a cluster: if this member leads).

        In a cluster the leader also records the changes other members publish, from the snapshot
        (:meth:`_published`); the ones the follower applies here are those, not made here.
        """
        if self.member is None:
            self.controller.manual_weights.changed(*change)
            return
        assert self.cluster is not None
        mine = not self.cluster.follower.applying and change.actor != LOCAL_ACTOR
        if mine and self.member.leading:  # a fail-static change is recorded once published
            self.controller.manual_weights.changed(*change)

    def _published(self, change: WeightChange) -> None:
        """A weight another member published (an operator, a fail-static rollback): the leader
        records it."""
        if self.member is not None and self.member.leading:
            self.controller.manual_weights.changed(*change)

    def _start_plans(self) -> None:
        """Start the config file's plans on routes the store has no migration for."""
        for plan in self.settings.plans:
            if self.controller.store.load(plan.route) is None:
                self.controller.start(plan)
                log.info("plan_started_from_config", route=plan.route, plan=plan.to_dict())

    async def start(self) -> None:
        """Bind the listeners, start the shadow workers, resume or start plans, run the loop."""
        if self.member is None:
            self.controller.recover()  # stored weights in force before the first request arrives
        else:  # the last snapshot in force before the first request: the store's, else the file's
            assert self.cluster is not None
            await self.member.sync()
            if (
                not self.cluster.follower.synced
            ):  # the store did not answer: serve what it said last
                self.cluster.follower.load_cache()
            self._apply_journal()
        if self.shadow is not None:
            await self.shadow.open()  # the sidecar is ready before the first request can reach it
        await self.gateway.start()
        if self.notifier is not None:
            self.notifier.start(self._spawn)
        if self.member is None:
            self._start_plans()
            self._tasks.spawn(self.controller.run(self._stop), name="migration-controller")
        else:
            self._tasks.spawn(self.member.run(self._stop), name="cluster-member")

    async def stop(self) -> None:
        """Stop the loop, close listeners, clients, the recording and the store (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        await self._tasks.close()
        if self.notifier is not None:
            self.notifier.close()
        if self.member is not None and self.member.watcher is not None:
            self.member.watcher.close()
        if self.shadow is not None:
            await self.shadow.close()
        await self.gateway.stop()
        if self.recorder is not None:
            self.recorder.close()
        await self._http.aclose()
        try:
            flushed = self.controller.store.flush()  # a last try for decisions the store refused
        except FencedOut:  # another member leads now: its decisions stand, these are dropped
            flushed = True
        if not flushed:
            log.error(
                "state_store_unflushed",
                pending_routes=self.controller.store.pending,
                error=self.controller.store.last_error,
            )
        self.store.close()

    async def __aenter__(self) -> CutoverRuntime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_forever(runtime: CutoverRuntime) -> None:
    """Run ``runtime`` until this coroutine is cancelled (SIGINT/SIGTERM in the commands)."""
    await runtime.start()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await runtime.stop()
