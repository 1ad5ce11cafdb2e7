#!/usr/bin/python3
"""Summaries of troupe-bench JSON files for bench/run.sh (standard library only).

    report.py line RUN.json          one line about one run
    report.py summary --out F.json --svg F.svg [--version k=v] [--setting k=v]
                      [--skipped=server=why] RUN.json...

Run files are named POINT@SERVER@ROUND.json. For each point and server the
rounds' median is compared; ratios are Troupe against the best raw grpc++
server and against Python, on the headline metric and on p50 / p99 latency.
The db points are Troupe's alone (the others do not serve the demo): their
figures are absolute. Paired points (run.sh point_pairs) are compared with each
other instead: Troupe's medians, one over the other, and round by round.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

RAW = ("raw-cq", "raw-callback")
ORDER = ("troupe", "raw-cq", "raw-callback", "python")
# (point, the point it is compared with, what the ratio means): run.sh runs
# each pair side by side.
PAIRS = (("db-get-user-sync-c64", "db-get-user-c64", "GetUser sync handler / self.db"),)


def headline(run):
    """(metric name, value, higher_is_better) that sums up a run."""
    scenario = run["scenario"]
    total = run["total"]
    server = run.get("server", {})
    if scenario == "db-saturation":
        # Non-database unary p99 with the pool saturated, over the same without.
        return "p99 x", run.get("p99_ratio_saturated_to_alone") or None, False
    if scenario == "db" and run["options"].get("db_method") == "upload-logs":
        return "rows/s", total["msgs_per_s"], True
    if scenario == "open-streams":
        return "KiB/stream", server.get("rss_bytes_per_stream", 0) / 1024, False
    if scenario == "slow-reader":
        # What a slow client costs the server: how far its memory grew.
        return "RSS+ MiB", (server.get("rss_kb_peak", 0) - server.get("rss_kb_start", 0)) / 1024, False
    if scenario in ("unary", "mixed", "db"):
        return "calls/s", total["calls_per_s"], True
    return "msgs/s", total["msgs_per_s"], True


def figures(run):
    metric, value, _ = headline(run)
    server = run.get("server", {})
    f = {
        "metric": metric,
        "value": value,
        "p50_ms": latency_ms(run["total"], "p50"),
        "p99_ms": latency_ms(run["total"], "p99"),
        "errors": run["total"]["error_count"],
        "cpu_s_per_1k_calls": server.get("cpu_s_per_1k_calls"),
        "cpu_s_per_1k_msgs": server.get("cpu_s_per_1k_msgs"),
        "rss_kb_peak": server.get("rss_kb_peak"),
    }
    kinds = run.get("by_kind", {})
    if run["scenario"] == "db-saturation":
        for kind in ("unary-alone", "unary-saturated"):
            k = kinds.get(kind)
            f[kind + " p99_ms"] = latency_ms(k, "p99") if k else None
            f[kind + " calls/s"] = k["calls_per_s"] if k else None
        f["db-load calls/s"] = kinds.get("db-load", {}).get("calls_per_s")
    if metric == "rows/s":
        f["calls/s"] = run["total"]["calls_per_s"]
    return f


def latency_ms(kind, q):
    """None for a kind without timed samples (held streams)."""
    lat = kind["latency_us"]
    return lat[q] / 1000.0 if lat["samples"] else None


def line(path):
    run = json.load(open(path))
    f = figures(run)
    point, server, rnd = os.path.basename(path)[:-5].split("@")
    extra = ""
    if run["scenario"] == "db-saturation":
        extra = "  unary p99 %s ms alone, %s ms saturated" % (
            fmt(f["unary-alone p99_ms"], 2), fmt(f["unary-saturated p99_ms"], 2))
    elif f["p99_ms"] is not None:
        extra = "  p50 %.2f ms  p99 %.2f ms" % (f["p50_ms"], f["p99_ms"])
    return "%-20s %-13s round %s: %12s %s%s  errors %d" % (
        point, server, rnd, fmt(f["value"], 2), f["metric"], extra, f["errors"])


def fmt(v, digits=1):
    if v is None:
        return "-"
    return "{:,.{}f}".format(v, digits)


def summary(args):
    runs = {}  # insertion order = the order points were run in
    for path in sorted((p for p in args.runs if os.path.exists(p)), key=os.path.getmtime):
        point, server, rnd = os.path.basename(path)[:-5].split("@")
        run = json.load(open(path))
        runs.setdefault(point, {}).setdefault(server, []).append((int(rnd), run))

    points = {}
    for point, by_server in runs.items():
        entry = {"servers": {}}
        for server, rounds in by_server.items():
            rounds.sort(key=lambda r: r[0])
            each = [figures(r) for _, r in rounds]
            med = {k: median([e[k] for e in each]) for k in each[0] if k != "metric"}
            med["metric"] = each[0]["metric"]
            entry["servers"][server] = {"median": med, "rounds": [r for _, r in rounds]}
            higher = headline(rounds[0][1])[2]
            entry["metric"], entry["higher_is_better"] = med["metric"], higher
        entry["ratios"] = ratios(entry)
        points[point] = entry

    doc = {
        "date": os.path.basename(args.out)[:-5],
        "machine": machine(),
        "versions": dict(kv.split("=", 1) for kv in args.version),
        "settings": dict(kv.split("=", 1) for kv in args.setting),
        "skipped": dict(kv.split("=", 1) for kv in args.skipped),
        "points": points,
        "pairs": pairs(points),
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(tmp, args.out)
    print_table(doc)
    if plot(points, args.svg):
        print("plot:    %s" % args.svg)
    print("results: %s" % args.out)


def pairs(points):
    """Troupe's figures of each paired point over its partner's."""
    out = {}
    for point, base, label in PAIRS:
        a = points.get(point, {}).get("servers", {}).get("troupe")
        b = points.get(base, {}).get("servers", {}).get("troupe")
        if not a or not b:
            continue
        entry = {"label": label, "of": point, "to": base}
        for key in ("value", "p50_ms", "p99_ms", "cpu_s_per_1k_calls"):
            x, y = a["median"].get(key), b["median"].get(key)
            entry[key] = x / y if x and y else None
            entry[key + " of"], entry[key + " to"] = x, y
        # Round n of one ran beside round n of the other.
        if len(a["rounds"]) == len(b["rounds"]):
            entry["value by round"] = [
                figures(x)["value"] / figures(y)["value"] if figures(y)["value"] else None
                for x, y in zip(a["rounds"], b["rounds"])]
        out[point] = entry
    return out


def print_pairs(doc):
    for entry in doc.get("pairs", {}).values():
        metric = doc["points"][entry["of"]]["metric"]
        rounds = entry.get("value by round")
        print("%s (%s / %s): %s %s over %s = %s%s; p50 %s, p99 %s, cpu s/1k %s" % (
            entry["label"], entry["of"], entry["to"], metric, fmt(entry["value of"]),
            fmt(entry["value to"]), fmt(entry["value"], 3),
            " (rounds %s)" % ", ".join(fmt(r, 3) for r in rounds) if rounds else "",
            fmt(entry["p50_ms"], 2), fmt(entry["p99_ms"], 2), fmt(entry["cpu_s_per_1k_calls"], 2)))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratios(entry):
    """Troupe / best raw and Troupe / python on the headline metric (both
    read as 'Troupe's value relative to the other'; for memory, lower is
    better), and on p50 and p99 latency (best raw = the lower one). For
    memory per stream also the difference to the best raw server, in KiB."""
    out = {}
    for key, higher, prefix in (("value", entry["higher_is_better"], ""),
                                ("p50_ms", False, "p50 "), ("p99_ms", False, "p99 ")):
        med = {s: v["median"].get(key) for s, v in entry["servers"].items()}
        if not med.get("troupe"):
            continue
        raw = [med[s] for s in RAW if med.get(s)]
        if raw:
            best = max(raw) if higher else min(raw)
            out[prefix + "troupe/best-raw"] = med["troupe"] / best
            if entry["metric"] == "KiB/stream" and not prefix:
                out["troupe-best-raw KiB"] = med["troupe"] - best
        if med.get("python"):
            out[prefix + "troupe/python"] = med["troupe"] / med["python"]
    return out


def machine():
    model = ""
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                model = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release()}


def print_table(doc):
    servers = [s for s in ORDER if any(s in p["servers"] for p in doc["points"].values())]
    v = doc["versions"]
    print()
    print("grpc %s, CAF %s, protobuf %s; %s (%s cores); settings %s" % (
        v.get("grpc", "?"), v.get("caf", "?"), v.get("protobuf", "?"), doc["machine"]["cpu"],
        doc["machine"]["cores"], ", ".join("%s=%s" % kv for kv in doc["settings"].items())))
    for server, why in doc["skipped"].items():
        print("skipped %s: %s" % (server, why))
    head = "%-20s %-11s" % ("point", "metric") + "".join("%14s" % s for s in servers)
    head += "%17s%15s" % ("troupe/best-raw", "troupe/python")
    print(head)
    print("-" * len(head))
    for point, p in doc["points"].items():
        r = p["ratios"]
        digits = 2 if p["metric"] == "p99 x" else 1
        print(table_row(point, p, servers, "value", p["metric"], digits,
                        r.get("troupe/best-raw"), r.get("troupe/python")))
        if p["metric"] == "KiB/stream" and "troupe-best-raw KiB" in r:
            print("%-20s %-11s" % ("", "beyond raw") + " " * 14 * len(servers) +
                  "%17s" % ("%+.1f KiB" % r["troupe-best-raw KiB"]))
        for key, label in detail_rows(p):
            prefix = label.split()[0] + " "
            digits = 3 if key.endswith("_ms") or key.startswith("cpu_") else 1
            print(table_row("", p, servers, key, label, digits,
                            r.get(prefix + "troupe/best-raw"), r.get(prefix + "troupe/python")))
        errors = {s: p["servers"][s]["median"]["errors"] for s in p["servers"]}
        if any(errors.values()):
            print("%-20s errors      %s" % ("", errors))
    print_pairs(doc)


def detail_rows(p):
    """(figure key, label) rows printed under a point's headline."""
    if p["metric"] == "p99 x":
        return [("unary-alone p99_ms", "p99 alone"), ("unary-saturated p99_ms", "p99 satur."),
                ("unary-alone calls/s", "calls/s al."), ("unary-saturated calls/s", "calls/s sat."),
                ("db-load calls/s", "db-load/s")]
    if p["metric"] in ("KiB/stream", "RSS+ MiB"):
        return []
    rows = [("p50_ms", "p50 ms"), ("p99_ms", "p99 ms")]
    if p["metric"] == "rows/s":
        rows.append(("calls/s", "calls/s"))
    cpu = "cpu_s_per_1k_msgs" if p["metric"] in ("msgs/s", "rows/s") else "cpu_s_per_1k_calls"
    return rows + [(cpu, "cpu s/1k")]


def table_row(name, p, servers, key, label, digits, vs_raw, vs_python):
    row = "%-20s %-11s" % (name, label)
    for s in servers:
        row += "%14s" % fmt(p["servers"].get(s, {}).get("median", {}).get(key), digits)
    return row + "%17s%15s" % (fmt(vs_raw, 2), fmt(vs_python, 2))


def plot(points, svg):
    """QPS and p99 against concurrency for the unary points, one line per server."""
    unary = sorted(((int(name.split("-c")[1]), p) for name, p in points.items()
                    if name.startswith("unary-c")), key=lambda t: t[0])
    if not unary:
        return False
    servers = [s for s in ORDER if any(s in p["servers"] for _, p in unary)]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "unary.dat")
        with open(data, "w") as f:
            for s in servers:
                f.write("# %s\n" % s)
                for c, p in unary:
                    m = p["servers"].get(s, {}).get("median")
                    if m:
                        f.write("%d %f %f\n" % (c, m["value"], m["p99_ms"]))
                f.write("\n\n")
        def lines(column):
            return ", ".join('"%s" index %d using 1:%d with linespoints pointtype 7 pointsize 0.6 title "%s"' % (data, i, column, s)
                             for i, s in enumerate(servers))
        script = "\n".join([
            "set terminal svg size 1000,420 dynamic background rgb 'white'",
            "set output '%s'" % svg,
            "set multiplot layout 1,2 title 'bench.v1.Bench Unary, 16 B payload'",
            "set logscale x 2", "set xlabel 'concurrency'", "set key top left", "set grid",
            "set ylabel 'calls/s'", "set yrange [0:*]", "plot " + lines(2),
            "set ylabel 'p99 latency (ms)'", "plot " + lines(3),
            "unset multiplot",
        ])
        try:
            subprocess.run(["gnuplot"], input=script, text=True, check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print("no plot (gnuplot: %s)" % e, file=sys.stderr)
            return False
    return True


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "line":
        print(line(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["summary"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--version", action="append", default=[])
    ap.add_argument("--setting", action="append", default=[])
    ap.add_argument("--skipped", action="append", default=[])
    ap.add_argument("runs", nargs="*")
    summary(ap.parse_intermixed_args())


if __name__ == "__main__":
    main()
