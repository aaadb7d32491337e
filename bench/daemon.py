#!/usr/bin/env python3
"""The daemon benchmark: many playbooks firing every minute, over the local source and against the emulator.

For each scenario it starts `huntbook daemon` (release build) over a generated workspace, lets the first round of
fires pass, then measures a steady window of `--seconds`:

- CPU per fire: the daemon's user + system time over the window (from /proc) divided by the fires in it — the
  whole cost of a fire (scheduling, the query, the commit), so an upper bound of the scheduler's own overhead;
- fire lateness p50 / p99: from the daemon's own `huntbook_fire_lateness_seconds` histogram (the difference of two
  scrapes, interpolated within buckets);
- RSS at the end of the window;

and, with hourly playbooks, the idle CPU once every playbook has fired. The outside reference, timed in the same
run on the same workspace: `huntbook run --all` as cron would start it (one process per round), CPU per playbook.
Also the time `huntbook validate` takes over 1,000 playbooks. Nothing here fails on a slow machine.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HUNTBOOK = os.path.abspath("target/release/huntbook")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_workspace(root, count, schedule, source):
    os.makedirs(os.path.join(root, "playbooks"), exist_ok=True)
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    # Tiny data, older than any window: each run queries, finds nothing new, commits.
    with open(os.path.join(root, "data", "CloudAppEvents.jsonl"), "w") as out:
        for index in range(20):
            out.write(json.dumps({"Timestamp": f"2026-01-01T00:{index:02d}:00Z", "ActionType": f"A{index % 5}"}) + "\n")
    for index in range(count):
        with open(os.path.join(root, "playbooks", f"p{index:05d}.yaml"), "w") as out:
            out.write(
                f"id: p{index:05d}\ntitle: Playbook {index}\nseverity: low\nschedule: {schedule}\n"
                f"query: CloudAppEvents | where ActionType == \"A{index % 5}\" | project Timestamp, ActionType\n"
                "notify:\n  - to: [files]\n"
            )
    port = free_port()
    with open(os.path.join(root, "huntbook.yaml"), "w") as out:
        out.write("state: huntbook.db\nplaybooks: playbooks\n" + source + f"\nhttp: {{ listen: 127.0.0.1:{port} }}\n"
                  "receivers:\n  files: { file: { dir: out } }\n")
    return port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    runs = sum(float(v) for v in re.findall(r"^huntbook_runs_total\{[^}]*\} (\S+)$", text, re.M))
    buckets = [(float("inf") if le == "+Inf" else float(le), float(v))
               for le, v in re.findall(r'^huntbook_fire_lateness_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M)]
    return runs, sorted(buckets)


def percentile(before, after, share):
    """The `share` quantile of the observations between two scrapes of a cumulative histogram."""
    deltas = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
    total = deltas[-1][1]
    if total <= 0:
        return float("nan")
    wanted = share * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in deltas:
        if count >= wanted:
            if le == float("inf"):
                return lower_le
            span = count - lower_count
            return lower_le + (le - lower_le) * ((wanted - lower_count) / span if span else 1.0)
        lower_le, lower_count = le, count
    return lower_le


def start_daemon(root):
    log = open(os.path.join(root, "daemon.log"), "w")
    process = subprocess.Popen([HUNTBOOK, "daemon", "-q", "-c", "huntbook.yaml"], cwd=root, stdout=subprocess.DEVNULL,
                               stderr=log)
    return process


def wait_for_runs(port, process, count, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"the daemon exited with {process.returncode}")
        try:
            runs, _ = scrape(port)
            if runs >= count:
                return runs
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"fewer than {count} runs after {limit} s")


def steady(name, root, port, count, seconds, extra_pid=None):
    process = start_daemon(root)
    try:
        # The first round (every playbook never ran: due at once, spread by the jitter), then one more minute for
        # the fires to settle on their own phases.
        wait_for_runs(port, process, count, 600)
        wait_for_runs(port, process, 2 * count, 600)
        runs_a, buckets_a = scrape(port)
        cpu_a = cpu_seconds(process.pid)
        extra_a = cpu_seconds(extra_pid) if extra_pid else 0.0
        time.sleep(seconds)
        runs_b, buckets_b = scrape(port)
        cpu_b = cpu_seconds(process.pid)
        extra_b = cpu_seconds(extra_pid) if extra_pid else 0.0
        fires = runs_b - runs_a
        result = {
            "scenario": name,
            "fires": int(fires),
            "fires_per_second": fires / seconds,
            "cpu_ms_per_fire": 1000 * (cpu_b - cpu_a) / fires if fires else float("nan"),
            "lateness_p50_ms": 1000 * percentile(buckets_a, buckets_b, 0.50),
            "lateness_p99_ms": 1000 * percentile(buckets_a, buckets_b, 0.99),
            "rss_mb": rss_mb(process.pid),
        }
        if extra_pid:
            result["emulator_cpu_ms_per_fire"] = 1000 * (extra_b - extra_a) / fires if fires else float("nan")
        return result
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def idle(root, port, count, seconds):
    process = start_daemon(root)
    try:
        wait_for_runs(port, process, count, 600)
        time.sleep(5)
        cpu_a = cpu_seconds(process.pid)
        time.sleep(seconds)
        cpu_b = cpu_seconds(process.pid)
        return {"scenario": "idle, hourly", "idle_cpu_percent": 100 * (cpu_b - cpu_a) / seconds,
                "rss_mb": rss_mb(process.pid)}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def cron_reference(root):
    """CPU per playbook of `huntbook run --all` over the workspace, as a cron job would start it each round."""
    state = os.path.join(root, "huntbook.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(state + suffix):
            os.remove(state + suffix)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    subprocess.run([HUNTBOOK, "run", "--all", "-c", "huntbook.yaml"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--playbooks", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=60, help="length of each measured window")
    arguments = parser.parse_args()
    count = arguments.playbooks
    work = tempfile.mkdtemp(prefix="huntbook-bench-daemon-")
    results = []
    try:
        # validate over 1,000 playbooks.
        validate_root = os.path.join(work, "validate")
        write_workspace(validate_root, 1000, "{ every: 1m }", "source: { kind: local, data: data }")
        times = []
        for _ in range(3):
            started = time.time()
            subprocess.run([HUNTBOOK, "validate", "-c", "huntbook.yaml"], cwd=validate_root, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.time() - started)
        print(f"validate, 1,000 playbooks: {min(times):.3f} s (best of 3)")

        local_root = os.path.join(work, "local")
        port = write_workspace(local_root, count, "{ every: 1m }", "source: { kind: local, data: data }")
        cron_cpu, cron_wall = cron_reference(local_root)
        results.append(steady("local, every minute", local_root, port, count, arguments.seconds))
        results[-1]["cron_run_cpu_ms_per_fire"] = 1000 * cron_cpu / count

        emulator_root = os.path.join(work, "emulator")
        emulator_port = free_port()
        os.makedirs(os.path.join(emulator_root, "data"), exist_ok=True)
        port = write_workspace(
            emulator_root, count, "{ every: 1m }",
            "source: graph\ntenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n"
            f"    login_url: http://127.0.0.1:{emulator_port}\n    graph_url: http://127.0.0.1:{emulator_port}\n"
            "    auth: { client_id: 11111111-1111-1111-1111-111111111111, client_secret: '${env:BENCH_SECRET}' }\n"
            "    limits: { hunting_calls_per_minute: 1000000, concurrent_queries: 16 }\n"
            "daemon: { runs_at_once: 16 }",
        )
        os.environ["BENCH_SECRET"] = "bench"
        emulator = subprocess.Popen([HUNTBOOK, "emulate", "--data", os.path.join(emulator_root, "data"), "--listen",
                                     f"127.0.0.1:{emulator_port}", "--client-secret", "bench"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            results.append(steady("emulator, every minute", emulator_root, port, count, arguments.seconds,
                                  extra_pid=emulator.pid))
        finally:
            emulator.terminate()
            emulator.wait()

        idle_root = os.path.join(work, "idle")
        port = write_workspace(idle_root, count, "{ every: 1h }", "source: { kind: local, data: data }")
        results.append(idle(idle_root, port, count, arguments.seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{count} playbooks; windows of {arguments.seconds} s; {os.cpu_count()} cores\n")
    for result in results:
        print(json.dumps(result, indent=None, default=lambda v: round(v, 3)))
    local = results[0]
    print(f"\nlocal: {local['cpu_ms_per_fire']:.3f} ms CPU per fire in the daemon against "
          f"{local['cron_run_cpu_ms_per_fire']:.3f} ms per playbook of `huntbook run --all` started by cron "
          f"(ratio {local['cpu_ms_per_fire'] / local['cron_run_cpu_ms_per_fire']:.2f})")


if __name__ == "__main__":
    main()
