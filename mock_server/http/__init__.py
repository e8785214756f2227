"""The HTTP layer shared by every dialect: the Flask app factory, error rendering, strict bodies, the
per-request Exchange, the journal hook, the poll fast path and the real-socket transport faults."""
