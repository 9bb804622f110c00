"""`hotline`: the command line for operators and developers.

hotline migrate [SERVICE ...]   upgrade each service's database to the Alembic head
hotline topics                  wait for Kafka and create the topics (never auto-created)
hotline seed [SERVICE ...]      load demo departments and routing into dispatch, and the
                                demo appeal catalogue and knowledge base into intake
                                (default: both)
hotline token [--scope S ...] [--department D] [--subject NAME]
                                mint a development JWT signed with the local key
hotline audit timeline APPEAL | replay | export jsonl|csv
                                the auditor's terminal, over audit's REST API
hotline audit switch-over --replay N [--by NAME]
                                as audit's database owner: make replay N's rebuilt
                                projection the live one (audit_service/switch_over.py)
"""

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service import seed
from dispatch_service.settings import DispatchSettings
from intake_service import catalogue_seed, knowledge_seed
from intake_service import store as intake_store
from intake_service.settings import IntakeSettings
from intake_service.store import knowledge as knowledge_store
from services import audit_cli
from services.catalog import SERVICES
from shared.runtime import auth, kafka, migrations
from shared.runtime.eventstore import Database
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


def _migrate(names: list[str]) -> None:
    for name in names or list(SERVICES):
        service = SERVICES[name]
        config = load(service.settings)
        migrations.upgrade(
            service.migrations, config.migration_url(), runtime_role=config.database_runtime_role
        )
        print(f"{name}: migrated to head")


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
                routing_version, policy_version = await seed.seed(tx)
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
    seed_ = commands.add_parser("seed")
    seed_.add_argument("services", nargs="*", metavar="SERVICE", help="dispatch, intake")
    token = commands.add_parser("token")
    token.add_argument("--scope", action="append")
    token.add_argument("--department")
    token.add_argument("--subject")
    token.add_argument("--ttl", type=int, default=12 * 3600)
    audit = commands.add_parser("audit", help="the auditor's terminal (see services/audit_cli)")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("timeline").add_argument("appeal_id")
    audit_commands.add_parser("replay")
    audit_commands.add_parser("export").add_argument("format", choices=["jsonl", "csv"])
    switch = audit_commands.add_parser("switch-over")
    switch.add_argument("--replay", type=int, required=True)
    switch.add_argument("--by", default=os.environ.get("USER", "owner"), help="who asks")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        _migrate(args.services)
    elif args.command == "topics":
        bootstrap = load(SERVICES["intake"].settings).kafka_bootstrap
        created = asyncio.run(kafka.create_topics(bootstrap))
        print(f"topics: created {created}" if created else "topics: all present")
    elif args.command == "seed":
        if unknown := sorted(set(args.services) - {"dispatch", "intake"}):
            parser.error(f"seed: only dispatch and intake have demo data, not {', '.join(unknown)}")
        asyncio.run(_seed(args.services))
    elif args.command == "token":
        _token(args)
    elif args.command == "audit":
        sys.exit(_audit(args))


def _audit(args: argparse.Namespace) -> int:
    if args.audit_command == "timeline":
        return audit_cli.timeline(args.appeal_id)
    if args.audit_command == "replay":
        return audit_cli.replay()
    if args.audit_command == "switch-over":
        return asyncio.run(audit_cli.switch_over(args.replay, by=f"operator:{args.by}"))
    return audit_cli.export(args.format)


if __name__ == "__main__":
    main()
