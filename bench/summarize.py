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
    return key


def reference(rows):
    """The row ratios are taken against: weft with the same mode and the most
    workers (rows is a list of (key, sample record))."""
    refs = {}
    for key, rec in rows:
        if rec.get("system") != "weft":
            continue
        mode = rec.get("mode")
        best = refs.get(mode)
        if best is None or rec.get("workers", 0) > best[1].get("workers", 0):
            refs[mode] = (key, rec)
    return refs


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
            if "workload" not in rec or rec.get("summary"):
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
        for metric, unit, what in METRICS.get(bench, [("wall_s", "s", "wall time")]):
            med = {}
            for key, recs in rows.items():
                vals = [r[metric] for r in recs if isinstance(r.get(metric), (int, float))]
                if vals:
                    med[key] = (statistics.median(vals), min(vals), max(vals), len(vals))
            if not med:
                continue
            print("\n%s: %s (%s, %s; lower is better)" % (workload, metric, unit, what))
            print("  %-18s %12s %25s %6s %8s" % ("system", "median", "min - max", "runs",
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
                print("  %-18s %12s %25s %6d %8s%s" % (
                    key, fmt(m), "%s - %s" % (fmt(lo), fmt(hi)), n,
                    "%.2fx" % ratio if ratio is not None else "-", mark))
                summary.append({"summary": True, "workload": workload, "metric": metric,
                                "unit": unit, "row": key, "median": m, "min": lo, "max": hi,
                                "runs": n, "ratio_to_weft": ratio,
                                "reference": ref[0] if ref is not None else None})
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
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
