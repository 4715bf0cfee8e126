"""``make faults-cluster``: two gateways, three NATS nodes and PostgreSQL under the fault suite's
load, while the active gateway, its broker node, PostgreSQL or its path to PostgreSQL fails.

Counted as :mod:`bench.faults` counts (events published vs stored, alerts expected vs delivered,
copies delivered twice), plus each fault's takeover time: from the fault to the first alert of a
breach published after it.
"""
