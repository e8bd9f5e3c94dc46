"""Who runs the controller: a lease in the shared store, held by one member at a time.

The lease row is timed by the database's clock (:meth:`ClusterStore.acquire_lease`), so no host
clock decides who leads. A member calls :meth:`LeaderElector.tick` every ``renew_s``; the holder
renews, the others take the lease once it has expired (which increments its epoch).

The leader stops acting *before* its lease can expire, by its own monotonic clock: a renewal sent at
monotonic ``t0`` that succeeds leaves the lease valid for ``remaining_s`` database seconds *from
some instant after t0*, so the member may act until ``t0 + remaining_s - margin_s`` and no longer —
whatever happened to the renewal's answer on the way back. A member paused past that (SIGSTOP, a
long GC, a frozen VM) finds :attr:`LeaderElector.leading` false when it wakes, before it does
anything; and should it act anyway in the instant between, every controller write carries the
epoch as a fence (:class:`~migration.cluster.seams.Fence`), which a newer leader's takeover has
already made stale.

Defaults: TTL 6 s, renewal every 2 s, margin 1 s — a leader survives two lost renewals; after a
leader dies another one leads within TTL + one renewal interval (≤ 8 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from migration.cluster.seams import ClusterStore, Fence, Lease

__all__ = ["LeaderElector"]

log = structlog.get_logger("cutover.cluster")


class LeaderElector:
    """Renews or takes the lease; says whether this member may act as the leader right now."""

    def __init__(
        self,
        store: ClusterStore,
        holder: str,
        *,
        ttl_s: float = 6.0,
        renew_s: float = 2.0,
        margin_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < renew_s < ttl_s - margin_s:
            raise ValueError(
                f"need 0 < renew_s < ttl_s - margin_s, got {renew_s}, {ttl_s}, {margin_s}"
            )
        self.store = store
        self.holder = holder
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self.margin_s = margin_s
        self._monotonic = monotonic
        self._valid_until = float("-inf")
        self.epoch = 0
        self.last: Lease | None = None
        self.terms = 0  # leadership terms won by this member
        #: The current term directly follows this member's previous one (nobody led in between).
        self.continued = False
        # Epoch 0 is never granted: until this member wins, a controller write it made by mistake
        # fails the fence instead of landing unfenced.
        store.fence = Fence(holder, 0)

    @property
    def leading(self) -> bool:
        """True while this member holds a lease it may still act on."""
        return self._monotonic() < self._valid_until

    @property
    def fence(self) -> Fence:
        """The fence of this member's latest term (epoch 0 before it ever led).

        It stays on the store after the term ends: a write decided in that term (a buffered one
        retried later) lands only while nobody else has taken the lease since.
        """
        return Fence(self.holder, self.epoch)

    def resume_after(self, epoch: int) -> None:
        """Count the term at ``epoch`` as this member's last one (before a restart, as its state
        journal says), so a lease taken right after it continues it (:attr:`continued`) and the
        decisions buffered in that term are kept; a lease taken after another member led is not."""
        if self.terms == 0 and self.epoch == 0:
            self.epoch = epoch

    def tick(self) -> bool:
        """Renew or try to take the lease (one store call); returns :attr:`leading`.

        A store error is not a lost election by itself: a leader keeps acting until its margin runs
        out (its lease is still valid in the database), and a follower stays a follower.
        """
        was_leading = self.leading
        t0 = self._monotonic()
        try:
            lease = self.store.acquire_lease(self.holder, self.ttl_s)
        except Exception as exc:  # the store is down or slow: nothing changes until the margin
            log.warning("lease_renewal_failed", holder=self.holder, error=str(exc))
            lease = None
        if lease is not None:
            self.last = lease
            if lease.held:
                if not was_leading or lease.epoch != self.epoch:
                    self.terms += 1
                    self.continued = self.epoch > 0 and lease.epoch == self.epoch + 1
                    log.info(
                        "leader_elected",
                        holder=self.holder,
                        epoch=lease.epoch,
                        continued=self.continued,
                    )
                self.epoch = lease.epoch
                self._valid_until = t0 + min(self.ttl_s, lease.remaining_s) - self.margin_s
                self.store.fence = self.fence
            else:
                self._valid_until = float("-inf")
        if was_leading and not self.leading:
            log.warning("leader_deposed", holder=self.holder, epoch=self.epoch)
        return self.leading

    def step_down(self) -> None:
        """Stop acting now (a fenced write was refused, or the member stops); releases the lease."""
        if self.leading:
            self._valid_until = float("-inf")  # first: nothing acts while the release is in flight
            try:
                self.store.release_lease(self.holder, self.epoch)
            except Exception as exc:  # it expires by itself anyway
                log.warning("lease_release_failed", holder=self.holder, error=str(exc))
            log.info("leader_stepped_down", holder=self.holder, epoch=self.epoch)
