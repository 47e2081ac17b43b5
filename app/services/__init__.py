"""Use cases: the only code that commits, enqueues or writes Redis keys."""
