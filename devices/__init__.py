"""Device protocols: pure decoders from (topic, payload) to typed events, and their I/O adapters.

``safe_json`` is the one JSON parser for device input (also for the gateway's MQTT-ack handler):
it raises only ``PayloadError``, whatever the bytes.
"""

from devices._common import PayloadError, safe_json

__all__ = ["PayloadError", "safe_json"]
