"""Background work: fetching, checking and running the containers of a compatibility test."""
