"""Bounds on what one request may hold, so that no client can exhaust the server."""

MAX_NAME = 256
MAX_URI = 4096
MAX_TEXT = 65_536
MAX_ANNOTATIONS = 256
MAX_LIST = 10_000
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 100
MAX_FILTERS = 20
MAX_LINEAGE_DEPTH = 10_000
MAX_BODY_BYTES = 16 * 1024 * 1024
