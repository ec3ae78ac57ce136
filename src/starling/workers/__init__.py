"""Workers: thin event consumers (decode → call a service → ack), idempotent."""
