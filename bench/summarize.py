#!/usr/bin/env python3
# summarize.py - reads the JSON lines bench/run wrote (one per program result,
# each tagged with workload, label, round and warmup) and prints one table
# per workload and metric: median, min-max and the ratio to weft over the
# counted runs.  With --append it also appends one {"summary": ...} JSON
# line per table row to the same file.  Standard library only.
import json
import statistics
import sys

# The metrics shown for each program, by its "bench" field: (key, unit, what).
METRICS = {
    "fib": [("wall_s", "s", "wall time")],
    "skynet": [("wall_s", "s", "wall time")],
    "spawn": [("ns_per_pair", "ns", "per spawn+await pair")],
    "yield": [("ns_per_switch", "ns", "per switch")],
    "sleepers": [("wall_s", "s", "first spawn to last wake-up"),
                 ("kib_per_task", "KiB", "peak RSS growth / N"),
                 ("kib_per_live", "KiB", "peak RSS growth / live at first wake")],
    "gather": [("wall_s", "s", "spawn N + collect + release, median round"),
               ("per_child_ns", "ns", "wall / N")],
    "cancel": [("p50_us", "us", "cancel to resumption, median"),
               ("p99_us", "us", "cancel to resumption, 99th percentile"),
               ("max_us", "us", "cancel to resumption, worst")],
    "echo": [("round_trips_per_s", "1/s", "round trips per second, all connections"),
             ("p50_us", "us", "round-trip latency, median"),
             ("p99_us", "us", "round-trip latency, 99th percentile")],
    "pingpong": [("ns_per_roundtrip", "ns", "per round trip through two unbuffered channels")],
    "timers": [("late_p50_us", "us", "wake-up after the deadline, median"),
               ("late_p99_us", "us", "wake-up after the deadline, 99th percentile"),
               ("late_max_us", "us", "wake-up after the deadline, worst")],
    "mixed": [("round_trips_per_s", "1/s", "round trips per second, all connections"),
              ("p50_us", "us", "round-trip latency, median"),
              ("p99_us", "us", "round-trip latency, 99th percentile")],
}

# The metrics where more is better; every other one is lower-is-better.
HIGHER_IS_BETTER = {"round_trips_per_s", "busy_share"}

# Workloads whose tables show other metrics than their bench's.
METRICS_BY_WORKLOAD = {
    "gatherflat": [("per_child_ns", "ns", "wall / N, trivial children; vs the n=1000 row")],
    "skynet": [("wall_s", "s", "wall time, children awaited in spawn order"),
               ("peak_rss_kib", "KiB", "peak resident set")],
    "skynetyf": [("wall_s", "s", "wall time, children awaited youngest first"),
                 ("peak_rss_kib", "KiB", "peak resident set")],
    "timersbusy": METRICS["timers"] + [
        ("busy_share", "share", "of the workers' time the busy tasks burned meanwhile")],
    "mixedskew": [("p99_us", "us", "light connections' round trip, 99th percentile"),
                  ("max_us", "us", "light connections' round trip, worst"),
                  ("round_trips_per_s", "1/s", "light connections' round trips per second"),
                  ("heavy_p50_us", "us", "the 2 heavy connections' round trip (~20 ms), median")],
}


def fmt(x):
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return "%.1f" % x
    return "%.4g" % x


def row_key(rec):
    key = rec["label"]
    if "mode" in rec:
        key += " " + rec["mode"]
    if rec.get("bench") == "gather":
        key += " n=%d" % rec["n"]
    return key


def reference(rows):
    """The row ratios are taken against: weft with the same mode and the most
    workers, and of those the smallest n (rows is a list of (key, sample
    record)).  So gatherflat's ratios are each size against n = 1000."""
    refs = {}
    for key, rec in rows:
        if rec.get("system") != "weft":
            continue
        mode = rec.get("mode")
        best = refs.get(mode)
        rank = (rec.get("workers", 0), -rec.get("n", 0))
        if best is None or rank > (best[1].get("workers", 0), -best[1].get("n", 0)):
            refs[mode] = (key, rec)
    return refs


def targets(summary, records=()):
    """The targets of the issues, from the summary rows: (what, value,
    limit, met).  A ratio "a / b" is of medians; "W" is the most workers
    weft ran with (the machine's CPUs).  records are the counted program
    results, failed runs included, for the targets that no median can
    answer (a timer that woke early fails its run)."""
    med = {(s["workload"], s["metric"], s["row"]): s["median"] for s in summary}

    def row(workload, metric, prefix, exact=False):
        vals = sorted(((r, v) for (w, m, r), v in med.items()
                       if w == workload and m == metric and
                       (r == prefix if exact else r.startswith(prefix))),
                      key=lambda rv: -int(rv[0].rsplit("-", 1)[1])
                      if rv[0].rsplit("-", 1)[-1].isdigit() else 0)
        return vals[0][1] if vals else None

    out = []

    def ratio(what, a, b, limit, at_least=False):
        if a is not None and b is not None and b > 0:
            out.append((what, a / b, limit, at_least))

    ratio("fib35: weft / oneTBB wall", row("fib35", "wall_s", "weft-"),
          row("fib35", "wall_s", "tbb-"), 0.3)
    ratio("skynet: weft / oneTBB wall", row("skynet", "wall_s", "weft-"),
          row("skynet", "wall_s", "tbb-"), 1.0)
    ratio("skynet: spawn order / youngest first, weft wall", row("skynet", "wall_s", "weft-"),
          row("skynetyf", "wall_s", "weft-"), 1.1)
    ratio("skynet: spawn order / youngest first, weft peak RSS",
          row("skynet", "peak_rss_kib", "weft-"), row("skynetyf", "peak_rss_kib", "weft-"), 1.5)
    ratio("gather: weft / OpenMP wall", row("gather", "wall_s", "weft-"),
          row("gather", "wall_s", "omp-"), 1.0)
    for mode in ("gather", "wait"):
        by_n = {int(r.rsplit("n=", 1)[1]): v for (w, m, r), v in med.items()
                if w == "gatherflat" and m == "per_child_ns" and " %s n=" % mode in r}
        vals = list(by_n.values())
        if len(vals) > 1 and min(vals) > 0:
            out.append(("gatherflat %s: max / min per child" % mode,
                        max(vals) / min(vals), 1.25, False))
    for metric, limit in (("p50_us", 50.0), ("p99_us", 500.0)):
        v = row("cancel", metric, "weft-")
        if v is not None:
            out.append(("cancel: %s (us)" % metric, v, limit, False))
    ratio("sleepers100k: weft / Go wall", row("sleepers100k", "wall_s", "weft-"),
          row("sleepers100k", "wall_s", "go-"), 1.0)
    v = row("sleepers100k", "kib_per_task", "weft-")
    if v is not None:
        out.append(("sleepers100k: KiB per task", v, 5.0, False))
    ratio("pingpong 1 worker: weft / Go ns", row("pingpong", "ns_per_roundtrip", "weft-1", True),
          row("pingpong", "ns_per_roundtrip", "go-1", True), 0.5)
    ratio("pingpong W workers: weft / Go ns", row("pingpong", "ns_per_roundtrip", "weft-"),
          row("pingpong", "ns_per_roundtrip", "go-"), 1.0)
    # Issue "Tasks stay home": weft at 2 workers beside one-thread libuv,
    # Go at its most Ps, and weft at 1 worker.
    rts = "round_trips_per_s"
    ratio("echo50: weft-2 / Go round trips/s", row("echo50", rts, "weft-2", True),
          row("echo50", rts, "go-"), 1.2, True)
    ratio("echo50: weft-2 / libuv round trips/s", row("echo50", rts, "weft-2", True),
          row("echo50", rts, "libuv", True), 1.0, True)
    ratio("echo50: weft-2 / weft-1 round trips/s", row("echo50", rts, "weft-2", True),
          row("echo50", rts, "weft-1", True), 1.0, True)
    ratio("echo1: weft / libuv p50", row("echo1", "p50_us", "weft-"),
          row("echo1", "p50_us", "libuv", True), 1.15)
    for workload in ("timers", "timersbusy"):
        v = row(workload, "late_p99_us", "weft-")
        if v is not None:
            out.append(("%s: p99 lateness (us)" % workload, v, 1000.0, False))
        ratio("%s: weft / Go p99 lateness" % workload, row(workload, "late_p99_us", "weft-"),
              row(workload, "late_p99_us", "go-"), 1.0)
        early = [r.get("early") for r in records
                 if r.get("workload") == workload and r.get("system") == "weft"
                 and isinstance(r.get("early"), int)]
        if early:
            out.append(("%s: weft early wake-ups, worst run" % workload, max(early), 0, False))
    ratio("mixed0: weft / Go round trips/s", row("mixed0", rts, "weft-"),
          row("mixed0", rts, "go-"), 1.0, True)
    ratio("mixed20us: weft / Go round trips/s", row("mixed20us", rts, "weft-"),
          row("mixed20us", rts, "go-"), 1.0, True)
    ratio("mixed20us: weft / Go p99", row("mixed20us", "p99_us", "weft-"),
          row("mixed20us", "p99_us", "go-"), 1.0)
    ratio("mixedskew: weft / Go light worst latency", row("mixedskew", "max_us", "weft-"),
          row("mixedskew", "max_us", "go-"), 1.5)
    return [(what, v, limit, v >= limit if at_least else v <= limit)
            for what, v, limit, at_least in out]


def scaling(summary):
    """Speed-ups from one worker to k, per system, of the fork-join
    workloads: (workload, system, k, wall at 1 / wall at k)."""
    wall = {(s["workload"], s["row"]): s["median"] for s in summary
            if s["metric"] == "wall_s" and s["workload"] in ("fib30", "fib35", "skynet")}
    out = []
    for (workload, row), v in wall.items():
        system, _, k = row.rpartition("-")
        if not k.isdigit() or int(k) < 2 or v <= 0:
            continue
        one = wall.get((workload, system + "-1"))
        if one is not None:
            out.append((workload, system, int(k), one / v))
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    append = "--append" in sys.argv
    if len(args) != 1:
        print("usage: summarize.py [--append] RESULTS.json", file=sys.stderr)
        return 2
    path = args[0]
    runs = []
    counted = []  # every counted (not warm-up) program result, failed or not
    failures = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "workload" not in rec or rec.get("summary") or rec.get("target"):
                continue
            if "error" not in rec and not rec.get("warmup"):
                counted.append(rec)
            if "error" in rec:
                failures.append(rec)
            elif rec.get("run_ok") is False or rec.get("check") != "ok":
                continue
            elif not rec.get("warmup"):
                runs.append(rec)

    # workload -> row key -> list of records, in first-seen order.
    table = {}
    for rec in runs:
        table.setdefault(rec["workload"], {}).setdefault(row_key(rec), []).append(rec)

    summary = []
    for workload, rows in table.items():
        bench = next(iter(rows.values()))[0]["bench"]
        samples = [(key, recs[0]) for key, recs in rows.items()]
        refs = reference(samples)
        metrics = METRICS_BY_WORKLOAD.get(workload) or METRICS.get(bench) or [
            ("wall_s", "s", "wall time")]
        for metric, unit, what in metrics:
            med = {}
            for key, recs in rows.items():
                vals = [r[metric] for r in recs if isinstance(r.get(metric), (int, float))]
                if vals:
                    med[key] = (statistics.median(vals), min(vals), max(vals), len(vals))
            if not med:
                continue
            better = "higher" if metric in HIGHER_IS_BETTER else "lower"
            print("\n%s: %s (%s, %s; %s is better)" % (workload, metric, unit, what, better))
            print("  %-24s %12s %25s %6s %8s" % ("system", "median", "min - max", "runs",
                                                "vs weft"))
            for key, recs in rows.items():
                if key not in med:
                    continue
                m, lo, hi, n = med[key]
                ref = refs.get(recs[0].get("mode"))
                ratio = None
                if ref is not None and ref[0] in med and med[ref[0]][0] > 0:
                    ratio = m / med[ref[0]][0]
                mark = " (ref)" if ref is not None and ref[0] == key else ""
                print("  %-24s %12s %25s %6d %8s%s" % (
                    key, fmt(m), "%s - %s" % (fmt(lo), fmt(hi)), n,
                    "%.2fx" % ratio if ratio is not None else "-", mark))
                summary.append({"summary": True, "workload": workload, "metric": metric,
                                "unit": unit, "higher_is_better": metric in HIGHER_IS_BETTER,
                                "row": key, "median": m, "min": lo, "max": hi,
                                "runs": n, "ratio_to_weft": ratio,
                                "reference": ref[0] if ref is not None else None})
    met = targets(summary, counted)
    if met:
        print("\ntargets (medians)")
        for what, v, limit, ok in met:
            print("  %-44s %10s  %s %-6s %s" % (what, fmt(v), "target", fmt(limit),
                                                 "met" if ok else "MISSED"))
    speedups = scaling(summary)
    if speedups:
        print("\nscaling (median wall at 1 worker / at k workers)")
        for workload, system, k, x in speedups:
            print("  %-10s %-8s 1 -> %-3d %6.2fx" % (workload, system, k, x))
    if failures:
        print("\nFAILED runs: %d" % len(failures))
        for rec in failures:
            print("  %s %s round %s: %s" % (rec.get("workload"), rec.get("label"),
                                             rec.get("round"),
                                             rec.get("error", "check " + str(rec.get("check")))))
    if append:
        with open(path, "a") as f:
            for s in summary:
                f.write(json.dumps(s, sort_keys=False) + "\n")
            for what, v, limit, ok in met:
                f.write(json.dumps({"target": True, "what": what, "value": v,
                                    "limit": limit, "met": ok}) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
