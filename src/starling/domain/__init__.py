"""Pure domain code: entities, events, ids, text rules and the feed rules. Imports no driver."""
