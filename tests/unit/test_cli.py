"""The `hotline` command line: every command and option explains itself, and `hotline audit
verify` checks proof documents offline (no database, no token, no network)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer.main
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_service.domain import merkle, proofs, signing
from services import cli

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FACTS = [f"{i:064x}" for i in range(1, 10)]
NODES = merkle.tree([merkle.leaf_hash(h) for h in FACTS])
NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)


def _commands(command: Any, path: str = "hotline") -> Iterator[tuple[str, Any]]:
    """The command tree Typer builds (on its own copy of click's classes)."""
    yield path, command
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, command in _commands(typer.main.get_command(cli.app)):
        if not (command.help or "").strip():
            missing.append(path)
        for param in command.params:
            if param.name != "help" and not (getattr(param, "help", None) or "").strip():
                missing.append(f"{path} {param.name}")
    assert missing == []
    paths = {path for path, _ in _commands(typer.main.get_command(cli.app))}
    assert {"hotline migrate", "hotline topics", "hotline seed", "hotline token"} <= paths
    assert {"hotline audit verify", "hotline audit replay", "hotline audit export"} <= paths


def test_unknown_seed_targets_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["seed", "billing"])
    assert exit_.value.code == 2
    assert "only dispatch and intake have demo data" in capsys.readouterr().err


def _checkpoint(size: int, key: Ed25519PrivateKey = KEY) -> proofs.SignedCheckpoint:
    root = merkle.range_hash(NODES, 0, size).hex()
    return proofs.signed(*signing.sign(key, size=size, root=root, now=NOW))


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    return int(exit_.value.code or 0)


def test_verify_offline_passes_good_documents_and_fails_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tmp_path / "audit.pem"
    pem.write_text(signing.public_pem(KEY.public_key()))
    old, new = _checkpoint(5), _checkpoint(9)
    path = [merkle.range_hash(NODES, *r).hex() for r in merkle.inclusion_ranges(3, 5)]
    receipt = proofs.InclusionProof(
        fact_hash=FACTS[3], leaf_index=3, audit_path=path, checkpoint=old
    )
    steps = [merkle.range_hash(NODES, *r).hex() for r in merkle.consistency_ranges(5, 9)]
    extended = proofs.ConsistencyProof(old=old, new=new, proof=steps)
    (tmp_path / "receipt.json").write_text(receipt.model_dump_json(indent=2))
    (tmp_path / "more.jsonl").write_text(
        extended.model_dump_json() + "\n" + new.model_dump_json() + "\n"
    )
    files = [str(tmp_path / "receipt.json"), str(tmp_path / "more.jsonl")]
    assert _run(["audit", "verify", "--key", str(pem), *files]) == 0
    assert "ok: 3 document(s) verified; checkpoints [5, 9]" in capsys.readouterr().out

    # the JSON GET /v1/checkpoints/public-key answers serves as the key too
    served = tmp_path / "public-key.json"
    served.write_text(json.dumps({"keys": [{"pem": pem.read_text()}]}))
    assert _run(["audit", "verify", "--key", str(served), *files]) == 0

    other = tmp_path / "other.pem"
    other.write_text(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    assert _run(["audit", "verify", "--key", str(other), *files]) == 1
    assert "not a key given" in capsys.readouterr().out

    # a receipt and a consistency proof that each hold, but about other trees
    later = proofs.ConsistencyProof(
        old=_checkpoint(6),
        new=new,
        proof=[merkle.range_hash(NODES, *r).hex() for r in merkle.consistency_ranges(6, 9)],
    )
    (tmp_path / "later.json").write_text(later.model_dump_json())
    apart = [str(tmp_path / "receipt.json"), str(tmp_path / "later.json")]
    assert _run(["audit", "verify", "--key", str(pem), *apart]) == 1
    assert "checkpoint of 5 is no end of a consistency proof" in capsys.readouterr().out

    altered = receipt.model_copy(update={"fact_hash": FACTS[4]})
    (tmp_path / "altered.json").write_text(altered.model_dump_json())
    assert _run(["audit", "verify", "--key", str(pem), str(tmp_path / "altered.json")]) == 1
    assert "is not leaf 3 of the tree of 5" in capsys.readouterr().out

    (tmp_path / "junk.json").write_text('{"kind": "nonsense"}')
    with pytest.raises(SystemExit, match="not a checkpoint, inclusion or consistency proof"):
        cli.main(["audit", "verify", "--key", str(pem), str(tmp_path / "junk.json")])
