#!/usr/bin/env python3
"""Kill trials: `huntbook daemon` killed with SIGKILL at random moments, again and again, against a faulty Graph
(the emulator answering some calls 429 or 500), a real SMTP server and a Teams-webhook stand-in (receivers.py).

After each kill the state file must pass SQLite's integrity check. After the last, one more daemon runs until
everything has been delivered; then every message a clean run sends must have arrived at least once (none
lost), and the duplicates are counted (allowed only when a kill fell between the server's acceptance and the
record of it). Not part of `cargo test`: `tests/e2e/run` (in `.ci/run`) runs ten trials; for more, by hand:

    cargo build && python3 -m venv /tmp/kt && /tmp/kt/bin/pip install "aiosmtpd>=1.4,<2"
    /tmp/kt/bin/python tests/e2e/kill_trials.py --trials 40

It prints one line of figures: trials, messages expected, lost, duplicates, integrity checks passed.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "debug", "huntbook")
PLAYBOOKS = ["offboarding-package-download", "manual-device-isolation", "tamper-protection-disabled"]


def wait_for(path, pattern, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with open(path) as f:
                found = re.search(pattern, f.read())
            if found:
                return found
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    sys.exit(f"kill trials: no {pattern!r} in {path}")


def report_ids(element, found):
    """The values of the facts titled ReportId in a card."""
    if isinstance(element, dict):
        if element.get("title") == "ReportId" and isinstance(element.get("value"), str):
            found.append(element["value"].replace("\\", ""))
        for value in element.values():
            report_ids(value, found)
    elif isinstance(element, list):
        for value in element:
            report_ids(value, found)
    return found


def received(got):
    """What the servers hold: e-mails by Message-ID, cards by their bytes' hash, and the hits the cards name."""
    mails, cards, hits = [], [], set()
    for name in sorted(os.listdir(os.path.join(got, "smtp"))):
        if name.endswith(".eml"):
            text = open(os.path.join(got, "smtp", name), "rb").read().decode("utf-8", "replace")
            found = re.search(r"^Message-ID: (\S+)", text, re.M | re.I)
            mails.append(found.group(1) if found else name)
    for name in sorted(os.listdir(os.path.join(got, "teams"))):
        body = open(os.path.join(got, "teams", name), "rb").read()
        cards.append(hashlib.sha256(body).hexdigest())
        hits.update(report_ids(json.loads(body), []))
    return mails, cards, hits


def config(work, graph, smtp_port, playbooks):
    path = os.path.join(work, "huntbook.yaml")
    with open(path, "w") as f:
        f.write(f"""state: {work}/state.db
playbooks: {playbooks}
source: graph
first_lookback: 30d
daemon: {{ jitter: 0s, shutdown_grace: 5s }}
http: {{ listen: 127.0.0.1:0 }}
tenants:
  contoso:
    tenant_id: 00000000-0000-0000-0000-000000000000
    login_url: {graph}
    graph_url: {graph}
    auth: {{ client_id: 11111111-1111-1111-1111-111111111111, client_secret: "${{env:KT_SECRET}}" }}
smtp: {{ host: 127.0.0.1, port: {smtp_port}, tls: none }}
receivers:
  soc-mail:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: smtp }}
  soc-teams:
    teams: {{ webhook: "${{env:KT_WEBHOOK}}", per_second: 4 }}
""")
    return path


def start_daemon(path, log, env):
    with open(log, "w") as out:
        process = subprocess.Popen([BINARY, "daemon", "-c", path], stdout=out, stderr=out, env=env)
    address = wait_for(log, r"listening on (http://[0-9.:]+)").group(1)
    return process, address


def metric(address, name):
    text = urllib.request.urlopen(f"{address}/metrics", timeout=10).read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fail", default="429:0.15,500:0.1")
    args = parser.parse_args()
    random.seed(args.seed)
    work = tempfile.mkdtemp(prefix="huntbook-kill-")
    playbooks = os.path.join(work, "playbooks")
    shutil.copytree(os.path.join(ROOT, "playbooks", "tests"), os.path.join(playbooks, "tests"))
    for name in PLAYBOOKS:
        with open(os.path.join(ROOT, "playbooks", f"{name}.yaml")) as src, open(os.path.join(playbooks, f"{name}.yaml"), "w") as dst:
            dst.write(src.read())
    children = []
    try:
        # The clean run: what must arrive.
        baseline = {}
        for phase in ("clean", "trials"):
            got = os.path.join(work, f"got-{phase}")
            receivers = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "e2e", "receivers.py"), got],
                                         stdout=open(os.path.join(work, f"receivers-{phase}.log"), "w"), stderr=subprocess.STDOUT)
            children.append(receivers)
            ports = wait_for(os.path.join(work, f"receivers-{phase}.log"), r"smtp (\d+)\nteams (\d+)")
            fail = [] if phase == "clean" else ["--fail", args.fail, "--retry-after", "1"]
            emulator_log = os.path.join(work, f"emulator-{phase}.log")
            emulator = subprocess.Popen([BINARY, "emulate", "--data", os.path.join(ROOT, "examples", "data"), "--rebase-time",
                                         "--listen", "127.0.0.1:0", "--client-secret", "kt-secret", *fail],
                                        stdout=open(emulator_log, "w"), stderr=subprocess.STDOUT)
            children.append(emulator)
            graph = wait_for(emulator_log, r"http://[0-9.:]+").group(0)
            env = dict(os.environ, KT_SECRET="kt-secret",
                       KT_WEBHOOK=f"http://127.0.0.1:{ports.group(2)}/workflows/kt/invoke?sig=KTSIG")
            phase_dir = os.path.join(work, phase)
            os.makedirs(phase_dir)
            path = config(phase_dir, graph, ports.group(1), playbooks)
            if phase == "clean":
                subprocess.run([BINARY, "run", "--all", "--wait", "60s", "-c", path], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                mails, cards, hits = received(got)
                baseline = {"mails": len(mails), "cards": len(cards), "hits": hits}
                continue
            integrity_ok, checks = 0, 0
            for trial in range(args.trials):
                process, _ = start_daemon(path, os.path.join(phase_dir, f"daemon-{trial}.log"), env)
                time.sleep(random.uniform(0.05, 3.0))
                process.send_signal(signal.SIGKILL)
                process.wait()
                checks += 1
                with sqlite3.connect(os.path.join(phase_dir, "state.db")) as db:
                    integrity_ok += db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            # The last daemon: until every playbook has run and the outbox is empty, then SIGTERM.
            process, address = start_daemon(path, os.path.join(phase_dir, "daemon-last.log"), env)
            deadline = time.time() + 180
            while time.time() < deadline:
                time.sleep(1)
                mails, _, hits = received(got)
                if metric(address, "huntbook_outbox_pending") == 0 and \
                        len(set(mails)) >= baseline["mails"] and baseline["hits"] <= hits:
                    break
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            checks += 1
            with sqlite3.connect(os.path.join(phase_dir, "state.db")) as db:
                integrity_ok += db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            mails, cards, hits = received(got)
            # E-mails by count (each is one message of one run's hits); cards by the hits they name.
            lost = max(0, baseline["mails"] - len(set(mails))) + len(baseline["hits"] - hits)
            duplicates = (len(mails) - len(set(mails))) + (len(cards) - len(set(cards)))
            print(json.dumps({"trials": args.trials, "expected": baseline["mails"] + baseline["cards"],
                              "card_hits": len(baseline["hits"]),
                              "received": len(mails) + len(cards), "lost": lost, "duplicates": duplicates,
                              "integrity": f"{integrity_ok}/{checks}"}))
            if lost or integrity_ok != checks:
                sys.exit(1)
    finally:
        for child in children:
            child.terminate()


if __name__ == "__main__":
    main()
