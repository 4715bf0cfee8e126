"""Device protocols: pure decoders from (topic, payload) to typed events, and their I/O adapters."""
