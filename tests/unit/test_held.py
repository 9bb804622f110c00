"""Held inserts composed into the statement that carries them (shared.runtime.held)."""

import pytest

from shared.runtime.held import Answer, with_held


def test_nothing_held_leaves_the_statement_as_it_is() -> None:
    assert with_held((), "SELECT $1") == "SELECT $1"


def test_held_inserts_come_first_and_every_parameter_follows_theirs() -> None:
    held = ("INSERT INTO a VALUES ($1, $2)", "INSERT INTO b VALUES ($1)")
    assert with_held(held, "SELECT $1, $2") == (
        "WITH held0 AS (INSERT INTO a VALUES ($1, $2)), held1 AS (INSERT INTO b VALUES ($3))"
        " SELECT $4, $5"
    )


def test_a_statement_with_its_own_ctes_keeps_them_after_the_held_ones() -> None:
    statement = "WITH appended AS (INSERT INTO events VALUES ($1)) SELECT pg_notify('c', $2)"
    assert with_held(("INSERT INTO a VALUES ($1, $10)",), statement) == (
        "WITH held0 AS (INSERT INTO a VALUES ($1, $10)), "
        "appended AS (INSERT INTO events VALUES ($11)) SELECT pg_notify('c', $12)"
    )


def test_an_answered_write_gives_its_value_after_the_statements_own_columns() -> None:
    held = ("INSERT INTO a VALUES ($1) RETURNING x", "INSERT INTO b VALUES ($1)")
    assert with_held(held, "SELECT 1", answered=(0,)) == (
        "WITH held0 AS (INSERT INTO a VALUES ($1) RETURNING x), "
        "held1 AS (INSERT INTO b VALUES ($2)) SELECT 1, (TABLE held0)"
    )


def test_an_answer_is_read_only_once_its_statement_ran() -> None:
    answer = Answer()
    with pytest.raises(RuntimeError, match="has not run"):
        _ = answer.value
    answer.give(["a"])
    assert answer.value == ["a"]
