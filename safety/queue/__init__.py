"""Redis: connections (or an embedded server), enqueueing with deterministic job ids and
retries, and the relay that enqueues committed reports off the request thread."""
