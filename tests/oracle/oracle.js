#!/usr/bin/env node
// Kusto.Language — Microsoft's own KQL parser and binder — as the referee of huntbook's local engine.
//
// Reads one JSON request on standard input:
//   { "defender": true,
//     "tables": [{ "name": "T", "columns": [{ "name": "a", "type": "string" }, …] }, …],
//     "functions": [{ "name": "F", "parameters": "(T:(*), x:string='SHA1')", "body": "{ T | extend … }" }, …],
//     "queries": ["T | take 1", …] }
// `defender` declares every advanced-hunting table of huntbook's built-in schema (crates/kql/src/schema/tables)
// and Defender's functions (below); `tables` and `functions` add more.
// and writes one JSON answer on standard output: for each query, in order,
//   { "errors": [{ "message": "…", "start": 0, "length": 1 }, …], "columns": [{ "name": "a", "type": "string" }] | null }
// `errors` holds the diagnostics of severity Error only; `columns` is the result schema when the query's last
// statement is tabular.
//
// One liberty is taken with the text, and said here: Defender's FileProfile() and DeviceFromIP() take the name
// of a column bare (`invoke FileProfile(InitiatingProcessSHA1, 1000)`). Kusto.Language, which knows them only
// as functions declared below, would look that name up outside the row, so the name is quoted before binding.
"use strict";

const path = require("path");
const modules = path.join(__dirname, "node_modules", "@kusto", "language-service-next");
require(path.join(modules, "bridge.js"));
require(path.join(modules, "Kusto.Language.Bridge.js"));

const K = Kusto.Language;
const S = K.Symbols;

// Defender's functions, as huntbook's local engine models them: FileProfile() adds the profile's columns
// (crates/kql/src/check/operators.rs, FILE_PROFILE_COLUMNS) that its input lacks, SeenBy() a dynamic list of
// devices; DeviceFromIP() and AssignedIPAddresses() as Microsoft's pages describe them.
const FILE_PROFILE = [
  ["SHA1", "string"], ["SHA256", "string"], ["MD5", "string"], ["FileSize", "int"], ["GlobalPrevalence", "int"],
  ["GlobalFirstSeen", "datetime"], ["GlobalLastSeen", "datetime"], ["Signer", "string"], ["Issuer", "string"],
  ["SignerHash", "string"], ["IsCertificateValid", "bool"], ["IsRootSignerMicrosoft", "bool"],
  ["SignatureState", "string"], ["IsExecutable", "bool"], ["ThreatName", "string"], ["Publisher", "string"],
  ["SoftwareName", "string"], ["ProfileAvailability", "string"],
];
const nullOf = (type) => (type === "string" ? "''" : `${type}(null)`);
const DEFENDER_FUNCTIONS = [
  { name: "FileProfile", parameters: "(T:(*), x:string = 'SHA1', y:long = 100)",
    body: `{ T | extend ${FILE_PROFILE.map(([name, type]) => `${name} = ${nullOf(type)}`).join(", ")} }` },
  { name: "SeenBy", parameters: "(T:(*))", body: "{ T | extend SeenBy = dynamic(null) }" },
  { name: "DeviceFromIP", parameters: "(T:(*), x:string = 'IP', y:datetime = datetime(null))",
    body: "{ T | extend DeviceId = '' }" },
  { name: "AssignedIPAddresses", parameters: "(x:string, y:datetime = datetime(null))",
    body: "{ datatable(Timestamp:datetime, IPAddress:string, IPType:string, NetworkAdapterType:string, ConnectedNetworks:dynamic)[] }" },
];

function defenderTables() {
  const fs = require("fs");
  const dir = path.join(__dirname, "..", "..", "crates", "kql", "src", "schema", "tables");
  return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().flatMap((f) => {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    const columns = schema.columns.map((c) => ({ name: c.name, type: c.type }));
    return [schema.table].concat(schema.aliases || []).map((name) => ({ name, columns }));
  });
}

function globals(request) {
  const members = [];
  const tables = (request.defender ? defenderTables() : []).concat(request.tables || []);
  const functions = (request.defender ? DEFENDER_FUNCTIONS : []).concat(request.functions || []);
  for (const table of tables) {
    const schema = "(" + table.columns.map((c) => `['${c.name.replace(/'/g, "\\'")}']:${c.type}`).join(", ") + ")";
    members.push(new S.TableSymbol.$ctor7(table.name, schema, null));
  }
  for (const f of functions) {
    members.push(new S.FunctionSymbol.$ctor16(f.name, f.parameters, f.body, null));
  }
  const database = new S.DatabaseSymbol.ctor("huntbook", members);
  return K.GlobalState.Default.WithDatabase(database);
}

const BARE_COLUMN = /(\binvoke\s+(?:FileProfile|DeviceFromIP)\s*\(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*[,)])/g;

function judge(state, query) {
  const text = query.replace(BARE_COLUMN, "$1'$2'$3");
  let code;
  try {
    code = K.KustoCode.ParseAndAnalyze(text, state);
  } catch (error) {
    return { errors: [{ message: `Kusto.Language failed: ${error}`, start: 0, length: 0 }], columns: null };
  }
  const errors = [];
  const diagnostics = code.GetDiagnostics();
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (d.Severity === "Error") errors.push({ message: d.Message, start: d.Start, length: d.Length });
  }
  let columns = null;
  const result = code.ResultType;
  if (result && result.Columns) {
    columns = [];
    for (let i = 0; i < result.Columns.Count; i++) {
      const column = result.Columns.getItem(i);
      columns.push({ name: column.Name, type: column.Type.Name });
    }
  }
  return { errors, columns };
}

function main() {
  const chunks = [];
  process.stdin.on("data", (chunk) => chunks.push(chunk));
  process.stdin.on("end", () => {
    const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const state = globals(request);
    const answers = request.queries.map((query) => judge(state, query));
    process.stdout.write(JSON.stringify(answers));
  });
}

main();
