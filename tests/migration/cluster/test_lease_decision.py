"""The lease rules as plain values: take over, renew, refuse, release."""

from __future__ import annotations

import pytest

from migration.cluster.lease_decision import LeaseRow, decide_lease, lease_as_read, release
from migration.cluster.seams import Lease


@pytest.mark.parametrize(
    ("row", "holder", "written", "lease"),
    [
        # nobody ever held it: epoch 1
        (None, "a", LeaseRow("a", 1, 110.0), Lease("a", 1, True, 10.0)),
        # the holder renews before expiry: same epoch, new expiry
        (LeaseRow("a", 3, 105.0), "a", LeaseRow("a", 3, 110.0), Lease("a", 3, True, 10.0)),
        # another member while it is held: refused, the row stays
        (LeaseRow("a", 3, 105.0), "b", None, Lease("a", 3, False, 5.0)),
        # another member after expiry: takes over with the next epoch
        (LeaseRow("a", 3, 99.0), "b", LeaseRow("b", 4, 110.0), Lease("b", 4, True, 10.0)),
        # expiry is exact: expires_at == now is expired
        (LeaseRow("a", 3, 100.0), "b", LeaseRow("b", 4, 110.0), Lease("b", 4, True, 10.0)),
        # the holder after its own expiry: a new epoch, not a renewal
        (LeaseRow("a", 3, 99.0), "a", LeaseRow("a", 4, 110.0), Lease("a", 4, True, 10.0)),
        # a placeholder row (PostgreSQL creates one to lock): like no row
        (LeaseRow(None, 0, 0.0), "a", LeaseRow("a", 1, 110.0), Lease("a", 1, True, 10.0)),
    ],
)
def test_decide_lease(
    row: LeaseRow | None, holder: str, written: LeaseRow | None, lease: Lease
) -> None:
    """Each case: the row written (None: untouched) and the answer, at now = 100, ttl = 10."""
    assert decide_lease(row, holder, 10.0, 100.0) == (written, lease)


def test_a_ttl_must_be_positive() -> None:
    """A zero or negative ttl is a programming error, not a lease that expires at once."""
    with pytest.raises(ValueError, match="ttl"):
        decide_lease(None, "a", 0.0, 100.0)


def test_release_expires_only_the_holders_own_epoch() -> None:
    """Release expires the lease now for the matching holder and epoch; anything else: no-op."""
    row = LeaseRow("a", 3, 105.0)
    assert release(row, "a", 3, 100.0) == LeaseRow("a", 3, 100.0)
    assert release(row, "a", 2, 100.0) is None
    assert release(row, "b", 3, 100.0) is None
    assert release(None, "a", 3, 100.0) is None
    assert release(LeaseRow("a", 3, 90.0), "a", 3, 100.0) == LeaseRow("a", 3, 90.0)  # not later


def test_a_released_lease_is_taken_with_the_next_epoch() -> None:
    """After release anyone (the old holder too) takes it at epoch + 1."""
    released = release(LeaseRow("a", 3, 105.0), "a", 3, 100.0)
    assert decide_lease(released, "b", 10.0, 100.0)[1] == Lease("b", 4, True, 10.0)


def test_a_read_lease_is_never_held() -> None:
    """read: holder, epoch and time left; nobody asked, so not held."""
    assert lease_as_read(None, 100.0) == Lease(None, 0, False, 0.0)
    assert lease_as_read(LeaseRow("a", 2, 103.0), 100.0) == Lease("a", 2, False, 3.0)
