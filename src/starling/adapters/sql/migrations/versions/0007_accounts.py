"""accounts: e-mail unique in any case, token revocation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00.000000

Adds ``users.email_lower`` with a unique index, and the tables of revoked access tokens
(``token_watermarks``: a password change revokes a user's older tokens;
``revoked_tokens``: logout revokes one token).

Existing duplicates. Registration used to accept an address already in use, so several
accounts may share one (in any case). The oldest account (smallest ``created_at_ms``,
then smallest id) keeps the address; every other one gets the placeholder
``duplicate-<user id>@email.invalid`` (``.invalid`` is reserved by RFC 2606, so it can
never reach anyone), and each rename is logged at WARNING on the
``starling.migrations`` logger with the user id and the address it had. Those accounts
keep their username and password: they can still log in by username and set an address
of their own later. Imported accounts have no address and are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("starling.migrations")


def placeholder_email(user_id: int) -> str:
    """The address given to an account whose address an older account keeps."""
    return f"duplicate-{user_id}@email.invalid"


def upgrade() -> None:
    op.add_column("users", sa.Column("email_lower", sa.String(length=254), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.BigInteger()),
        sa.column("email", sa.String()),
        sa.column("email_lower", sa.String()),
        sa.column("created_at_ms", sa.BigInteger()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(users.c.id, users.c.email)
        .where(users.c.email.is_not(None))
        .order_by(users.c.created_at_ms, users.c.id)
    ).all()
    # Lower-cased in Python, as the application does on insert (SQLite's lower() folds
    # ASCII only), oldest account first so that it keeps its address.
    seen: set[str] = set()
    for user_id, email in rows:
        lowered = email.lower()
        if lowered in seen:
            new = placeholder_email(user_id)
            log.warning(
                "user %d shares the e-mail address %r with an older account: renamed to %r",
                user_id,
                email,
                new,
            )
            email, lowered = new, new
        seen.add(lowered)
        bind.execute(
            sa.update(users).where(users.c.id == user_id).values(email=email, email_lower=lowered)
        )
    op.create_index(op.f("ix_users_email_lower"), "users", ["email_lower"], unique=True)
    op.create_table(
        "token_watermarks",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("revoked_below", sa.BigInteger(), nullable=False),
        sa.Column("kept_jti", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_token_watermarks")),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(
        op.f("ix_revoked_tokens_user_id_expires_at_ms"),
        "revoked_tokens",
        ["user_id", "expires_at_ms"],
    )


def downgrade() -> None:
    # Renamed duplicate addresses are not restored (the old ones are only in the log).
    op.drop_index(op.f("ix_revoked_tokens_user_id_expires_at_ms"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_table("token_watermarks")
    op.drop_index(op.f("ix_users_email_lower"), table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_lower")
