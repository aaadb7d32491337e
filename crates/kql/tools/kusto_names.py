#!/usr/bin/env python3
"""Prints the tables of how Kusto names the column of an unnamed function call, for crates/kql/src/kusto.rs.

    python3 crates/kql/tools/kusto_names.py PATH/TO/Kusto-Query-Language > /tmp/names.rs

It reads Kusto.Language's own function declarations (src/Kusto.Language/Functions.cs, MIT licence): each
`new FunctionSymbol("name", ...)` with its `.WithResultNameKind(ResultNameKind.X)` and
`.WithResultNamePrefix("p")`. Functions without a kind (or with `None`) name nothing and are left out.
"""
import re
import sys

root = sys.argv[1]
text = open(f"{root}/src/Kusto.Language/Functions.cs", encoding="utf-8").read()
blocks = re.split(r"(?=new FunctionSymbol\(\s*\")", text)
names = {}
for block in blocks[1:]:
    # The declaration ends at the first `;` outside parentheses.
    depth = 0
    end = len(block)
    for i, ch in enumerate(block):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == ";" and depth == 0:
            end = i
            break
    block = block[:end]
    name = re.match(r'new FunctionSymbol\(\s*"([^"]+)"', block).group(1)
    kind = re.search(r"WithResultNameKind\(ResultNameKind\.(\w+)\)", block)
    prefix = re.search(r'WithResultNamePrefix\("([^"]*)"\)', block)
    kind = kind.group(1) if kind else "None"
    if kind == "None" and not prefix:
        continue
    names[name] = (kind, prefix.group(1) if prefix else "")

def rust_list(title, doc, entries):
    print(doc)
    print(f"pub const {title}: &[{entries[0]}] = &[")
    for entry in entries[1]:
        print(f"    {entry},")
    print("];\n")


first = sorted(n for n, (k, _) in names.items() if k == "FirstArgument")
prefixed = sorted((n, p if k.startswith("Prefix") else n) for n, (k, p) in names.items()
                  if k in ("NameAndFirstArgument", "PrefixAndFirstArgument"))
only = sorted(n for n, (k, _) in names.items() if k == "OnlyArgument")
fixed = sorted((n, p) for n, (k, p) in names.items() if k == "PrefixOnly")
rust_list("NAMED_AFTER_FIRST_ARGUMENT", "/// Named after their first argument (`tostring(x)` makes `x`).",
          ("&str", [f'"{n}"' for n in first]))
rust_list("PREFIXED_RESULT_NAMES", "/// Named `prefix_` and their first argument (`strlen(Device)` is `strlen_Device`).",
          ("(&str, &str)", [f'("{n}", "{p}")' for n, p in prefixed]))
rust_list("ONLY_ARGUMENT_RESULT_NAMES", "/// Named after their argument when they have only one.",
          ("&str", [f'"{n}"' for n in only]))
rust_list("FIXED_RESULT_NAMES", "/// Named by a fixed name.", ("(&str, &str)", [f'("{n}", "{p}")' for n, p in fixed]))
