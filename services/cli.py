"""`hotline`: the command line for operators and developers (Typer; `--help` on any command).

hotline migrate [SERVICE ...]    upgrade each service's database to the Alembic head
hotline topics                   wait for Kafka and create the topics (never auto-created)
hotline seed [SERVICE ...]       demo routing into dispatch, demo catalogue into intake
hotline token [--scope S ...]    mint a development JWT signed with the local key
hotline audit ...                the auditor's terminal (services/audit_cli.py)
"""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service import seed as dispatch_seed
from dispatch_service.settings import DispatchSettings
from intake_service import catalogue_seed, knowledge_seed
from intake_service import store as intake_store
from intake_service.settings import IntakeSettings
from intake_service.store import knowledge as knowledge_store
from services import audit_cli
from services.catalog import SERVICES
from shared.runtime import auth, kafka, migrations
from shared.runtime.database import Database
from shared.runtime.settings import load

OPERATOR_SCOPES = [
    "catalogue:admin",
    "knowledge:admin",
    "workorders:dispatch",
    "appeals:write",
    "appeals:frontoffice",
    "appeals:read",
    "workorders:read",
    "ratings:write",
    "feedback:read",
    "audit:read",
    "audit:replay",
    "audit:rules",
]
# A department reads only the appeals dispatched to it (its token names the department).
DEPARTMENT_SCOPES = [
    "workorders:read",
    "workorders:act",
    "replies:write",
    "feedback:read",
    "appeals:read",
]
SEEDED = ("dispatch", "intake")

app = typer.Typer(
    name="hotline",
    help="The 12345 hotline's command line for operators, developers and auditors. "
    "`hotline COMMAND --help` tells more about each command.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(audit_cli.app, name="audit")


@app.command()
def migrate(
    services: Annotated[
        list[str] | None,
        typer.Argument(metavar="SERVICE", help=f"any of {', '.join(SERVICES)}; none: all of them"),
    ] = None,
) -> None:
    """Upgrade each service's database to the Alembic head (as the schema owner)."""
    if unknown := sorted(set(services or []) - set(SERVICES)):
        raise typer.BadParameter(f"no service {', '.join(unknown)}", param_hint="SERVICE")
    for name in services or list(SERVICES):
        service = SERVICES[name]
        config = load(service.settings)
        migrations.upgrade(
            service.migrations, config.migration_url(), runtime_role=config.database_runtime_role
        )
        print(f"{name}: migrated to head")


@app.command()
def topics() -> None:
    """Wait for Kafka and create the project's topics, kept forever (retention -1, never
    compacted); the broker never auto-creates them. Doubles as a readiness check."""
    bootstrap = load(SERVICES["intake"].settings).kafka_bootstrap
    created = asyncio.run(kafka.create_topics(bootstrap))
    print(f"topics: created {created}" if created else "topics: all present")


@app.command()
def seed(
    services: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SERVICE",
            help="dispatch (demo departments, routing, SLA policy) and/or intake (demo "
            "appeal catalogue and knowledge base); none: both, or only dispatch where one "
            "database URL is set",
        ),
    ] = None,
) -> None:
    """Load the demo data; publishing what is already there again changes nothing."""
    if unknown := sorted(set(services or []) - set(SEEDED)):
        raise typer.BadParameter(
            f"only dispatch and intake have demo data, not {', '.join(unknown)}",
            param_hint="SERVICE",
        )
    asyncio.run(_seed(services or []))


@app.command()
def token(
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="a scope to grant (repeat it); default: an operator's scopes, or a "
            "department's with --department",
        ),
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="the department the token acts for (its id)")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="the token's subject; default operator:dev or department:<id>"),
    ] = None,
    ttl: Annotated[int, typer.Option(help="seconds until it expires", min=1)] = 12 * 3600,
) -> None:
    """Mint a development JWT signed with the local key (HOTLINE_JWT_SECRET)."""
    settings = load(SERVICES["intake"].settings)
    scopes = scope or (DEPARTMENT_SCOPES if department else OPERATOR_SCOPES)
    print(
        auth.mint(
            settings,
            subject=subject or (f"department:{department}" if department else "operator:dev"),
            scopes=scopes,
            department=department,
            ttl_seconds=ttl,
        )
    )


async def _seed(names: list[str]) -> None:
    dispatch_url = load(DispatchSettings).database_url.get_secret_value()
    intake_url = load(IntakeSettings).database_url.get_secret_value()
    if not names:
        # A pod sets one HOTLINE_DATABASE_URL, its own service's: seed only dispatch there.
        names = ["dispatch"] if dispatch_url == intake_url else ["dispatch", "intake"]
        if names == ["dispatch"]:
            print("appeal catalogue: skipped (one database URL); run `hotline seed intake`")
    published: list[tuple[str, int | None]] = []
    if "dispatch" in names:
        engine = create_async_engine(dispatch_url)
        try:
            async with Database(engine).transaction() as tx:
                routing_version, policy_version = await dispatch_seed.seed(tx)
        finally:
            await engine.dispose()
        published += [("routing", routing_version), ("SLA policy", policy_version)]
    if "intake" in names:
        engine = create_async_engine(intake_url)
        try:
            async with Database(engine).transaction() as tx:
                catalogue_version = await intake_store.publish_catalogue(tx, catalogue_seed.DEMO)
                articles = [
                    await knowledge_store.publish_article(
                        tx, article_id, content, actor="service:seed", now=datetime.now(UTC)
                    )
                    for article_id, content in knowledge_seed.DEMO.items()
                ]
        finally:
            await engine.dispose()
        published.append(("appeal catalogue", catalogue_version))
        fresh = sum(1 for _, new in articles if new)
        print(f"knowledge base: {fresh} of {len(articles)} demo articles published")
    for name, version in published:
        print(f"{name}: unchanged" if version is None else f"{name}: published version {version}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI on argv (default: the process's arguments); exits with its status."""
    app(args=argv, prog_name="hotline")


if __name__ == "__main__":
    main()
