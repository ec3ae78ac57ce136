"""Use cases: one verb per method, keyword-only arguments, no HTTP and no drivers."""
