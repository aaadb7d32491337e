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

With node and `npm ci --prefix tests/oracle`, every query is also judged by Kusto.Language, Microsoft's own
parser and binder (tests/oracle/oracle.js), loaded with the same table schemas, and the two are compared:

- false refusals: Kusto.Language accepts, `validate` refuses (a playbook kept from Graph for nothing);
- false accepts: Kusto.Language refuses, `validate` accepts (Graph answers 400 at 3 a.m.);
- of the queries Kusto.Language accepts, how many the local engine runs;
- of the queries both accept and the engine runs, how many have the same result schema (names, order, types).

`--oracle-report FILE` writes each disagreement with both answers.
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


# Graph's type names in a response schema, as KQL names them.
GRAPH_TYPES = {"String": "string", "Int64": "long", "Int32": "int", "Double": "real", "Boolean": "bool",
               "DateTime": "datetime", "TimeSpan": "timespan", "Object": "dynamic", "Guid": "guid",
               "Decimal": "decimal", "SByte": "bool"}


def kusto_language(oracle, queries):
    """Kusto.Language's answer for each query: (errors, columns as name:type), or None when node is missing."""
    modules = os.path.join(os.path.dirname(oracle), "node_modules", "@kusto", "language-service-next")
    if not os.path.isdir(modules):
        print(f"\nKusto.Language is not installed ({modules}): run `npm ci --prefix tests/oracle`", file=sys.stderr)
        return None
    request = json.dumps({"defender": True, "queries": queries})
    answered = subprocess.run(["node", oracle], input=request, capture_output=True, text=True)
    if answered.returncode != 0:
        print(f"\nKusto.Language failed: {answered.stderr.strip()}", file=sys.stderr)
        return None
    return [([e["message"] for e in a["errors"]],
             None if a["columns"] is None else [f"{c['name']}:{c['type']}" for c in a["columns"]])
            for a in json.loads(answered.stdout)]


def kusto_language_limit(query, validate_errors, kusto_errors):
    """Why a disagreement is Kusto.Language's limit rather than the engine's mistake, or None."""
    if validate_errors and "Cannot compare values of types" in validate_errors[0]:
        return "== between types: Kusto refuses it, Kusto.Language does not type-check it"
    if kusto_errors and kusto_errors[0].startswith("A value of type bool expected") \
            and re.search(r"\bcount\s*\(\s*[^)\s]", query):
        return "count(x): Kusto counts the rows, Kusto.Language knows only count() and count(bool)"
    if kusto_errors and re.search(r"does not refer to any known (table|function)", kusto_errors[0]) \
            and not validate_errors:
        return ("a table or function outside Defender's schema (Sentinel's, a saved function): validate warns and "
                "Graph decides")
    return None


def compare_with_kusto(args, current, errors, local_failures, local_schemas):
    answers = kusto_language(args.oracle, [query for _, query in current])
    if answers is None:
        return
    valid = [i for i, (refused, _) in enumerate(answers) if not refused]
    false_refusals = [i for i in valid if i in errors]
    false_accepts = [i for i, (refused, _) in enumerate(answers) if refused and i not in errors]
    limits = {i: reason for i in false_refusals + false_accepts
              if (reason := kusto_language_limit(current[i][1], errors.get(i), answers[i][0]))}
    run = [i for i in valid if i not in local_failures]
    compared = [i for i in run if answers[i][1] is not None]
    # bag_unpack and pivot without an output schema make their columns from the data: Kusto.Language cannot
    # know them (it says nothing, or `unknown`), the engine reads them from the data it runs on.
    from_data = [i for i in compared if re.search(r"evaluate\s+(bag_unpack|pivot)\s*\(", current[i][1])
                 and (not answers[i][1] or any(c.endswith(":unknown") for c in answers[i][1]))]
    compared = [i for i in compared if i not in from_data]
    different = [i for i in compared if answers[i][1] != local_schemas.get(i)]
    total = len(current)
    pct = lambda part, whole: f"{100 * part / max(whole, 1):.1f}%"
    print(f"\nKusto.Language: accepts {len(valid)}/{total}, refuses {total - len(valid)}")
    for title, indexes in [("false refusals (Kusto.Language accepts, validate refuses)", false_refusals),
                           ("false accepts (Kusto.Language refuses, validate accepts) ", false_accepts)]:
        apart = [i for i in indexes if i in limits]
        print(f"  {title}: {len(indexes) - len(apart)}"
              + (f" (and {len(apart)} where Kusto.Language is the one wrong or cannot know)" if apart else ""))
    print(f"  of the queries Kusto.Language accepts, run locally: {len(run)}/{len(valid)} = {pct(len(run), len(valid))}")
    print(f"  same result schema: {len(compared) - len(different)}/{len(compared)} = "
          f"{pct(len(compared) - len(different), len(compared))}"
          + (f" ({len(from_data)} more take their columns from the data: Kusto.Language cannot know them)"
             if from_data else ""))
    counts = collections.Counter(blocker(answers[i][0][0]) for i in false_accepts if i not in limits)
    if counts:
        print("  false accepts, by Kusto.Language's reason:")
        for reason, count in counts.most_common(args.show):
            print(f"    {count:4}  {reason}")
    counts = collections.Counter(limits.values())
    if counts:
        print("  counted apart:")
        for reason, count in counts.most_common():
            print(f"    {count:4}  {reason}")
    if args.oracle_report:
        with open(args.oracle_report, "w") as out:
            for title, indexes in [("false refusal", false_refusals), ("false accept", false_accepts),
                                   ("not run locally", [i for i in valid if i in local_failures]),
                                   ("schema", different)]:
                for i in indexes:
                    out.write(f"== {title} {current[i][0]}\n")
                    if title == "schema":
                        ours, theirs = local_schemas.get(i) or [], answers[i][1] or []
                        out.write(f"engine only: {[c for c in ours if c not in theirs]}\n")
                        out.write(f"Kusto only:  {[c for c in theirs if c not in ours]}\n")
                    out.write(f"validate: {errors.get(i, ['accepted'])[0]}\n")
                    out.write(f"local:    {local_failures.get(i) or local_schemas.get(i)}\n")
                    out.write(f"Kusto:    {answers[i][0][:1] or answers[i][1]}\n{current[i][1]}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--huntbook", default="target/release/huntbook")
    parser.add_argument("--show", type=int, default=25, help="blockers to list")
    parser.add_argument("--failures", help="write every rejected query and its message to this file")
    parser.add_argument("--oracle", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                                         "oracle", "oracle.js"),
                        help="the Kusto.Language harness (tests/oracle/oracle.js); 'none' to skip it")
    parser.add_argument("--oracle-report", help="write every disagreement with Kusto.Language to this file")
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
        local_schemas = {}
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
            else:
                try:
                    schema = json.loads(ran.stdout)["schema"]
                    local_schemas[index] = [f"{c['name']}:{GRAPH_TYPES.get(c['type'], c['type'])}" for c in schema]
                except (ValueError, KeyError):
                    local_failures[index] = "no JSON answer"

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
    if args.oracle != "none":
        compare_with_kusto(args, current, errors, local_failures, local_schemas)
    if args.failures:
        with open(args.failures, "w") as out:
            for index, messages in sorted(errors.items()):
                out.write(f"== validate {current[index][0]}\n{messages[0]}\n{current[index][1]}\n")
            for index, message in sorted(local_failures.items()):
                out.write(f"== local {current[index][0]}\n{message}\n{current[index][1]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
