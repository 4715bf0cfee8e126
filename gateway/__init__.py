"""The asyncio core: settings, MQTT session, store, event pipeline, outbox, service lifetime."""
