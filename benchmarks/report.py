"""The bench's table: each figure, its baseline, and the target of issue 14 beside it."""

from typing import Any

MEMORY_LIMIT_MB = 150
# "Flat": between the last two samples (after the paced run, after the lifecycles, with
# thousands more appeals in every database) a service grows by less than this.
FLAT_GROWTH_MB = 15
BENCH_LIMIT_SECONDS = 600


def _check(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, figure, baseline/context, target + verdict) per line."""
    accept, latency = results["accept"], results["latency"]
    cycles, drain, replay = results["lifecycles"], results["drain"], results["replay"]
    sql = accept["sql"]
    memory = results["memory"]
    peak = max(sample["rss_mb"] for samples in memory.values() for sample in samples)
    growth = max(samples[-1]["rss_mb"] - samples[-2]["rss_mb"] for samples in memory.values())
    took = results["bench_seconds"]
    return [
        (
            "intake accepted/s",
            f"{accept['intake_per_s']} ({accept['ratio']} of bare)",
            f"bare insert+commit {accept['bare_insert_per_s']}/s; CPU ms/request"
            f" {accept['cpu_ms_per_request']['intake']} vs {accept['cpu_ms_per_request']['bare']}",
            f">= 0.5 of bare: {_check(accept['ratio'] >= 0.5)}",
        ),
        (
            "intake SQL statements/appeal",
            f"{sql['per_command']}",
            f"+{sql['transaction_control_per_command']} BEGIN/COMMIT,"
            f" +{sql['relay_per_command']} relay",
            f"<= 6: {_check(sql['per_command'] <= 6)}",
        ),
        (
            f"POST->assigned at {latency['rate_per_s']:g}/s p50",
            f"{latency['p50_ms']} ms",
            f"{latency['seconds']:g} s, {latency['sent']} sent, {latency['errors']} errors",
            f"<= 20 ms, 0 errors: {_check(latency['p50_ms'] <= 20 and not latency['errors'])}",
        ),
        (
            "POST->assigned p99",
            f"{latency['p99_ms']} ms",
            f"max {latency['max_ms']} ms; POST alone p99 {latency['post']['p99_ms']} ms",
            f"<= 100 ms: {_check(latency['p99_ms'] <= 100)}",
        ),
        (
            "whole lifecycles/s",
            f"{cycles['lifecycles_per_s']}",
            f"{cycles['concurrency']} at once, p50 {cycles['p50_ms']} ms,"
            f" p99 {cycles['p99_ms']} ms, {cycles['errors']} errors; started after"
            f" {results.get('catch_up_after_paced_seconds', '?')} s of catch-up",
            f">= 50, 0 errors: {_check(cycles['lifecycles_per_s'] >= 50 and not cycles['errors'])}",
        ),
        (
            "dispatch drain assigned/s",
            f"{drain['assigned_per_s']}",
            f"backlog {drain['appeals']} appeals",
            f">= 1000: {_check(drain['assigned_per_s'] >= 1000)}",
        ),
        (
            "audit replay facts/s",
            f"{replay['replay_facts_per_s']} ({replay['ratio']} of plain)",
            f"a whole replay, checked in place beside a live store holding the log; plain"
            f" aiokafka {replay['plain_consume_per_s']}/s; the pass over the log alone"
            f" {replay['pass_alone_ratio']} of plain, with the comparison by bytes after it"
            f" {replay['pass_and_comparison_ratio']}. A rebuild (a live store"
            f" that differs): into an empty store {replay['rebuild_facts_per_s']}/s"
            f" ({replay['rebuild_ratio']} of plain), beside the live store"
            f" {replay['beside_live_ratio']}; PostgreSQL alone storing the rows"
            f" {replay['database_floor_ratio']}",
            f">= 0.3 of plain: {_check(replay['ratio'] >= 0.3)}",
        ),
        (
            "largest service RSS",
            f"{peak} MB",
            f"largest growth over the lifecycles {round(growth, 1)} MB",
            f"< {MEMORY_LIMIT_MB} MB, flat (< {FLAT_GROWTH_MB} MB):"
            f" {_check(peak < MEMORY_LIMIT_MB and growth < FLAT_GROWTH_MB)}",
        ),
        (
            "make bench duration",
            f"{took} s",
            "",
            f"<= {BENCH_LIMIT_SECONDS} s: {_check(took <= BENCH_LIMIT_SECONDS)}",
        ),
    ]


def print_table(results: dict[str, Any]) -> None:
    table = rows(results)
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    print(f"\n{'measure':{widths[0]}}  {'figure':{widths[1]}}  {'beside it':{widths[2]}}  target")
    for name, figure, context, target in table:
        print(f"{name:{widths[0]}}  {figure:{widths[1]}}  {context:{widths[2]}}  {target}")
    for service, samples in results["memory"].items():
        shown = ", ".join(f"{s['after']} {s['rss_mb']} MB" for s in samples)
        print(f"  RSS {service}: {shown}")
    takeover = results["takeover"]
    for sig, limit in (("sigkill", 5), ("sigterm", 1)):
        for what in ("partitions", "relay"):
            figure = takeover[f"{sig}_{what}_s"]
            print(
                f"takeover after {sig.upper()}, {what}: median {figure['median']} s, "
                f"max {figure['max']} s (target < {limit} s)"
            )
    large, small = results["proofs"]["large"], results["proofs"]["small"]
    for what in ("inclusion", "consistency"):
        print(
            f"{what} proof p50 at {large['facts']:,} facts {large[f'{what}_p50_ms']} ms,"
            f" at {small['facts']:,} {small[f'{what}_p50_ms']} ms"
            f" (ratio {results['proofs'][f'{what}_ratio']})"
        )
    load = results["machine"]
    print(
        f"load average at start {load['load_average_at_start']},"
        f" at end {load['load_average_at_end']} ({load['cpus']} CPUs)"
    )
