"""Prometheus metrics of the gateway (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "isogate_messages_total",
    "Device messages by outcome",
    ["outcome"],  # accepted | rejected | duplicate | unknown_device | ignored | ack
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
COMMIT_FAILURES = Counter(
    "isogate_commit_failures_total",
    "Transactions the database refused or failed",
    ["kind"],  # outage (nothing acknowledged, retried) | row (one message's row, set aside)
)
TASK_RESTARTS = Counter(
    "isogate_task_restarts_total", "Supervised tasks restarted after a fault", ["task"]
)
SESSION_LOST = Counter(
    "isogate_broker_session_lost_total",
    "Reconnects on which the broker had no session for the gateway (possible loss)",
)
INGEST_QUEUED = Gauge(
    "isogate_ingest_queued", "Messages received and not yet acknowledged", ["lane"]
)
INGEST_OLDEST_S = Gauge(
    "isogate_ingest_oldest_seconds", "Age of the oldest received-but-unacknowledged message"
)
CAMERA_FRAMES = Counter(
    "isogate_camera_frames_total",
    "Camera frames by what became of them: analysed, bad, dropped over the rate cap, dropped "
    "while the camera's previous frame was still analysed, from an unbound camera",
    ["outcome"],
)
CAMERA_ANALYSIS_SECONDS = Histogram(
    "isogate_camera_analysis_seconds", "Decode and analysis of one camera frame"
)
LEASE_ACTIVE = Gauge(
    "isogate_lease_active", "1 while this gateway holds the active lease (two gateways, one active)"
)
TAKEOVERS = Counter(
    "isogate_takeovers_total",
    "Active leases this gateway took from another process (a crash, a lost lease or a handover)",
)
FENCED_COMMITS = Counter(
    "isogate_fenced_commits_total", "Commits refused because this gateway's lease epoch was over"
)
FENCED_DELIVERIES = Counter(
    "isogate_fenced_deliveries_total", "Deliveries refused because this gateway's lease was over"
)
