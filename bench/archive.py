#!/usr/bin/env python3
"""The archive benchmark: what an archived row costs on disk, and how fast a query over a big archive runs.

1. Generates `--rows` isolation rows over the last 390 days (the columns the shipped `isolation-history` recorder
   keeps: time, device, actor, comment, scope, account type, device id, report id) as JSON lines.
2. Archives them the way huntbook does: a recorder playbook (`archive: { name: isolations }`) over that file, run
   with `huntbook run --since/--until` window after window of `--window-days` (each window one run, one commit).
   Reports the time per run and rows archived per second.
3. Reports bytes per archived row: the values as stored (`archive_rows.row`), and the whole state file (rows,
   keys, indexes, page overhead) divided by the rows.
4. Times each query over the archive (`huntbook query --archive`) and over the same rows as a `.jsonl` file
   (`huntbook query --data`, the local engine's own format, scanned in place on every core) — the outside
   reference, in the same run: medians of `--runs`, the ratio archive / file, and checks that both answer the same.

Nothing here fails on a slow machine.
"""

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HUNTBOOK = os.path.abspath("target/release/huntbook")

QUERIES = [
    ("device history", 'isolations | where DeviceName == "pc-01234.contoso.example" | top 5 by Timestamp'),
    ("by scope", "isolations | summarize Isolations = count() by IsolationScope | order by IsolationScope asc"),
    ("word in comment", 'isolations | where IsolationComment has "ransomware" | count'),
    ("per month", "isolations | summarize count() by bin(Timestamp, 30d) | order by Timestamp asc"),
]

COMMENTS = [
    "Ransomware behaviour: mass file renames on {d}",
    "Automated investigation {n}: remediation action Isolate device",
    "Credential theft tooling found; keep isolated until reimaged",
    "Beaconing to a rare domain, incident {n}",
    "SOAR playbook Contain-HighSeverityIncident: incident {n}",
]


def generate(path, rows, now, seed=7):
    rng = random.Random(seed)
    start = now - dt.timedelta(days=390)
    span = (now - start).total_seconds()
    times = sorted(rng.random() * span for _ in range(rows))
    with open(path, "w") as out:
        for index, offset in enumerate(times):
            when = start + dt.timedelta(seconds=offset)
            device = f"pc-{rng.randrange(20000):05d}.contoso.example"
            actor = rng.choice(["Automation", f"user{rng.randrange(400)}@contoso.example"])
            comment = rng.choice(COMMENTS).format(d=device, n=rng.randrange(100000))
            out.write(json.dumps({
                "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
                "DeviceName": device,
                "IsolatedBy": actor,
                "IsolationComment": comment,
                "IsolationScope": rng.choice(["Full", "Selective"]),
                "AccountType": "Regular" if "@" in actor else "System",
                "DeviceId": f"{rng.getrandbits(160):040x}",
                "ReportId": f"{rng.getrandbits(128):032x}-{index}",
            }) + "\n")
    return start


def run(args, cwd, capture=True):
    started = time.perf_counter()
    done = subprocess.run([HUNTBOOK, *args], cwd=cwd, capture_output=capture, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"huntbook {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--window-days", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", help="work in this directory and keep it")
    options = parser.parse_args()
    root = options.keep or tempfile.mkdtemp(prefix="huntbook-archive-")
    os.makedirs(os.path.join(root, "source"), exist_ok=True)
    os.makedirs(os.path.join(root, "file"), exist_ok=True)
    os.makedirs(os.path.join(root, "playbooks"), exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    source = os.path.join(root, "source", "IsolationEvents.jsonl")
    started = time.perf_counter()
    first = generate(source, options.rows, now)
    # The reference: the same rows, as the table `isolations` in a directory of its own.
    reference = os.path.join(root, "file", "isolations.jsonl")
    if os.path.exists(reference):
        os.remove(reference)
    os.link(source, reference)
    print(f"generated {options.rows:,} rows ({os.path.getsize(source) / options.rows:.0f} bytes each as JSON lines) "
          f"in {time.perf_counter() - started:.1f} s")

    with open(os.path.join(root, "playbooks", "recorder.yaml"), "w") as out:
        out.write("id: recorder\ntitle: Keeps every isolation\nseverity: informational\nschedule: { every: 1d }\n"
                  "query: IsolationEvents\narchive: { name: isolations, retention: 400d }\n")
    with open(os.path.join(root, "huntbook.yaml"), "w") as out:
        out.write("state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: source }\n"
                  "receivers:\n  files: { file: { dir: out } }\n")
    state = os.path.join(root, "huntbook.db")
    for leftover in (state, state + "-wal", state + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)

    window = dt.timedelta(days=options.window_days)
    times, cursor = [], first - dt.timedelta(seconds=1)
    while cursor < now:
        end = min(cursor + window, now + dt.timedelta(seconds=1))
        elapsed, out = run(["run", "recorder", "--since", cursor.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "--until", end.strftime("%Y-%m-%dT%H:%M:%SZ")], root)
        times.append(elapsed)
        cursor = end
    total = sum(times)
    db = sqlite3.connect(state, isolation_level=None)
    archived, row_bytes = db.execute(
        "SELECT COUNT(*), SUM(length(row)) FROM archive_rows WHERE archive = 'isolations'").fetchone()
    # The seen keys of the recorder's hits expire after 35 days; what stays is the archive (and the run history).
    db.execute("DELETE FROM seen_keys")
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    file_bytes = os.path.getsize(state)
    print(f"archived {archived:,} rows in {len(times)} runs of {options.window_days} days: "
          f"{total:.1f} s, median {statistics.median(times):.2f} s a run, {archived / total:,.0f} rows/s")
    if archived != options.rows:
        sys.exit(f"expected {options.rows:,} archived rows")
    print(f"bytes per archived row: {row_bytes / archived:.0f} of stored values, {file_bytes / archived:.0f} of state "
          f"file (keys, indexes and pages included, after the seen keys expired; {file_bytes / 1e6:.0f} MB in all)")

    print(f"\n{'query':<18} {'archive':>9} {'.jsonl':>9} {'ratio':>7}")
    for name, query in QUERIES:
        archive_args = ["query", "--archive", "--data", "nowhere", "--format", "csv", query]
        file_args = ["query", "--data", "file", "--format", "csv", query]
        _, from_archive = run(archive_args, root)
        _, from_file = run(file_args, root)
        if from_archive != from_file:
            sys.exit(f"{name}: the archive and the file disagree:\n{from_archive[:500]}\n---\n{from_file[:500]}")
        archive_times, file_times = [], []
        for _ in range(options.runs):
            archive_times.append(run(archive_args, root)[0])
            file_times.append(run(file_args, root)[0])
        a, f = statistics.median(archive_times), statistics.median(file_times)
        print(f"{name:<18} {a:>8.3f}s {f:>8.3f}s {a / f:>6.2f}x")
    if not options.keep:
        print(f"\n(work directory {root} removed)")
        subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
