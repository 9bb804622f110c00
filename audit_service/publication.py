"""Publishing signed checkpoints to their Kafka topic, kept forever (retention -1, never
compacted): anyone with read access to it holds every root audit ever signed."""

import asyncio
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_service import checkpoints
from audit_service.domain import proofs
from shared import topics
from shared.runtime import kafka
from shared.runtime.database import Database
from shared.runtime.timers import Sweep

DEADLINE_SECONDS = 30.0


def publisher(bootstrap: str) -> checkpoints.Publish:
    async def publish(checkpoint: proofs.SignedCheckpoint) -> None:
        # A checkpoint an hour needs no standing producer.
        producer = kafka.producer(bootstrap, client_id="audit-checkpoints")
        async with asyncio.timeout(DEADLINE_SECONDS):
            await producer.start()
            try:
                await producer.send_and_wait(
                    topics.CHECKPOINTS,
                    key=str(checkpoint.size).encode(),
                    value=checkpoint.model_dump_json().encode(),
                )
            finally:
                await producer.stop()

    return publish


def sweeper(key: Ed25519PrivateKey, publish: checkpoints.Publish) -> Sweep:
    """For the periodic timer: one checkpoint if anything new was recorded."""

    async def sweep(db: Database, now: datetime) -> int:
        made = await checkpoints.create(db.engine, key, publish=publish, now=now)
        return 0 if made is None else 1

    return sweep
