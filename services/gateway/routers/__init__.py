"""One router per resource of API.md. Each router carries its full path prefix itself, so
a route's template (the metrics label) is the public path on every FastAPI version."""

API_PREFIX = "/api/v1"
