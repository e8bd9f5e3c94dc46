"""What one lease attempt does to the lease row: a pure function, shared by every store.

The SQL stores read the row (locked) and the database's clock inside one transaction, ask
:func:`decide_lease`, and write what it returns; the in-memory fake does the same with its own
clock. The rules:

* nobody ever held it, or it expired (a release makes it expire now) → *take over*: ``epoch + 1``,
  the caller becomes the holder, ``expires_at = now + ttl``;
* the caller holds it and it has not expired → *renew*: same epoch, ``expires_at = now + ttl``;
* someone else holds it and it has not expired → *not held*; the row is left alone.

A holder whose lease already expired, though nobody took it over, gets it back with a *new* epoch,
not a renewal: writes it had in flight under the old epoch started when it may already have been
deposed (a paused process does not know how long it slept), so they must fail the fence
(:class:`~migration.cluster.seams.FencedOut`) and the controller restarts its step from the store.
Expiry is exact at the boundary: ``expires_at <= now`` is expired.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration.cluster.seams import Lease

__all__ = ["LeaseRow", "decide_lease", "lease_as_read", "release"]


@dataclass(frozen=True)
class LeaseRow:
    """The lease row's columns (``holder`` None: never taken)."""

    holder: str | None
    epoch: int
    expires_at: float


def decide_lease(
    row: LeaseRow | None, holder: str, ttl_s: float, now: float
) -> tuple[LeaseRow | None, Lease]:
    """The row to write (None: leave it as it is) and the :class:`Lease` to answer with."""
    if ttl_s <= 0:
        raise ValueError(f"lease ttl must be positive, got {ttl_s!r}")
    current = row if row is not None else LeaseRow(None, 0, 0.0)
    if current.expires_at > now and current.holder != holder:
        return None, Lease(current.holder, current.epoch, False, current.expires_at - now)
    renew = current.holder == holder and current.expires_at > now
    epoch = current.epoch if renew else current.epoch + 1
    written = LeaseRow(holder, epoch, now + ttl_s)
    return written, Lease(holder, epoch, True, ttl_s)


def lease_as_read(row: LeaseRow | None, now: float) -> Lease:
    """The lease as it stands at ``now`` (``held`` is always False: nobody asked for it)."""
    if row is None:
        return Lease(None, 0, False, 0.0)
    return Lease(row.holder, row.epoch, False, row.expires_at - now)


def release(row: LeaseRow | None, holder: str, epoch: int, now: float) -> LeaseRow | None:
    """The row after ``holder`` lets go of ``epoch`` (None: not its lease, nothing to write).

    The holder stays for the record; the expiry moves to ``now`` unless it has already passed.
    """
    if row is None or row.holder != holder or row.epoch != epoch:
        return None
    return LeaseRow(holder, epoch, min(row.expires_at, now))
