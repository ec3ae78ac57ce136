"""In-process adapters of the embedded default (one process, no servers)."""
