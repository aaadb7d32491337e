#!/usr/bin/env python3
"""huntbook's KQL engine against DuckDB on the same million-row NDJSON file, whole process each.

For each of four queries — the KQL that `huntbook query` runs and the equivalent SQL that DuckDB runs over the
same CloudAppEvents.jsonl — the script checks that both give the same rows, then times several alternating
runs of each (after a warm-up that puts the file in the page cache) and prints the median time of each, the
ratio huntbook / DuckDB (below 1 means huntbook is faster), and the peak resident memory of each process.

Run it through `bench/run`, which builds huntbook, installs the pinned DuckDB into a virtualenv and makes the
data. A benchmark is a measurement, not a test: nothing here fails because a machine is slow.
"""

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"

QUERIES = [
    (
        "a: filter ActionType, project 3 RawEventData members",
        """CloudAppEvents
| where ActionType == "IsolateDevice"
| extend d = parse_json(RawEventData)
| project Timestamp, DeviceName = tostring(d.DeviceName), Scope = tostring(d.ActionScope), Comment = tostring(d.ActionComment)""",
        """SELECT Timestamp, RawEventData->>'DeviceName' AS DeviceName, RawEventData->>'ActionScope' AS Scope,
       RawEventData->>'ActionComment' AS Comment
FROM {events} WHERE ActionType = 'IsolateDevice'""",
    ),
    (
        "b: Workload contains Defender, count by ActionType",
        """CloudAppEvents
| extend Workload = tostring(parse_json(RawEventData).Workload)
| where Workload contains "Defender"
| summarize count() by ActionType""",
        """SELECT ActionType, count(*) AS count_ FROM {events}
WHERE (RawEventData->>'Workload') ILIKE '%defender%' GROUP BY ActionType""",
    ),
    (
        "c: releases lookup their isolations",
        """let isolations = CloudAppEvents
    | where ActionType == "IsolateDevice"
    | project IsolatedAt = Timestamp, Device = tostring(RawEventData.DeviceName), IsolatedBy = tostring(RawEventData.UserId), Why = tostring(RawEventData.ActionComment);
CloudAppEvents
| where ActionType == "ReleaseFromIsolation"
| project ReleasedAt = Timestamp, Device = tostring(RawEventData.DeviceName)
| lookup kind=leftouter isolations on $left.Device == $right.Device""",
        """WITH events AS (SELECT Timestamp, ActionType, RawEventData FROM {events}),
isolations AS (
    SELECT Timestamp AS IsolatedAt, RawEventData->>'DeviceName' AS Device, RawEventData->>'UserId' AS IsolatedBy,
           RawEventData->>'ActionComment' AS Why
    FROM events WHERE ActionType = 'IsolateDevice'),
releases AS (
    SELECT Timestamp AS ReleasedAt, RawEventData->>'DeviceName' AS Device FROM events WHERE ActionType = 'ReleaseFromIsolation')
SELECT releases.ReleasedAt, releases.Device, isolations.IsolatedAt, isolations.IsolatedBy, isolations.Why
FROM releases LEFT JOIN isolations ON releases.Device = isolations.Device""",
    ),
    (
        "d: distinct of an extracted member",
        """CloudAppEvents
| extend Workload = tostring(RawEventData.Workload)
| distinct Workload""",
        """SELECT DISTINCT RawEventData->>'Workload' AS Workload FROM {events}""",
    ),
]

# DuckDB reads the columns the query needs, typed as huntbook's built-in schema types them.
EVENTS = ("read_ndjson('{path}', columns={{'Timestamp': 'TIMESTAMP', 'ActionType': 'VARCHAR', "
          "'RawEventData': 'JSON'}})")

DUCKDB_PROGRAM = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("COPY (" + sys.argv[1] + ") TO '/dev/stdout' (FORMAT CSV, HEADER)")
"""


def run(command, capture=False):
    """Runs a command to completion; returns (seconds, peak RSS in bytes, stdout or None).

    The peak RSS comes from GNU time, not from wait4 here: a child's ru_maxrss counts the pages of the process
    that forked it (this script) until it execs, and GNU time is a small parent."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        completed = subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name, *command],
                                   stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            sys.exit(f"failed: {' '.join(command[:3])} ...\n{completed.stderr.decode(errors='replace')}")
        peak_kib = int(report.read().split()[-1])
    return elapsed, peak_kib * 1024, completed.stdout if capture else None


def normalized(output, drop_times):
    """Rows of a CSV output as sorted tuples; times are dropped (DuckDB keeps microseconds, Kusto ticks)."""
    rows = list(csv.reader(io.StringIO(output.decode())))
    header, body = rows[0], rows[1:]
    keep = [i for i, name in enumerate(header) if not (drop_times and name.endswith(("At", "Timestamp")))]
    return sorted(tuple(row[i] for i in keep) for row in body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--huntbook", default="target/release/huntbook")
    parser.add_argument("--data", default="bench/data", help="directory with CloudAppEvents.jsonl")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    path = os.path.abspath(os.path.join(args.data, "CloudAppEvents.jsonl"))
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 24), b""))
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"{GNU_TIME} (GNU time) is needed to measure peak memory: apt-get install time")
    version = subprocess.run([sys.executable, "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()

    print(f"data: {path}: {rows:,} rows, {size / 1e9:.2f} GB; DuckDB {version}; "
          f"{os.cpu_count()} cores; {args.runs} runs per query, medians\n")

    results = []
    for name, kql, sql in QUERIES:
        sql = sql.format(events=EVENTS.format(path=path))
        ours = [args.huntbook, "query", "--data", args.data, "--format", "csv", kql]
        theirs = [sys.executable, "-c", DUCKDB_PROGRAM, sql]
        # Warm-up, and the check that both answer the same.
        _, _, our_output = run(ours, capture=True)
        _, _, their_output = run(theirs, capture=True)
        ours_rows, theirs_rows = normalized(our_output, True), normalized(their_output, True)
        if ours_rows != theirs_rows:
            sys.exit(f"{name}: huntbook and DuckDB disagree ({len(ours_rows)} vs {len(theirs_rows)} rows)")
        our_times, their_times, our_memory, their_memory = [], [], [], []
        for _ in range(args.runs):
            seconds, memory, _ = run(ours)
            our_times.append(seconds)
            our_memory.append(memory)
            seconds, memory, _ = run(theirs)
            their_times.append(seconds)
            their_memory.append(memory)
        ours_median, theirs_median = statistics.median(our_times), statistics.median(their_times)
        results.append((name, len(ours_rows), ours_median, theirs_median, max(our_memory), max(their_memory)))
        print(f"{name}: huntbook {ours_median:.2f} s, DuckDB {theirs_median:.2f} s, "
              f"ratio {ours_median / theirs_median:.2f}", flush=True)

    print("\n| query | result rows | huntbook | DuckDB | huntbook / DuckDB | huntbook peak RSS | DuckDB peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, count, ours, theirs, our_rss, their_rss in results:
        print(f"| {name} | {count:,} | {ours:.2f} s | {theirs:.2f} s | **{ours / theirs:.2f}** | "
              f"{our_rss / 2**20:.0f} MiB | {their_rss / 2**20:.0f} MiB |")
    print(f"\nfile size {size / 2**20:,.0f} MiB; every huntbook peak RSS is "
          f"{'below' if all(r[4] < size for r in results) else 'NOT below'} it.")


if __name__ == "__main__":
    main()
