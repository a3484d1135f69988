"""`predeparture`: run the system on one machine (dev, demo) or in production (worker, api, migrate, users).

Output names cases by their opaque ids and the office's references only, never by the people in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url

from api.auth.seed import demo_logins_table
from predeparture.chaos_cli import chaos_command
from predeparture.settings import Settings, get_settings
from predeparture.users_cli import users_app

T = TypeVar("T")

app = typer.Typer(
    name="predeparture",
    help="Pre-departure logistics of refugee resettlement on durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would hold cases, and cases hold names
)
console = Console()
errors = Console(stderr=True)
app.add_typer(users_app, name="users", help="Organisations, people and partner systems that may use the API.")

WORKER_SHUTDOWN_GRACE = timedelta(seconds=30)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
RealisticOption = Annotated[
    bool, typer.Option("--realistic", help="Partners take months, as in life, instead of the demo's seconds.")
]


# -- helpers ---------------------------------------------------------------------------------------------------


def _setup_logging(level: int = logging.INFO, activity_failures: bool = True) -> None:
    """Coloured lines on stderr, or JSON lines with telemetry.log_format=json; see predeparture.logs."""
    from predeparture.logs import configure_logging

    configure_logging(get_settings().telemetry.log_format, level, activity_failures, console=errors)


def safe_database_url(url: str) -> str:
    """The URL with its password masked, fit for a terminal or a log."""
    return make_url(url).render_as_string(hide_password=True)


async def _until_signalled(work: Coroutine[Any, Any, T]) -> T | None:
    """Run `work`; SIGINT or SIGTERM cancels it, so its context managers stop everything in order. None then."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():
            return None
        raise
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _wait_forever() -> None:
    await asyncio.Event().wait()


def _run(work: Coroutine[Any, Any, T]) -> T | None:
    return asyncio.run(_until_signalled(work))


def _phase_table(final_states: dict[str, int], total: int) -> Table:
    table = Table(title="Departures by phase", show_footer=True)
    table.add_column("phase", footer="total")
    table.add_column("departures", justify="right", footer=str(total))
    for phase, count in final_states.items():
        table.add_row(phase, str(count))
    return table


# -- dev -------------------------------------------------------------------------------------------------------


@app.command()
def dev(
    demo_cases: Annotated[int, typer.Option("--demo-cases", min=0, help="Load this many demo families.")] = 0,
    realistic: RealisticOption = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the demo families (default: the simulator seed).")] = None,
    partners_over_http: Annotated[bool, typer.Option(
        "--partners-over-http",
        help="Run the partner simulator service and reach every partner over HTTP, as production does.")] = False,
) -> None:
    """Everything on this machine: Temporal dev server, worker, API, partner simulators. Ctrl-C stops it all."""
    from predeparture.devstack import DevServerError
    from predeparture.profiles import profile_settings

    _setup_logging(activity_failures=False)
    settings = profile_settings(get_settings(), realistic)
    try:
        _run(_dev(settings, demo_cases, seed, realistic, partners_over_http))
    except DevServerError as error:
        errors.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    console.print("[green]stopped[/]: API, worker, callback pump and Temporal dev server")


async def _dev(settings: Settings, demo_cases: int, seed: int | None, realistic: bool,
               partners_over_http: bool = False) -> None:
    from predeparture.devstack import embedded_stack
    from predeparture.telemetry import Tracing

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    api_url = f"http://{settings.api.host}:{settings.api.port}"
    async with contextlib.AsyncExitStack() as running:
        partners_url = None
        if partners_over_http:
            settings, partners_url = await running.enter_async_context(_partners_service(settings, api_url))
        tracing = Tracing.from_settings(settings.telemetry, "dev")
        if tracing is not None:
            running.callback(tracing.shutdown)  # last: after the API and the worker made their final spans
        stack = await running.enter_async_context(
            embedded_stack(settings, tracing=tracing, graceful_shutdown_timeout=WORKER_SHUTDOWN_GRACE))
        await _dev_until_stopped(stack, settings, demo_cases, seed, realistic, api_url, partners_url)


@contextlib.asynccontextmanager
async def _partners_service(settings: Settings, api_url: str) -> AsyncIterator[tuple[Settings, str]]:
    """The partner simulator service beside the stack, and settings that reach every partner through it."""
    from api.server import ApiServer
    from predeparture.partners_network import over_http, sim_config
    from predeparture.partners_sim import create_partners_sim

    sim = settings.partners_sim
    url = f"http://{sim.host}:{sim.port}"
    settings = over_http(settings, url, api_url)
    server = ApiServer(create_partners_sim(sim_config(settings)), sim.host, sim.port)
    await server.start()
    try:
        yield settings, url
    finally:
        await server.stop()


async def _dev_until_stopped(stack: Any, settings: Settings, demo_cases: int, seed: int | None, realistic: bool,
                             api_url: str, partners_url: str | None) -> None:
    from predeparture.profiles import profile_name

    api, logins = await _dev_api(stack.client, stack.store, settings, demo_cases, _seed(seed, settings),
                                 tracing=stack.tracing)
    console.print(_dev_panel(settings, stack.server.ui_url, profile_name(realistic), api_url, partners_url))
    console.print(demo_logins_table(logins, api_url))
    demo = None
    if demo_cases:
        demo = asyncio.create_task(_dev_demo(stack.client, stack.store, settings, demo_cases, seed))
    try:
        await _wait_forever()
    finally:
        console.print("stopping…")
        if demo is not None:
            demo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await demo
        await api.stop()


async def _dev_api(client: Any, store: Any, settings: Settings, demo_cases: int, seed: int,
                   tracing: Any = None) -> tuple[Any, list[Any]]:
    """The API on the embedded stack, with one demo account per audience acting for the organisations that have
    the most demo families (the families are spread over several offices and reception teams)."""
    from datetime import UTC, datetime

    from api.app import create_app
    from api.auth.seed import DemoOrganisations, seed_demo_identities
    from api.context import ApiContext
    from api.server import ApiServer
    from predeparture.families import demo_families

    # The same families the demo is about to load (same seed, same day), so the demo logins have cases to see.
    families = demo_families(demo_cases or 12, seed, datetime.now(UTC).date())
    organisations = DemoOrganisations.busiest(families)
    logins = await seed_demo_identities(store, office_id=organisations.office_id,
                                        reception_org_id=organisations.reception_org_id,
                                        clinic_id=organisations.clinic_id)
    server = ApiServer(create_app(context=ApiContext(settings, store, client, tracing=tracing)), settings.api.host,
                       settings.api.port)
    await server.start()
    return server, logins


def _dev_panel(settings: Settings, ui_url: str | None, profile: str, api_url: str,
               partners_url: str | None = None) -> Panel:
    partners = (f"over HTTP: the simulator service at {partners_url} (faults at {partners_url}/admin/faults)"
                if partners_url else "simulated in the worker")
    lines = [
        f"[bold]API[/]             {api_url}  (OpenAPI and a try-it console at {api_url}/docs)",
        f"[bold]Web pages[/]       {api_url}/ui/  (sign in with a demo account below)",
        f"[bold]Partners[/]        {partners}; their contract at {api_url}/partners/contract.json",
        f"[bold]Temporal UI[/]     {ui_url or '(headless)'}",
        f"[bold]Codec server[/]    {_codec_line(settings)}",
        f"[bold]Temporal[/]        {settings.temporal.address}  namespace {settings.temporal.namespace}, "
        f"task queue {settings.temporal.task_queue}",
        f"[bold]Data directory[/]  {settings.data_dir.resolve()}",
        f"[bold]Database[/]        {safe_database_url(settings.resolved_database_url())}",
        f"[bold]Profile[/]         {profile}",
        "",
        "Departures are kept in the data directory and carry on after a restart.",
        "Add families with [bold]predeparture demo --cases N[/] in another terminal.",
        "Press [bold]Ctrl-C[/] to stop.",
    ]
    return Panel("\n".join(lines), title="predeparture dev", border_style="green", expand=False)


def _codec_line(settings: Settings) -> str:
    if not settings.codec_server.enabled:
        return "off: the Temporal UI shows ciphertext (PREDEPARTURE_CODEC_SERVER__ENABLED=true to decode)"
    from predeparture.codec_server import public_url

    return f"{public_url(settings)}  (operators sign in there to read payloads in the UI; every decode audited)"


async def _dev_demo(client: Any, store: Any, settings: Settings, cases: int, seed: int | None) -> None:
    from predeparture.demo import play_demo

    log = logging.getLogger("predeparture.dev")
    last = -1

    def progress(settled: int, total: int) -> None:
        nonlocal last
        if settled != last:
            log.info("demo: %d of %d departures settled", settled, total)
            last = settled

    try:
        outcome = await play_demo(client, store, settings, cases, _seed(seed, settings), None, progress)
    except Exception:
        log.exception("the demo stopped")
        return
    console.print(_phase_table(outcome.final_states, outcome.cases))


def _seed(seed: int | None, settings: Settings) -> int:
    return settings.simulator.seed if seed is None else seed


# -- worker ----------------------------------------------------------------------------------------------------


@app.command()
def worker() -> None:
    """The production worker: departures and their partner activities, until SIGTERM or Ctrl-C."""
    _setup_logging()
    settings = get_settings()
    _run(_worker(settings))
    logging.getLogger("predeparture.worker").info("worker stopped")


async def _worker(settings: Settings) -> None:
    from partners.factory import build_partners
    from predeparture.callbacks import CallbackPump
    from predeparture.telemetry import Tracing, temporal_interceptors, temporal_runtime
    from predeparture.temporal import connect
    from predeparture.worker import build_worker
    from store.repository import Store

    log = logging.getLogger("predeparture.worker")
    store = Store.from_url(settings.resolved_database_url())
    partners = build_partners(settings.partners, settings.simulator, settings.partner_network)
    tracing = Tracing.from_settings(settings.telemetry, "worker")
    try:
        await store.migrate()
        client = await connect(settings, interceptors=temporal_interceptors(tracing),
                               runtime=temporal_runtime(settings.telemetry, serve_metrics=True))
        from predeparture.retention_schedule import ensure_retention_schedule
        await ensure_retention_schedule(client, settings.retention, settings.temporal.task_queue)
        # The worker renders the papers in processes of its own, and stops them when it stops.
        running = build_worker(client, settings.temporal.task_queue, store, partners, documents=settings.documents,
                               graceful_shutdown_timeout=WORKER_SHUTDOWN_GRACE,
                               max_cached_workflows=settings.worker.max_cached_workflows)
        # Simulated partners live in this process, so only it can deliver their callbacks; real ones call the API.
        async with running, CallbackPump(client, partners.callback_sources()).running():
            log.info("worker polling %s on %s (namespace %s), store %s", settings.temporal.task_queue,
                     settings.temporal.address, settings.temporal.namespace,
                     safe_database_url(settings.resolved_database_url()))
            if settings.telemetry.worker_metrics_address:
                log.info("worker metrics for Prometheus at http://%s/metrics",
                         settings.telemetry.worker_metrics_address)
            await _wait_forever()
    finally:
        await partners.aclose()  # the network adapters' connection pools
        await store.close()
        if tracing is not None:
            tracing.shutdown()  # exports the spans still buffered


# -- migrate ---------------------------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Bring the configured database up to the latest schema."""
    from store.repository import Store

    settings = get_settings()
    url = settings.resolved_database_url()
    if make_url(url).get_backend_name() == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        store = Store.from_url(url)
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(run())
    console.print(f"[green]migrated[/] {safe_database_url(url)}")


# -- api -------------------------------------------------------------------------------------------------------


@app.command("api")
def api_command() -> None:
    """The production API (uvicorn) on settings.api.host:port; SIGTERM or Ctrl-C drains requests, then stops."""
    from api.server import ApiServer, build_app
    from predeparture.telemetry import Tracing

    _setup_logging()
    settings = get_settings()
    tracing = Tracing.from_settings(settings.telemetry, "api")
    server = ApiServer(build_app(settings, tracing), settings.api.host, settings.api.port,
                       drain_delay=settings.api.drain_delay, shutdown_timeout=settings.api.shutdown_timeout)
    try:
        asyncio.run(server.serve_until_stopped())
    finally:
        if tracing is not None:
            tracing.shutdown()
    logging.getLogger("predeparture.api").info("API stopped")


# -- codec server ----------------------------------------------------------------------------------------------


@app.command("codec-server")
def codec_server() -> None:
    """The codec server the Temporal UI calls to show payloads in clear, to operators only (each decode audited)."""
    from predeparture.codec_server import serving

    _setup_logging()
    settings = get_settings()
    if not settings.codec_server.enabled:
        errors.print("[red]the codec server is off[/]: set PREDEPARTURE_CODEC_SERVER__ENABLED=true to serve "
                     "decrypted payloads to operators")
        raise typer.Exit(2)

    async def serve() -> None:
        from store.repository import Store

        store = Store.from_url(settings.resolved_database_url())
        try:
            async with serving(settings, store) as url:
                logging.getLogger("predeparture.codec").info("codec server at %s for %s", url,
                                                             ", ".join(settings.codec_server.allowed_origins))
                await _wait_forever()
        finally:
            await store.close()

    _run(serve())


# -- partners --------------------------------------------------------------------------------------------------


@app.command("partners-sim")
def partners_sim(
    host: Annotated[str | None, typer.Option(help="Listen here (default: partners_sim.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen on this port (default: partners_sim.port).")] = None,
    api_url: Annotated[str | None, typer.Option(help="Our API, to send callbacks to (default: partners_sim.api_url).")
                       ] = None,
) -> None:
    """The partner side of the published contract as its own HTTP server: simulated permit authority, document
    issuer, clinic, orientation partner and airline, with faults set at run time through PUT /admin/faults."""
    from api.server import ApiServer
    from predeparture.partners_network import sim_config
    from predeparture.partners_sim import create_partners_sim

    _setup_logging()
    settings = get_settings()
    chosen = settings.partners_sim.model_copy(update={name: value for name, value in
                                                      {"host": host, "port": port, "api_url": api_url}.items()
                                                      if value is not None})
    settings = settings.model_copy(update={"partners_sim": chosen})
    config = sim_config(settings)
    if not config.api_keys:
        errors.print("[red]no partner credential configured[/]: set PREDEPARTURE_PARTNER_NETWORK__<ROLE> "
                     "(its api_key is what the simulated partner accepts)")
        raise typer.Exit(2)
    console.print(f"partner simulator on http://{chosen.host}:{chosen.port} for {', '.join(sorted(config.api_keys))}"
                  f"; callbacks to {chosen.api_url or '(none: polling only)'}")
    server = ApiServer(create_partners_sim(config), chosen.host, chosen.port)

    async def serve() -> None:
        await server.start()
        try:
            await _wait_forever()
        finally:
            await server.stop()

    _run(serve())
    console.print("[green]stopped[/]: partner simulator")


@app.command("partners-contract")
def partners_contract() -> None:
    """Write the published partner contract (OpenAPI 3.1) to partners/contract/partners.openapi.json, after a
    partner message changed; the API serves the same document at /partners/contract.json."""
    from api.contract.document import PUBLISHED, partner_contract

    PUBLISHED.write_text(json.dumps(partner_contract(), indent=2, ensure_ascii=False) + "\n")
    console.print(f"[green]wrote[/] {PUBLISHED}")


# -- demo ------------------------------------------------------------------------------------------------------


@app.command()
def demo(
    cases: Annotated[int, typer.Option("--cases", min=1, help="How many families.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object with the outcome.")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the families (default: the simulator seed).")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Stop waiting after this many seconds.")] = 600.0,
    realistic: RealisticOption = False,
) -> None:
    """Create families, start their departures and play the clinic until every family has flown."""
    from predeparture.demo import DemoOutcome, run_demo
    from predeparture.devstack import DevServerError
    from predeparture.profiles import profile_settings

    _setup_logging(logging.WARNING if as_json else logging.INFO, activity_failures=False)
    settings = profile_settings(get_settings(), realistic)
    progress = Progress(
        TextColumn("[bold]departures settled"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=errors, disable=as_json, transient=False,
    )
    bar = progress.add_task("departures", total=cases)

    def on_progress(settled: int, total: int) -> None:
        progress.update(bar, completed=settled, total=total)

    def on_notice(message: str) -> None:
        if not as_json:
            errors.print(message)

    async def work() -> DemoOutcome:
        with progress:
            return await run_demo(settings, cases, _seed(seed, settings), timeout, on_progress, on_notice)

    try:
        outcome = _run(work())
    except DevServerError as error:
        errors.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    if outcome is None:
        errors.print("demo interrupted; its departures carry on wherever a worker runs")
        raise typer.Exit(130)
    if as_json:
        print(json.dumps(outcome.as_json()))
        return
    console.print(_phase_table(outcome.final_states, outcome.cases))
    console.print(f"{outcome.final_states.get('departed', 0)} of {outcome.cases} families departed.")


# -- bench -----------------------------------------------------------------------------------------------------
# predeparture/bench.py owns this command: its options, its output and what it measures. It is imported only when
# the command runs, so the rest of the CLI works without it; `predeparture bench --help` shows bench's own help.


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Measure departures per second on a real Temporal server (see `predeparture bench --help`)."""
    try:
        from predeparture.bench import bench_command
    except ModuleNotFoundError as missing:
        if missing.name not in ("predeparture.bench",):
            raise
        errors.print("[red]the benchmark is not part of this installation yet[/]")
        raise typer.Exit(2) from None
    single = typer.Typer(add_completion=False)
    single.command()(bench_command)
    typer.main.get_command(single).main(args=ctx.args, prog_name="predeparture bench", standalone_mode=True)


# -- chaos -----------------------------------------------------------------------------------------------------
# predeparture/chaos_cli.py owns this command's options and output; the run itself is predeparture/chaos.py.

app.command("chaos")(chaos_command)


if __name__ == "__main__":
    app()
