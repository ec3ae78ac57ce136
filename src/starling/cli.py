"""The ``starling`` command: serve, load, token, db."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from starling.config import Settings, SettingsError, load_settings

DEFAULT_DATA = Path("../shared/data")

app = typer.Typer(
    name="starling",
    help="Starling: a Twitter-style feed service with hybrid fan-out.\n\n"
    "Configuration comes from STARLING_* environment variables (see README); "
    "the default is an embedded SQLite file ./starling.db with in-process workers.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema management (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Overrides STARLING_DATABASE_URL (default sqlite:///./starling.db).",
        show_default=False,
    ),
]


def _settings(database_url: str | None) -> Settings:
    if database_url:
        os.environ["STARLING_DATABASE_URL"] = database_url  # inherited by server workers
    try:
        return load_settings()
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP API (with the fan-out worker in-process on the embedded default).

    Open http://HOST:PORT/docs for the interactive API description.
    """
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings(database_url)
    # Migrate before the server starts so a fresh checkout serves at once.
    asyncio.run(_migrate(settings))
    console.print(
        f"Starling on http://{host}:{port}  (database {settings.database_url}; docs at /docs)"
    )
    Granian(
        "starling.api.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        # The embedded timeline cache and event log live in the serving process: one worker.
        workers=1,
        log_level=settings.log_level,  # type: ignore[arg-type]
    ).serve()


async def _migrate(settings: Settings) -> None:
    from starling.bootstrap import build

    core = await build(settings, run_workers=False)
    await core.stop()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply every pending migration to the configured database."""
    settings = _settings(database_url)
    asyncio.run(_migrate(settings))
    console.print(f"database at head: {settings.database_url}")


@app.command()
def token(
    username: Annotated[str, typer.Argument(help="Any user, including imported ones.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Print a bearer token for USERNAME, no password asked (operators, benchmarks)."""
    from starling.bootstrap import build
    from starling.domain.errors import UserNotFound

    async def run() -> str:
        core = await build(_settings(database_url), run_workers=False)
        try:
            return await core.accounts.token_for(username=username)
        finally:
            await core.stop()

    try:
        typer.echo(asyncio.run(run()))
    except UserNotFound as exc:
        console.print(f"[red]error:[/red] no user named {username!r}")
        raise typer.Exit(1) from exc


@app.command()
def load(
    data: Annotated[
        Path, typer.Option("--data", help="Folder of the real data sets (see its README).")
    ] = DEFAULT_DATA,
    celebrities: Annotated[
        bool,
        typer.Option(
            "--celebrities", help="Add the seeded celebrity overlay (1%, 10%, 50% of users)."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the tweet-to-author assignment.")] = 2026,
    database_url: DatabaseUrl = None,
) -> None:
    """Import the real Twitter follower graph and tweets (idempotent: safe to run twice)."""
    from starling.adapters.sqlite.bulk import SqliteBulkStore
    from starling.adapters.sqlite.store import SqliteStore
    from starling.loading import DataFileMissing, load_dataset

    settings = _settings(database_url)
    if not settings.database_url.startswith("sqlite"):
        console.print("[red]error:[/red] load supports SQLite URLs in this version")
        raise typer.Exit(2)
    started = time.perf_counter()
    store = SqliteStore(settings.database_url)
    progress = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    try:
        with progress:
            report = asyncio.run(
                load_dataset(
                    SqliteBulkStore(store.engine),
                    data,
                    celebrities=celebrities,
                    seed=seed,
                    progress=progress,
                )
            )
    except DataFileMissing as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        asyncio.run(store.close())
    elapsed = time.perf_counter() - started
    table = Table(title=f"Loaded into {settings.database_url}")
    for column in ("", "in data set", "inserted now"):
        table.add_column(column, justify="right")
    table.add_row("users", f"{report.users_total:,}", f"{report.users_inserted:,}")
    table.add_row("follow relations", f"{report.follows_total:,}", f"{report.follows_inserted:,}")
    table.add_row("tweets", f"{report.tweets_total:,}", f"{report.tweets_inserted:,}")
    console.print(table)
    for name, followers in report.celebrities:
        console.print(f"celebrity {name}: {followers:,} followers")
    console.print(f"load took {elapsed:.1f} s")


def main() -> None:
    """Console-script entry point."""
    app()
