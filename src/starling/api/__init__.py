"""HTTP only: routes, request/response schemas, auth, error mapping (Litestar + msgspec)."""
