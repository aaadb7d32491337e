#!/usr/bin/env python3
"""Writes crates/kql/data/uap-core.json, the user-agent patterns parse_user_agent() reads, from uap-core's
regexes.yaml (the ua-parser project's shared pattern set, Apache License 2.0; Kusto's parse_user_agent is built
on it):

    npm pack uap-core@0.18.0 && tar xzf uap-core-0.18.0.tgz
    python3 crates/kql/tools/uap_core.py package/regexes.yaml > crates/kql/data/uap-core.json

Only the keys the parsers use are kept, in the file's order (the first pattern that matches wins).
"""
import json
import sys

import yaml

KEYS = {
    "user_agent_parsers": ["regex", "family_replacement", "v1_replacement", "v2_replacement", "v3_replacement"],
    "os_parsers": ["regex", "os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement",
                   "os_v4_replacement"],
    "device_parsers": ["regex", "regex_flag", "device_replacement", "brand_replacement", "model_replacement"],
}

source = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
out = {"source": "uap-core 0.18.0 (github.com/ua-parser/uap-core), Apache License 2.0"}
for section, keys in KEYS.items():
    out[section] = [{k: str(p[k]) for k in keys if k in p and p[k] is not None} for p in source[section]]
json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
print()
