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
}

# Workloads whose tables show fewer metrics than their bench's.
METRICS_BY_WORKLOAD = {
    "gatherflat": [("per_child_ns", "ns", "wall / N, trivial children; vs the n=1000 row")],
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


def targets(summary):
    """Issue 3's targets, from the summary rows: (what, value, limit, met)."""
    med = {(s["workload"], s["metric"], s["row"]): s["median"] for s in summary}
    out = []
    weft = [v for (w, m, r), v in med.items()
            if w == "gather" and m == "wall_s" and r.startswith("weft-")]
    omp = [v for (w, m, r), v in med.items()
           if w == "gather" and m == "wall_s" and r.startswith("omp-")]
    if weft and omp:
        out.append(("gather: weft wall / omp wall", weft[0] / omp[0], 1.0))
    for mode in ("gather", "wait"):
        by_n = {int(r.rsplit("n=", 1)[1]): v for (w, m, r), v in med.items()
                if w == "gatherflat" and m == "per_child_ns" and " %s n=" % mode in r}
        vals = list(by_n.values())
        if len(vals) > 1 and min(vals) > 0:
            lo, hi = min(by_n), max(by_n)
            out.append(("gatherflat %s: n=%d / n=%d per child" % (mode, hi, lo),
                        by_n[hi] / by_n[lo], 1.25))
            out.append(("gatherflat %s: max / min per child" % mode, max(vals) / min(vals), 1.25))
    for metric, limit in (("p50_us", 50.0), ("p99_us", 500.0)):
        vals = [v for (w, m, r), v in med.items()
                if w == "cancel" and m == metric and r.startswith("weft-")]
        if vals:
            out.append(("cancel: %s (us)" % metric, vals[0], limit))
    return [(what, v, limit, v <= limit) for what, v, limit in out]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    append = "--append" in sys.argv
    if len(args) != 1:
        print("usage: summarize.py [--append] RESULTS.json", file=sys.stderr)
        return 2
    path = args[0]
    runs = []
    failures = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "workload" not in rec or rec.get("summary") or rec.get("target"):
                continue
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
            print("\n%s: %s (%s, %s; lower is better)" % (workload, metric, unit, what))
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
                                "unit": unit, "row": key, "median": m, "min": lo, "max": hi,
                                "runs": n, "ratio_to_weft": ratio,
                                "reference": ref[0] if ref is not None else None})
    met = targets(summary)
    if met:
        print("\ntargets (issue 3; medians)")
        for what, v, limit, ok in met:
            print("  %-44s %10s  <= %-6s %s" % (what, fmt(v), fmt(limit),
                                                 "met" if ok else "MISSED"))
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
