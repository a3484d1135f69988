"""`predeparture users ...`: the administrator's commands for organisations, the people working for them and the
partner systems acting for them. Secrets are typed at a prompt or generated, and shown once; the store keeps
only their argon2 hashes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from api.auth import service
from api.principal import Role
from predeparture.settings import Settings
from store.repository import Store

T = TypeVar("T")

users_app = typer.Typer(
    help="Organisations, users and partner-system clients of the API.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals would hold passwords
)
console = Console()
errors = Console(stderr=True)

OrgOption = Annotated[str, typer.Option("--org", help="Id of the organisation (see `predeparture users list`).")]
# What an administrator can fix: a rule broken, a name taken, an id not found. Their messages carry no secret.
ADMIN_ERRORS = (ValueError, LookupError)


def _with_store(work: Callable[[Store], Awaitable[T]]) -> T:
    """Runs `work` on the configured store, migrated first, so a fresh installation can be set up from here."""

    async def run() -> T:
        store = Store.from_url(Settings().resolved_database_url())
        try:
            await store.migrate()
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except ADMIN_ERRORS as error:
        errors.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None


@users_app.command("create-org")
def create_org(
    name: Annotated[str, typer.Option(help="The organisation's name, as administrators know it.")],
    role: Annotated[Role, typer.Option(case_sensitive=False, help="What the organisation does in a departure.")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 country where it works.")] = None,
    org_id: Annotated[
        str | None,
        typer.Option("--id", help="The id cases already use for it (office_id, medical_partner_id, "
                     "receiving_organisation); a new opaque id when omitted."),
    ] = None,
) -> None:
    """Create an organisation and print its id."""
    organisation = _with_store(
        lambda store: service.create_organisation(store, name=name, role=role, country=country, org_id=org_id)
    )
    typer.echo(organisation.org_id)


@users_app.command("create-user")
def create_user(
    org: OrgOption,
    username: Annotated[str, typer.Option(help="What the person logs in with.")],
    password: Annotated[
        str | None,
        typer.Option(help="Better left out: the prompt keeps it out of the shell's history and the process list."),
    ] = None,
) -> None:
    """Create a person's account in an organisation and print its user id."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    chosen = password
    user = _with_store(lambda store: service.create_user(store, org_id=org, username=username, password=chosen))
    typer.echo(user.user_id)


@users_app.command("create-client")
def create_client(org: OrgOption) -> None:
    """Create a partner system's client credentials. The secret is shown this once: hand it over now."""
    client, secret = _with_store(lambda store: service.create_client(store, org_id=org))
    typer.echo(f"client_id={client.client_id}")
    typer.echo(f"client_secret={secret}")
    errors.print("Store the secret now: it cannot be shown again, only replaced by a new client.")


@users_app.command("deactivate-user")
def deactivate_user(
    user: Annotated[str, typer.Argument(help="The user id or the username.")],
) -> None:
    """Stop a person's account: no new tokens, and its current tokens are refused too."""
    found = _with_store(lambda store: service.deactivate_user(store, user))
    typer.echo(f"deactivated {found.user_id}")


@users_app.command("deactivate-client")
def deactivate_client(client_id: Annotated[str, typer.Argument(help="The client id.")]) -> None:
    """Stop a partner system's credentials: no new tokens, and its current tokens are refused too."""
    found = _with_store(lambda store: service.deactivate_client(store, client_id))
    typer.echo(f"deactivated {found.client_id}")


@users_app.command("list")
def list_identities() -> None:
    """Every organisation, user and client; never a secret."""
    identities = _with_store(service.list_identities)
    organisations = _table("Organisations", ["org_id", "role", "name", "country", "created"], [
        [o.org_id, o.role.value, o.name, o.country or "", f"{o.created_at:%Y-%m-%d}"] for o in identities.organisations
    ])
    users = _table("Users", ["user_id", "org_id", "username", "active", "created"], [
        [u.user_id, u.org_id, u.username, _yes(u.active), f"{u.created_at:%Y-%m-%d}"] for u in identities.users
    ])
    clients = _table("Partner-system clients", ["client_id", "org_id", "active", "created"], [
        [c.client_id, c.org_id, _yes(c.active), f"{c.created_at:%Y-%m-%d}"] for c in identities.clients
    ])
    for table in (organisations, users, clients):
        console.print(table)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    """Ids and usernames are never cut short, even on a narrow terminal: an administrator copies them."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        whole = column.endswith("_id") or column == "username"
        width = max((len(row[index]) for row in rows), default=len(column))
        table.add_column(column, no_wrap=whole, min_width=width if whole else None, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
