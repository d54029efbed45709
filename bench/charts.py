#!/usr/bin/env python3
# charts.py - draws one PNG per workload and metric from the summary lines
# summarize.py --append wrote into a results file: a bar per system (its
# median), a whisker for its min-max, weft's bars in one colour and the
# peers' in another, the value printed on each bar.  gnuplot (Debian's
# gnuplot-nox) does the drawing; this script only writes its input.
#
# usage: charts.py RESULTS.json OUTDIR
import json
import os
import subprocess
import sys
import tempfile


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if rec.get("summary"):
                # A file summarized twice holds two copies: the last wins.
                key = (rec["workload"], rec["metric"], rec["unit"])
                rows.setdefault(key, {})[rec["row"]] = rec
    return {key: list(byrow.values()) for key, byrow in rows.items()}


def label(v):
    return "%.3g" % v if abs(v) < 1000 else "%.0f" % v


def draw(outdir, workload, metric, unit, recs, meta):
    png = os.path.join(outdir, "%s-%s.png" % (workload, metric))
    better = "higher" if recs[0].get("higher_is_better") else "lower"
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as dat:
        for i, r in enumerate(recs):
            weft = 1 if r["row"].startswith("weft") else 0
            dat.write('%d "%s" %g %g %g %d "%s"\n' % (i, r["row"], r["median"], r["min"],
                                                     r["max"], weft, label(r["median"])))
    title = "%s: %s (%s, %s is better)\\n%s" % (workload, metric, unit, better, meta)
    height = 120 + 36 * len(recs)
    script = "\n".join([
        "set terminal pngcairo size 900,%d font 'DejaVu Sans,10' noenhanced" % height,
        "set output '%s'" % png,
        "set title \"%s\"" % title,
        "set style fill solid 0.8 border -1",
        "set yrange [-0.7:%f] reverse" % (len(recs) - 0.3),
        "set xrange [0:*]",
        "set offsets 0, graph 0.12, 0, 0",
        "set ytics nomirror",
        "set xtics nomirror",
        "set grid xtics",
        "unset key",
        "set xlabel '%s'" % unit,
        "bw = 0.35",
        # A box per row, from 0 to the median; whiskers for min-max; the
        # median written at the right of the whisker.
        "plot '%s' using (0):1:(0):3:($1-bw):($1+bw):(int($6) ? 0x3b6fb6 : 0xb0b0b0):ytic(2) "
        "with boxxyerror lc rgb variable, "
        "'' using 3:1:4:5 with xerrorbars pt -1 lc rgb '#303030', "
        "'' using 5:1:7 with labels left offset 1,0" % dat.name,
    ])
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        os.unlink(dat.name)
    return png


def main():
    if len(sys.argv) != 3:
        print("usage: charts.py RESULTS.json OUTDIR", file=sys.stderr)
        return 2
    path, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    meta = ""
    with open(path) as f:
        first = json.loads(f.readline())
        if first.get("meta"):
            meta = "%s, %s CPUs, %s" % (first.get("cpu", "?"), first.get("cpus", "?"),
                                        first.get("date", "?")[:10])
    for (workload, metric, unit), recs in load(path).items():
        print(draw(outdir, workload, metric, unit, recs, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
