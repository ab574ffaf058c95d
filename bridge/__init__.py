"""The NATS JetStream bridge (DESIGN §14, docs/jetstream.md): past one machine.

A peer of ``gateways/`` in the layers: it may import ``aggregation`` (the client library,
the wire format), never ``engine`` or Django. ``bridge.run`` is the hub → JetStream process,
``bridge.consumer`` the JetStream source for clients, ``bridge.cluster`` writes and starts a
local ``nats-server`` cluster (tests, benchmarks, ``./dev run``).
"""
