"""Route handlers, one module per resource; each parses, calls one service, maps back."""
