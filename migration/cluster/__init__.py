"""Replicas and workers that run one migration together (issue #13).

Without a shared store a gateway is alone: its controller reads its own windows and sets its own
weights (the embedded SQLite default of ``make run`` and ``cutover up``). With a shared store — a
``postgresql://`` ``migration.state_db``, or ``--workers N`` on one host over the SQLite file —
every gateway process is a *member* of a cluster:

* evidence: each data-plane process publishes its per-second window buckets
  (:mod:`migration.cluster.evidence`, :mod:`migration.cluster.exporter`) to the store, the one in
  progress as a partial the completed one supersedes; the leader merges every replica's buckets
  into one :class:`~migration.seams.WindowSource` (sketches merged, never averaged);
* one controller: members race for a lease timed by the database's clock
  (:mod:`migration.cluster.store`); the holder runs the controller and every controller write is
  fenced by the lease's epoch, so a deposed leader writes nothing;
* propagation: weights, faults and shadow rates form one versioned config snapshot; members apply
  only a newer version, woken by LISTEN/NOTIFY and polling at least every 2 s;
* fail-static: with the store gone members keep the last snapshot (also kept in a local file), never
  raise a weight, and drop a route to the baseline on their own after a hard local breach.

The interfaces every part codes against are in :mod:`migration.cluster.seams`.
"""
