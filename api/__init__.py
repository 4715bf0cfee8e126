"""HTTP API (FastAPI): REST for operators and tools, WebSocket stream, the console's files."""

from api.app import create_app

__all__ = ["create_app"]
