#!/usr/bin/env python3
"""How much of a public collection of Defender advanced-hunting queries huntbook takes.

    python3 bench/corpus.py --huntbook target/release/huntbook DIR [DIR ...]

DIR is a checkout of a query collection (for instance microsoft/Microsoft-365-Defender-Hunting-Queries): every
fenced code block of a Markdown file and every .txt/.kql/.csl file is one query. Nothing of it is copied into
this repository. Each query becomes a playbook, and two numbers are measured:

- accepted by `huntbook validate` with a Graph source (the gate: only what Kusto would reject for certain may
  keep a playbook out of a run; what the local engine lacks is a warning);
- run by the local engine over empty tables (`huntbook query` with an empty data directory: every
  advanced-hunting table has a schema).

Queries over the tables Defender renamed in 2020 (ProcessCreationEvents, MachineInfo, ...) are not valid in
advanced hunting today and are counted apart. The blockers are ranked by the number of queries they stop.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

LEGACY_TABLES = [
    "ProcessCreationEvents", "NetworkCommunicationEvents", "FileCreationEvents", "RegistryEvents", "LogonEvents",
    "ImageLoadEvents", "MiscEvents", "MachineInfo", "MachineNetworkInfo", "AlertEvents", "DeviceAlertEvents",
]

FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)


def split_queries(text):
    """The queries of a text that holds several, as the portal's editor sees them: blank lines separate queries,
    except where the next part goes on with `|` or the part before ends a `let` with `;` (or is only comments)."""
    parts = [part for part in re.split(r"\n[ \t]*\n", text) if part.strip()]
    queries = []
    joining = False
    for part in parts:
        lines = [line for line in part.splitlines() if line.strip() and not line.strip().startswith("//")]
        first = lines[0].strip() if lines else ""
        if queries and (joining or first.startswith(("|", ",", ")", "]", "on ", "and ", "or "))):
            queries[-1] += "\n\n" + part
        else:
            queries.append(part)
        last = lines[-1].strip() if lines else ""
        joining = not lines or last.endswith((";", "|", ",", "(", "{", "="))
    return [query for query in queries if re.search(r"^\s*[A-Za-z(]", query, re.M)]


def queries_of(root):
    """(name, text) of every query under root."""
    for directory, _, files in os.walk(root):
        if "/." in directory or os.path.basename(directory).startswith("."):
            continue
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            lower = name.lower()
            try:
                text = open(path, encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            if lower.endswith(".md"):
                blocks = [block for block in FENCE.findall(text) if "|" in block]
            elif lower.endswith((".txt", ".kql", ".csl")):
                blocks = [text]
            else:
                continue
            index = 0
            for block in blocks:
                for query in split_queries(block):
                    if "|" in query or re.search(r"^\s*[A-Z][A-Za-z]+\s*$", query, re.M):
                        index += 1
                        yield f"{relative}#{index}", query


def playbook(identifier, query):
    indented = "\n".join("  " + line for line in query.replace("\t", "    ").splitlines())
    return (
        f"id: q{identifier}\ntitle: q{identifier}\nseverity: low\nschedule: {{ every: 1h }}\n"
        f"query: |2\n{indented}\nnotify:\n  - to: [files]\n"
    )


def first_line(text):
    for line in text.splitlines():
        if line.startswith(("error", "warning")):
            return line
    return text.strip().splitlines()[0] if text.strip() else ""


def blocker(message):
    """A short name for why a query is stopped, for the ranking."""
    message = re.sub(r"^(error|warning)[^:]*: ", "", message)
    message = re.sub(r"^runs in Graph; cannot run locally: ", "", message)
    message = re.sub(r"^'[a-z-]+' operator: ", "", message)
    message = re.sub(r"'[^']*'", lambda m: m.group(0) if len(m.group(0)) < 40 else "'…'", message)
    return message[:110]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--huntbook", default="target/release/huntbook")
    parser.add_argument("--show", type=int, default=25, help="blockers to list")
    parser.add_argument("--failures", help="write every rejected query and its message to this file")
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    huntbook = os.path.abspath(args.huntbook)

    collected = []
    for root in args.dirs:
        collected.extend(queries_of(root))
    legacy = [q for q in collected if any(re.search(rf"\b{t}\b", q[1]) for t in LEGACY_TABLES)]
    current = [q for q in collected if q not in legacy]

    with tempfile.TemporaryDirectory() as work:
        books = os.path.join(work, "playbooks")
        data = os.path.join(work, "data")
        os.makedirs(books)
        os.makedirs(data)
        for index, (_, query) in enumerate(current):
            with open(os.path.join(books, f"q{index}.yaml"), "w") as out:
                out.write(playbook(index, query))
        graph = os.path.join(work, "graph.yaml")
        with open(graph, "w") as out:
            out.write(
                "state: state.db\nplaybooks: playbooks\nsource: graph\ntenants:\n  t:\n    tenant_id: t.example\n"
                "    auth: { client_id: 11111111-1111-1111-1111-111111111111, client_secret: '${env:CORPUS_SECRET}' }\n"
                "receivers:\n  files: { file: { dir: out } }\n"
            )
        env = dict(os.environ, CORPUS_SECRET="x")
        validated = subprocess.run(
            [huntbook, "validate", "-c", graph], cwd=work, capture_output=True, text=True, env=env
        )
        said = validated.stderr + validated.stdout
        errors = collections.defaultdict(list)
        warnings = collections.defaultdict(list)
        for block in re.split(r"\n(?=(?:error|warning))", said):
            found = re.search(r"q(\d+)\.yaml", block)
            if not found:
                continue
            index = int(found.group(1))
            (warnings if block.startswith("warning") else errors)[index].append(first_line(block))

        local_failures = {}
        for index, (_, query) in enumerate(current):
            path = os.path.join(work, "q.kql")
            with open(path, "w") as out:
                out.write(query)
            ran = subprocess.run(
                [huntbook, "query", "--data", data, "--format", "json", "-f", path],
                cwd=work, capture_output=True, text=True, timeout=120,
            )
            if ran.returncode != 0:
                local_failures[index] = first_line(ran.stderr)

    total = len(current)
    accepted = total - len(errors)
    ran = total - len(local_failures)
    print(f"queries: {len(collected)} ({len(legacy)} over tables renamed in 2020, left out); measured: {total}")
    print(f"accepted by validate with a Graph source: {accepted}/{total} = {100 * accepted / max(total, 1):.1f}%"
          f" ({len(warnings)} with a 'cannot run locally' warning)")
    print(f"run by the local engine over empty tables: {ran}/{total} = {100 * ran / max(total, 1):.1f}%")
    for title, failures in [("rejected by validate", {i: m[0] for i, m in errors.items()}),
                            ("not run locally", local_failures)]:
        counts = collections.Counter(blocker(message) for message in failures.values())
        print(f"\n{title}, by reason:")
        for reason, count in counts.most_common(args.show):
            print(f"  {count:4}  {reason}")
    if args.failures:
        with open(args.failures, "w") as out:
            for index, messages in sorted(errors.items()):
                out.write(f"== validate {current[index][0]}\n{messages[0]}\n{current[index][1]}\n")
            for index, message in sorted(local_failures.items()):
                out.write(f"== local {current[index][0]}\n{message}\n{current[index][1]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
