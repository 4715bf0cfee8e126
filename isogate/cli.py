"""The ``isogate`` command (SPEC §5)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gateway.clock import SystemClock
from gateway.site import SiteFileError
from gateway.site.stored import load_file
from gateway.store import Store
from isogate.settings import ConfigError, Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Home-isolation gateway.")
user_app = typer.Typer(no_args_is_help=True, help="API and console users.")
app.add_typer(user_app, name="user")
simulate_app = typer.Typer(no_args_is_help=True, help="Device simulators, for a real broker.")
app.add_typer(simulate_app, name="simulate")
console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML file of settings")]
ROLES = ("admin", "supervisor", "watcher", "officer", "doctor", "technician")
"""The roles of API and console users (as ``api.auth.ROLES``, without importing the API)."""


def _settings(config: Path | None) -> Settings:
    """The settings, or one line on stderr and exit status 2 (a usage error) if they are wrong."""
    try:
        return Settings.load(config)
    except ConfigError as exc:
        typer.echo(f"isogate: {exc}", err=True)
        raise typer.Exit(2) from None


async def until_signal(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` until it ends or SIGTERM/SIGINT arrives; a signal is a clean stop."""
    main = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await main
    except asyncio.CancelledError:
        if not main.cancelled():
            raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def run(config: ConfigOpt = None) -> None:
    """Run the gateway against the configured broker and database."""
    from isogate.service import Gateway

    settings = _settings(config)
    _logging(settings.log_level)
    # One of a pair (ISOGATE_HA) exits at once with EXIT_LEASE_LOST when its lease is lost.
    asyncio.run(
        until_signal(Gateway(settings, SystemClock(), exit_on_lost=True, settle_heap=True).run())
    )
    console.print("gateway stopped")


async def _load(settings: Settings, path: Path) -> int:
    async with Store.open(settings.db_url) as store:
        return await load_file(store, path, SystemClock().now())


def _load_cmd(path: Path, config: Path | None) -> None:
    settings = _settings(config)
    try:
        revision = asyncio.run(_load(settings, path))
    except SiteFileError as exc:
        console.print(f"[red]{path}: refused, nothing loaded[/red]", soft_wrap=True)
        for err in exc.errors:
            console.print(f"  {err}", soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(f"{path}: loaded (site revision {revision})")


@app.command()
def load(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], config: ConfigOpt = None
) -> None:
    """Create or update the site from a site file (YAML), all or nothing."""
    _load_cmd(path, config)


@app.command(name="import")
def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], config: ConfigOpt = None
) -> None:
    """Create or update households from the register (CSV), all or nothing."""
    _load_cmd(path, config)


@app.command()
def commission(
    household: str,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 600,
    config: ConfigOpt = None,
) -> None:
    """Live checklist until every device bound to HOUSEHOLD has reported."""
    from isogate.commission import commission as run_checklist

    settings = _settings(config)

    async def watch() -> bool:
        async with Store.open(settings.db_url) as store:
            return await run_checklist(store, household, SystemClock(), console, timeout)

    if asyncio.run(watch()):
        console.print(f"{household}: every device reported")
        return
    console.print(f"[red]{household}: not every device reported in {timeout:g} s[/red]")
    raise typer.Exit(1)


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    config: ConfigOpt = None,
) -> None:
    """Add a user; prints its token once, alone on the last line. For staff, NAME is the staff
    id of the loaded site, with the role the site gives that person."""
    from isogate.users import UserError, add_user

    if role not in ROLES:
        console.print(f"[red]role must be one of {', '.join(ROLES)}[/red]")
        raise typer.Exit(2)
    settings = _settings(config)

    async def add() -> str:
        async with Store.open(settings.db_url) as store:
            return await add_user(store, name, role, SystemClock().now())

    try:
        token = asyncio.run(add())
    except UserError as exc:
        console.print(f"isogate: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(f"user {name} ({role}) added; the token is shown once:")
    sys.stdout.write(token + "\n")


@user_app.command("list")
def user_list(config: ConfigOpt = None) -> None:
    """The users, their roles and live console sessions (never a token)."""
    from rich.console import Console as Out

    from gateway.site.stored import current_directory
    from isogate.users import users_table

    settings = _settings(config)

    async def read() -> Any:
        async with Store.open(settings.db_url) as store:
            _, directory = await current_directory(store)
            return users_table(await store.list_users(SystemClock().now()), directory.tz)

    Out().print(asyncio.run(read()))


@user_app.command("revoke")
def user_revoke(name: str, config: ConfigOpt = None) -> None:
    """End every token and console session of NAME."""
    from isogate.users import UserError, revoke_user

    settings = _settings(config)

    async def revoke() -> int:
        async with Store.open(settings.db_url) as store:
            return await revoke_user(store, name, SystemClock().now())

    try:
        count = asyncio.run(revoke())
    except UserError as exc:
        console.print(f"isogate: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(f"{name}: {count} token(s) revoked, every session ended")


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would go; change nothing")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Remove the personal data of households released more than policy.retention_days ago
    (counts and report hashes stay)."""
    from isogate.purge import run_purge

    settings = _settings(config)
    asyncio.run(
        run_purge(
            settings.db_url,
            settings.data_dir.resolve(),
            SystemClock(),
            dry_run=dry_run,
            say=typer.echo,
        )
    )


@app.command()
def demo(
    households: Annotated[int, typer.Option(min=1, max=500)] = 20,
    speed: Annotated[float, typer.Option(help="demo seconds per real second")] = 60.0,
    config: ConfigOpt = None,
) -> None:
    """Embedded broker, simulated households with a scripted day, the gateway and the API."""
    from isogate.demo import run_demo

    settings = _settings(config)
    _logging("WARNING")
    asyncio.run(
        until_signal(run_demo(settings, households=households, speed=speed, console=console))
    )
    console.print("demo stopped")


@simulate_app.command("door")
def simulate_door(
    address: Annotated[str, typer.Argument(help="device id (native) or friendly name")],
    action: Annotated[str, typer.Argument(help="open | close | heartbeat | offline | online")],
    flavour: Annotated[str, typer.Option(help="native | zigbee2mqtt")] = "zigbee2mqtt",
    config: ConfigOpt = None,
) -> None:
    """Play a door sensor against the configured broker."""
    from simulators.door import DoorSensor
    from simulators.link import SimLink

    settings = _settings(config)
    where = settings.device_broker()
    with SimLink(where.host, where.port) as link:
        sensor = DoorSensor(
            link, address, flavour, base_topic=settings.base_topic, z2m_base=settings.z2m_base_topic
        )
        match action:
            case "open":
                sensor.open()
            case "close":
                sensor.close()
            case "heartbeat":
                sensor.heartbeat()
            case "offline" | "online":
                sensor.availability(action == "online")
            case _:
                console.print(f"[red]unknown action {action!r}[/red]")
                raise typer.Exit(2)
    console.print(f"{flavour} {address}: {action} published")


@app.command("broker-config")
def broker_config(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="where to write the files")],
    port: Annotated[int, typer.Option(min=1, max=65535, help="the broker's listener")] = 1883,
    rotate: Annotated[bool, typer.Option(help="new passwords for every login")] = False,
    nats: Annotated[
        bool, typer.Option("--nats", help="NATS accounts.conf (deploy/nats) instead")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Mosquitto password file and ACL (or with --nats the NATS accounts) for the site's staff,
    devices and the gateway."""
    from gateway.site.stored import stored_site
    from isogate.broker_config import BrokerConfigError, Topics, gateway_url, write_broker_files
    from isogate.nats_config import LOOPBACK_NODES, mqtt_urls, write_nats_files
    from rules.site import Site

    settings = _settings(config)

    async def read() -> tuple[int, Site | None]:
        async with Store.open(settings.db_url) as store:
            return await stored_site(store)

    revision, site = asyncio.run(read())
    if site is None:
        console.print("[red]no site loaded yet: `isogate load site.yaml` first[/red]")
        raise typer.Exit(1)
    s = settings
    topics = Topics(s.base_topic, s.z2m_base_topic, s.omg_base_topic, s.frigate_base_topic)
    try:
        if nats:
            done = write_nats_files(directory, site, topics, rotate=rotate, revision=revision)
        else:
            done = write_broker_files(
                directory, site, topics, port=port, rotate=rotate, revision=revision
            )
    except BrokerConfigError as exc:
        console.print("[red]refused, nothing written:[/red]")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    for path in done.paths:
        console.print(f"wrote {path}", markup=False, highlight=False)
    console.print(
        f"{len(done.logins)} logins: {len(done.new)} new passwords, {len(done.kept)} kept"
        + (f", {len(done.dropped)} removed ({', '.join(done.dropped)})" if done.dropped else "")
    )
    url = mqtt_urls(LOOPBACK_NODES, "gateway", "<pw>") if nats else gateway_url(port)
    console.print(
        f"the gateway connects with ISOGATE_MQTT_URL={url} (its <pw> is the gateway line of "
        "credentials.txt)",
        markup=False,
        highlight=False,
    )


@app.command("nats-prepare")
def nats_prepare(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="broker-config --nats's")],
    url: Annotated[str, typer.Option(help="a node's NATS (not MQTT) listener")] = (
        "nats://127.0.0.1:4231"
    ),
    replicas: Annotated[int, typer.Option(min=1, max=5, help="nodes holding it")] = 3,
) -> None:
    """Make NATS's MQTT message stream with limits retention, before any MQTT client connects
    (isogate/nats_streams.py says why); says what it found when it is there already."""
    from isogate.nats_streams import prepare_with

    status, said = prepare_with(directory, url, replicas)
    console.print(said, markup=False, highlight=False)
    raise typer.Exit(status)


PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@simulate_app.command("thermometer", context_settings=PASS_THROUGH)
def simulate_thermometer(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """A BLE thermometer through OpenMQTTGateway/Theengs (--scenario normal|fever|faulty|drain,
    --mac, --style omg|theengs, --count, --interval)."""
    from simulators import ble

    settings = _settings(config)
    where = settings.device_broker()
    argv = [
        "--host",
        where.host,
        "--port",
        str(where.port),
        "--omg-base",
        settings.omg_base_topic,
        *ctx.args,
    ]
    raise typer.Exit(ble.main(argv))


@simulate_app.command("rflink", context_settings=PASS_THROUGH)
def simulate_rflink(ctx: typer.Context) -> None:
    """An RFLink 433 MHz receiver on a pseudo-terminal (--id, --interval, --count); point
    ISOGATE_RFLINK_PORT at the path it prints."""
    from simulators import rflink

    raise typer.Exit(rflink.main(list(ctx.args)))


@simulate_app.command("camera", context_settings=PASS_THROUGH)
def simulate_camera(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """A door camera's synthetic scene: publish|write|serve (--kind visit|crossing|light_on|
    ir_switch|shadow|covered|moved|defocused|…, --camera, --seed, --speed, --seconds, --out)."""
    from simulators import camera_feed

    argv = list(ctx.args)
    if argv and argv[0] == "publish":
        settings = _settings(config)
        where = settings.device_broker()
        broker = ["--host", where.host, "--port", str(where.port)]
        argv = [argv[0], *broker, "--base-topic", settings.base_topic, *argv[1:]]
    raise typer.Exit(camera_feed.main(argv))


def main() -> None:
    """Entry point of the console script."""
    app()
