"""`hotline`: the command line for operators and developers.

hotline migrate [SERVICE ...]   upgrade each service's database to the Alembic head
hotline topics                  wait for Kafka and create the topics (never auto-created)
hotline seed                    load demo departments and routing into dispatch
hotline token [--scope S ...] [--department D] [--subject NAME]
                                mint a development JWT signed with the local key
"""

import argparse
import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service import seed
from dispatch_service.settings import DispatchSettings
from services.catalog import SERVICES
from shared.runtime import auth, kafka, migrations
from shared.runtime.eventstore import Database
from shared.runtime.settings import load

OPERATOR_SCOPES = [
    "catalogue:admin",
    "workorders:dispatch",
    "appeals:write",
    "appeals:read",
    "workorders:read",
    "ratings:write",
    "feedback:read",
    "audit:read",
    "audit:replay",
]
DEPARTMENT_SCOPES = ["workorders:read", "workorders:act", "replies:write", "feedback:read"]


def _migrate(names: list[str]) -> None:
    for name in names or list(SERVICES):
        service = SERVICES[name]
        url = load(service.settings).database_url.get_secret_value()
        migrations.upgrade(service.migrations, url)
        print(f"{name}: migrated to head")


async def _seed() -> None:
    engine = create_async_engine(load(DispatchSettings).database_url.get_secret_value())
    try:
        async with Database(engine).transaction() as tx:
            routing_version, policy_version = await seed.seed(tx)
    finally:
        await engine.dispose()
    for name, version in (("routing", routing_version), ("SLA policy", policy_version)):
        print(f"{name}: unchanged" if version is None else f"{name}: published version {version}")


def _token(args: argparse.Namespace) -> None:
    settings = load(SERVICES["intake"].settings)
    scopes = args.scope or (DEPARTMENT_SCOPES if args.department else OPERATOR_SCOPES)
    subject = args.subject or (
        f"department:{args.department}" if args.department else "operator:dev"
    )
    print(
        auth.mint(
            settings,
            subject=subject,
            scopes=scopes,
            department=args.department,
            ttl_seconds=args.ttl,
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="hotline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate")
    migrate.add_argument("services", nargs="*", metavar="SERVICE")
    commands.add_parser("topics")
    commands.add_parser("seed")
    token = commands.add_parser("token")
    token.add_argument("--scope", action="append")
    token.add_argument("--department")
    token.add_argument("--subject")
    token.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    if args.command == "migrate":
        _migrate(args.services)
    elif args.command == "topics":
        bootstrap = load(SERVICES["intake"].settings).kafka_bootstrap
        created = asyncio.run(kafka.create_topics(bootstrap))
        print(f"topics: created {created}" if created else "topics: all present")
    elif args.command == "seed":
        asyncio.run(_seed())
    elif args.command == "token":
        _token(args)


if __name__ == "__main__":
    main()
