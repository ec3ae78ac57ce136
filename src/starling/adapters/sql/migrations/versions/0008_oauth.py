"""oauth: client applications and authorization codes of the Mastodon-compatible API

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 12:00:00.000000

Adds ``oauth_apps`` (registered clients: ``POST /api/v1/apps``) and ``oauth_codes``
(authorization codes awaiting exchange, single use). Access tokens are Starling's own
signed tokens (with a scope claim), revoked through the tables of 0007.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_apps",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=2000), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_apps")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_apps_client_id")),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=True),
        sa.Column("challenge_method", sa.String(length=8), nullable=True),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_oauth_codes")),
    )
    op.create_index(op.f("ix_oauth_codes_expires_at_ms"), "oauth_codes", ["expires_at_ms"])


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_codes_expires_at_ms"), table_name="oauth_codes")
    op.drop_table("oauth_codes")
    op.drop_table("oauth_apps")
