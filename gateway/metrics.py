"""Prometheus metrics of the gateway (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "isogate_messages_total",
    "Device messages by outcome",
    ["outcome"],  # accepted | rejected | duplicate | unknown_device | ignored
)
ALERTS = Counter("isogate_alerts_raised_total", "Alerts raised", ["type"])
DELIVERIES = Counter(
    "isogate_deliveries_total", "Notification delivery attempts", ["channel", "result"]
)
BATCH_SECONDS = Histogram(
    "isogate_ingest_batch_seconds", "Time to decide and commit one batch of messages"
)
BROKER_UP = Gauge("isogate_broker_connected", "1 while the broker connection is up")
OUTBOX_PENDING = Gauge("isogate_outbox_pending", "Notifications waiting for delivery")
