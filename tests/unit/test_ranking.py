"""The red and black lists: disjoint, only over enough volume, and deterministic on ties."""

from audit_service.domain import kpis, standings

MONTH = "2026-10"


def _figures(
    volume: int, on_time: int, late: int, satisfied: int = 0, rated: int = 0
) -> kpis.Figures:
    """Figures with `volume` holdings, `on_time` of `on_time + late` due replies in time and
    `satisfied` of `rated` ratings satisfied (fact ids are made up: only counts matter)."""
    ids = (str(n) for n in range(10_000))
    return kpis.Figures(
        volume=[next(ids) for _ in range(volume)],
        completed_on_time=[next(ids) for _ in range(on_time)],
        completed_late_or_overdue=[next(ids) for _ in range(late)],
        satisfied=[next(ids) for _ in range(satisfied)],
        rated=[next(ids) for _ in range(rated)],
    )


def _table(**departments: kpis.Figures) -> kpis.Table:
    return {(name, MONTH): figures for name, figures in departments.items()}


def test_no_department_is_on_both_lists() -> None:
    table = _table(a=_figures(9, 9, 0), b=_figures(9, 5, 4), c=_figures(9, 1, 8))
    ranked = standings.ranking(table, MONTH, rule=kpis.Rule(list_min_volume=1, listed=5))
    # Three listable departments: one best, one worst, the middle one on neither list.
    assert (ranked["red_list"], ranked["black_list"]) == (["a"], ["c"])
    two = standings.ranking(_table(a=_figures(9, 9, 0), b=_figures(9, 1, 8)), MONTH)
    assert (two["red_list"], two["black_list"]) == (["a"], ["b"])
    alone = standings.ranking(_table(a=_figures(9, 9, 0)), MONTH)
    assert (alone["red_list"], alone["black_list"]) == ([], [])


def test_lists_name_at_most_listed_each_and_never_overlap() -> None:
    table = _table(**{f"d{n:02}": _figures(10, n, 10 - n) for n in range(11)})
    ranked = standings.ranking(table, MONTH, rule=kpis.Rule(listed=5))
    assert ranked["red_list"] == ["d10", "d09", "d08", "d07", "d06"]
    assert ranked["black_list"] == ["d00", "d01", "d02", "d03", "d04"]
    assert not set(ranked["red_list"]) & set(ranked["black_list"])


def test_a_department_below_the_minimum_volume_is_ranked_but_never_listed() -> None:
    table = _table(
        tiny_good=_figures(2, 2, 0),
        tiny_bad=_figures(2, 0, 2),
        big_good=_figures(6, 6, 0),
        big_bad=_figures(6, 1, 5),
    )
    ranked = standings.ranking(table, MONTH, rule=kpis.Rule(list_min_volume=5))
    assert [r["department"] for r in ranked["rows"]] == [
        "big_good",
        "tiny_good",
        "big_bad",
        "tiny_bad",
    ]
    assert (ranked["red_list"], ranked["black_list"]) == (["big_good"], ["big_bad"])
    nobody = standings.ranking(table, MONTH, rule=kpis.Rule(list_min_volume=7))
    assert (nobody["red_list"], nobody["black_list"]) == ([], [])


def test_a_department_with_nothing_due_is_never_black_listed() -> None:
    table = _table(
        good=_figures(9, 9, 0),
        bad=_figures(9, 2, 7),
        new=_figures(9, 0, 0),
        other=_figures(9, 5, 4),
    )
    ranked = standings.ranking(table, MONTH, rule=kpis.Rule(list_min_volume=1))
    assert ranked["rows"][-1]["department"] == "new"  # no rate: after every present one
    assert ranked["black_list"] == ["bad"]
    assert "new" not in ranked["red_list"]


def test_zero_is_a_rate_and_ranks_before_a_missing_one() -> None:
    table = _table(zero=_figures(9, 5, 5, satisfied=0, rated=4), none=_figures(9, 5, 5))
    ranked = standings.ranking(table, MONTH)
    assert [r["department"] for r in ranked["rows"]] == ["zero", "none"]


def test_ties_break_by_volume_then_department_id() -> None:
    table = _table(b_small=_figures(6, 3, 3), a_small=_figures(6, 3, 3), c_big=_figures(12, 6, 6))
    rows = standings.ranking(table, MONTH)["rows"]
    assert [r["department"] for r in rows] == ["c_big", "a_small", "b_small"]
    # The same table in any insertion order gives the same ranking.
    reordered = dict(reversed(list(table.items())))
    assert standings.ranking(reordered, MONTH)["rows"] == rows
