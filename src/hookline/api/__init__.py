"""The HTTP API (``/v1``): parse, call the service, render. FastAPI lives only here and in ``asgi``."""
