"""The ``starling`` command: serve, worker, load, bench, token, login-link, db, dlq."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from starling.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from starling.backends import Backends
    from starling.bootstrap import App
    from starling.loading import LoadReport
    from starling.ports import DeadLetter

T = TypeVar("T")

DATA_HELP = (
    "Folder of the real data sets. Default: $STARLING_DATA_DIR when set, else ./data "
    "(layout and sources: docs/data.md)."
)

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


def _backends(settings: Settings) -> Backends:
    """The backends ``settings`` select (:func:`starling.backends.select_backends`); an
    unusable choice ends the command with its reason."""
    from starling.backends import select_backends

    try:
        return select_backends(settings)
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(help="API processes (scale-out only; the embedded default runs one)."),
    ] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP API.

    On the embedded default (no STARLING_NATS_URL) the fan-out worker runs in the same
    process. With a broker configured the API only serves; run `starling worker` for the
    fan-out. Open http://HOST:PORT/docs for the interactive API description.
    """
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings(database_url)
    backends = _backends(settings)
    if backends.event_log == "outbox" and workers != 1:
        console.print(
            "[yellow]note:[/yellow] the embedded default keeps timelines and the event log "
            "in one process: serving with 1 worker (configure Redis and NATS to scale out)"
        )
        workers = 1
    # Migrate before the server starts so a fresh checkout serves at once.
    asyncio.run(_migrate(backends))
    console.print(
        f"Starling on http://{host}:{port}  (database {settings.database_url}; docs at /docs)"
    )
    Granian(
        "starling.api.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        # A worker that dies (a crash, the OOM killer, kill -9) is started again instead
        # of taking the whole server down; granian gives up on a worker that dies again
        # within seconds of its respawn (a crash loop) and exits.
        respawn_failed_workers=True,
        log_level=settings.log_level,  # type: ignore[arg-type]
    ).serve()


async def _migrate(backends: Backends) -> None:
    """Bring the configured database's schema to the newest migration."""
    store = await backends.open_store(migrate=True)
    await store.close()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply every pending migration to the configured database."""
    settings = _settings(database_url)
    asyncio.run(_migrate(_backends(settings)))
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


@app.command("login-link")
def login_link(
    username: Annotated[str, typer.Argument(help="Any user, including imported ones.")],
    base_url: Annotated[
        str, typer.Option(help="Where the browser reaches `starling serve`.")
    ] = "http://127.0.0.1:8000",
    database_url: DatabaseUrl = None,
) -> None:
    """Print a one-time URL that logs a browser in as USERNAME (imported users have no
    password): valid for 15 minutes, and for one use only."""
    from starling.bootstrap import build
    from starling.domain.errors import UserNotFound

    async def run() -> str:
        core = await build(_settings(database_url), run_workers=False)
        try:
            return await core.accounts.login_link_token(username=username)
        finally:
            await core.stop()

    try:
        token = asyncio.run(run())
    except UserNotFound as exc:
        console.print(f"[red]error:[/red] no user named {username!r}")
        raise typer.Exit(1) from exc
    typer.echo(f"{base_url.rstrip('/')}/login/link?token={token}")


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's /metrics on this port.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the event consumers (fan-out) without the API: scale-out only.

    Start N of them: they share the work through one durable JetStream consumer per
    group. Needs STARLING_NATS_URL and STARLING_REDIS_URL.
    """
    settings = _settings(database_url)
    if not _backends(settings).scale_out:
        console.print(
            "[red]error:[/red] `starling worker` needs STARLING_NATS_URL and STARLING_REDIS_URL; "
            "on the embedded default `starling serve` runs the workers itself"
        )
        raise typer.Exit(2)
    asyncio.run(_run_worker(settings, metrics_port))


async def _run_worker(settings: Settings, metrics_port: int | None) -> None:
    import signal

    from prometheus_client import start_http_server

    from starling.bootstrap import build

    core = await build(settings, run_workers=True)
    if metrics_port is not None:
        start_http_server(metrics_port, registry=core.metrics.registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await core.start()
    console.print(f"worker running (stream {settings.nats_stream}); Ctrl-C stops it")
    try:
        await stop.wait()
    finally:
        await core.stop()


dlq_app = typer.Typer(
    help="Dead letters: events parked after max_deliver tries.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")


async def _with_core(settings: Settings, action: Callable[[App], Awaitable[T]]) -> T:
    from starling.bootstrap import build

    core = await build(settings, run_workers=True)
    await core.start()
    try:
        return await action(core)
    finally:
        await core.stop()


@dlq_app.command("list")
def dlq_list(database_url: DatabaseUrl = None) -> None:
    """List the dead letters: id, consumer group, tries, error, event."""

    async def action(core: App) -> Sequence[DeadLetter]:
        return await core.event_log.dead_letters()

    letters = asyncio.run(_with_core(_settings(database_url), action))
    table = Table(title=f"{len(letters)} dead letters")
    for column in ("id", "group", "tries", "error", "event"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.group,
            str(letter.attempts),
            letter.error[:60],
            letter.payload.decode(errors="replace")[:80],
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    group: Annotated[str | None, typer.Option(help="Only this consumer group.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Deliver the dead letters again (after fixing their cause); replayed ones leave the list."""

    async def action(core: App) -> int:
        return await core.event_log.replay_dead_letters(group)

    replayed = asyncio.run(_with_core(_settings(database_url), action))
    console.print(f"replayed {replayed} dead letters")


def _require_data(given: Path | None) -> Path:
    """The data folder (``--data``, else ``$STARLING_DATA_DIR``, else ``./data``) when
    every file a load reads is in it. Otherwise print what is missing and where the data
    sets come from, and exit 2: nothing has been created or connected to yet."""
    from starling.loading.dataset import DATA_SOURCES, DataFileMissing, locate, resolve_data_dir

    data = resolve_data_dir(given)
    if not data.is_dir():
        reason = f"no data folder at {data}"
    else:
        try:
            locate(data)
        except DataFileMissing as exc:
            reason = str(exc)
        else:
            return data
    console.print(f"[red]error:[/red] {reason}", soft_wrap=True)
    console.print(DATA_SOURCES, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@app.command()
def load(
    data: Annotated[Path | None, typer.Option("--data", help=DATA_HELP, show_default=False)] = None,
    celebrities: Annotated[
        bool,
        typer.Option(
            "--celebrities", help="Add the seeded celebrity overlay (1%, 10%, 50% of users)."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the tweet-to-author assignment.")] = 2026,
    database_url: DatabaseUrl = None,
) -> None:
    """Import the real Twitter follower graph and tweets (idempotent: safe to run twice).

    The data folder is --data, else $STARLING_DATA_DIR, else ./data.
    When it or a file in it is missing, the command says where the data
    sets come from and exits 2 before it creates any database.
    """
    from starling.loading import LoadError

    data = _require_data(data)
    settings = _settings(database_url)
    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    try:
        with progress:
            report = asyncio.run(_load(settings, data, celebrities, seed, progress))
    except LoadError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - started
    table = Table(title=f"Loaded into {settings.database_url}")
    for column in ("", "in data set", "inserted now"):
        table.add_column(column, justify="right")
    table.add_row("users", f"{report.users_total:,}", f"{report.users_inserted:,}")
    table.add_row("follow relations", f"{report.follows_total:,}", f"{report.follows_inserted:,}")
    table.add_row("tweets", f"{report.tweets_total:,}", f"{report.tweets_inserted:,}")
    table.add_row("tweets indexed for search", "", f"{report.tweets_indexed:,}")
    if report.celebrities:
        overlay = (
            report.overlay_users_inserted
            + report.overlay_follows_inserted
            + report.overlay_tweets_inserted
        )
        table.add_row("celebrity overlay rows", "", f"{overlay:,}")
    console.print(table)
    for name, followers in report.celebrities:
        console.print(f"celebrity {name}: {followers:,} followers")
    rows = (
        report.users_inserted
        + report.follows_inserted
        + report.tweets_inserted
        + report.overlay_users_inserted
        + report.overlay_follows_inserted
        + report.overlay_tweets_inserted
    )
    console.print(f"load took {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s inserted)")


async def _load(
    settings: Settings, data: Path, celebrities: bool, seed: int, progress: Progress
) -> LoadReport:
    from starling.loading import load_dataset

    backends = _backends(settings)
    store = await backends.open_store()
    bulk = backends.make_bulk_store(store)
    search = backends.make_search_index(store)
    try:
        return await load_dataset(
            bulk, data, celebrities=celebrities, seed=seed, progress=progress, search=search
        )
    finally:
        await store.close()


@app.command()
def bench(
    config: Annotated[
        str,
        typer.Option(help="embedded (SQLite, 1 process) or scale-out (PostgreSQL, Redis, NATS)."),
    ] = "embedded",
    duration: Annotated[
        float, typer.Option(help="Seconds of the mixed phase; the other phases take half.")
    ] = 20.0,
    rate: Annotated[
        float, typer.Option(help="Requests per second of the mixed open-loop phase.")
    ] = 100.0,
    post_rate: Annotated[
        float, typer.Option(help="Posts per second of the fan-out-lag phase (target: 500).")
    ] = 500.0,
    strategy: Annotated[
        str, typer.Option(help="Fan-out strategy: push, pull, hybrid, or all three.")
    ] = "all",
    out: Annotated[
        Path, typer.Option(help="Where results.json, the plots and server logs go.")
    ] = Path("/tmp/starling-bench/out"),
    data: Annotated[Path | None, typer.Option("--data", help=DATA_HELP, show_default=False)] = None,
    bench_dir: Annotated[
        Path, typer.Option(help="Where the embedded bench database lives (kept between runs).")
    ] = Path("/tmp/starling-bench"),
    readers: Annotated[
        int, typer.Option(help="Distinct readers sampled (by followees) and warmed up.")
    ] = 5_000,
    clients: Annotated[int, typer.Option(help="Load-generating processes.")] = 2,
    connections: Annotated[
        int, typer.Option(help="HTTP connections per load-generating process.")
    ] = 32,
    seed: Annotated[int, typer.Option(help="Seed of the data load and of the workload.")] = 2026,
    profile: Annotated[
        bool,
        typer.Option(help="py-spy the API during the read-capacity and fan-out phases."),
    ] = False,
    rate_limits: Annotated[
        bool,
        typer.Option(
            "--rate-limits/--no-rate-limits",
            help="Run the server with its request budgets on (reads at their default, write "
            "budgets raised for the benchmark's busy authors) or off (the feed alone).",
        ),
    ] = True,
    report_from: Annotated[
        Path | None,
        typer.Option(
            help="Run nothing: re-judge and re-draw an existing results.json "
            "(its plots and tables are rewritten beside it)."
        ),
    ] = None,
) -> None:
    """Benchmark Starling on the real data: push, pull and hybrid side by side.

    Loads the follower graph and tweets with the celebrity overlay into a bench database
    (once; later runs reuse it), starts `starling serve` (scale-out: 2 API workers and a
    `starling worker`) as child processes, and drives open-loop load from separate
    processes; latency runs from each request's scheduled send time. Also measures the
    machine's ceilings in the same run (bare ASGI app, redis-benchmark ZADD) and writes
    results.json, latency_cdf.png, fanout_lag.png and writes_per_tweet.png into --out.
    See bench/README.md for how to read them.
    """
    from starling.bench.runner import Options, finish, run
    from starling.bench.server import CONFIGS
    from starling.domain.feed import FANOUT_STRATEGIES

    if report_from is not None:
        from starling.bench.report import read_json

        try:
            results = read_json(report_from)
        except (OSError, ValueError) as exc:
            console.print(f"[red]error:[/red] cannot read {report_from}: {exc}")
            raise typer.Exit(2) from exc
        finish(results, report_from.parent, console)
        return

    if config not in CONFIGS:
        console.print(f"[red]error:[/red] --config must be one of {', '.join(CONFIGS)}")
        raise typer.Exit(2)
    strategies: list[str]
    if strategy == "all":
        strategies = list(FANOUT_STRATEGIES)
    elif strategy in FANOUT_STRATEGIES:
        strategies = [strategy]
    else:
        console.print("[red]error:[/red] --strategy must be push, pull, hybrid or all")
        raise typer.Exit(2)
    if (
        duration <= 0
        or rate <= 0
        or post_rate <= 0
        or readers < 1
        or clients < 1
        or connections < 1
    ):
        console.print("[red]error:[/red] durations, rates and counts must be positive")
        raise typer.Exit(2)
    data = _require_data(data)
    run(
        Options(
            config=config,
            strategies=strategies,
            duration_s=duration,
            rate=rate,
            post_rate=post_rate,
            readers=readers,
            authors=2_000,
            client_processes=clients,
            connections=connections,
            out_dir=out,
            data_dir=data,
            bench_dir=bench_dir,
            seed=seed,
            profile=profile,
            rate_limits=rate_limits,
        ),
        console,
    )


def main() -> None:
    """Console-script entry point. A backend that cannot be reached (database missing,
    server down) ends the command with one clear line, not a traceback."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    from starling.ports import BackendUnavailable

    try:
        app()
    except (BackendUnavailable, DBAPIError, OperationalError, ConnectionError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        console.print(f"[red]error:[/red] a backend is not reachable: {reason}")
        raise SystemExit(2) from None
