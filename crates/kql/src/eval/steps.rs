//! The row-by-row operators, prepared for a scan: a `lookup` gets its right side hashed, `invoke
//! FileProfile` its profiles indexed. `push` sends one row through all of them.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::super::check::FILE_PROFILE_COLUMNS;
use super::super::error::KqlError;
use super::super::functions::convert;
use super::super::plan::{FileProfilePlan, JoinKind, JoinPlan, MvExpandPlan, Node, Operator, ParsePlan, Row, TExpr};
use super::super::types::Type;
use super::super::value::{Dyn, GroupKey, Str, Value};
use super::expr::{EvalContext, eval};

pub enum Step<'p> {
    Filter(&'p TExpr),
    Extend(&'p [(usize, TExpr)]),
    Project(&'p [TExpr]),
    MvExpand(&'p MvExpandPlan),
    Parse(&'p ParsePlan),
    Lookup(Lookup<'p>),
    FileProfile(FileProfile<'p>),
}

pub struct Lookup<'p> {
    plan: &'p JoinPlan,
    /// Right rows (only the kept columns) by key.
    index: HashMap<Vec<GroupKey>, Vec<Row>>,
    /// Nulls for a left row without a match.
    empty: Row,
}

pub struct FileProfile<'p> {
    plan: &'p FileProfilePlan,
    /// Profile values (in `FILE_PROFILE_COLUMNS` order) by lowercase SHA1 and SHA256.
    profiles: HashMap<String, Vec<Value>>,
    /// The ids enriched so far, to honour the record limit.
    enriched: Mutex<HashSet<String>>,
}

/// Right sides of a lookup up to this many rows are copied for each scan thread (see `for_thread`).
const COPIED_PER_THREAD: usize = 1 << 16;

/// The steps for one scan thread: the same, but that a small lookup's right side is its own copy, so that
/// the threads do not count references to the same values (an atomic on one cache line, bounced between
/// cores for every joined row). `None` when there is nothing to copy.
pub fn for_thread<'p>(steps: &[Step<'p>]) -> Option<Vec<Step<'p>>> {
    let copies = |step: &Step| match step {
        Step::Lookup(lookup) => lookup.index.values().map(Vec::len).sum::<usize>() <= COPIED_PER_THREAD,
        _ => false,
    };
    if !steps.iter().any(copies) {
        return None;
    }
    let unshared = |row: &Row| row.iter().map(Value::unshared).collect::<Row>();
    steps
        .iter()
        .map(|step| {
            Some(match step {
                Step::Filter(e) => Step::Filter(e),
                Step::Extend(a) => Step::Extend(a),
                Step::Project(e) => Step::Project(e),
                Step::MvExpand(p) => Step::MvExpand(p),
                Step::Parse(p) => Step::Parse(p),
                Step::Lookup(lookup) => Step::Lookup(Lookup {
                    plan: lookup.plan,
                    index: lookup
                        .index
                        .iter()
                        .map(|(k, rows)| (k.clone(), rows.iter().map(unshared).collect()))
                        .collect(),
                    empty: unshared(&lookup.empty),
                }),
                // Its record limit is shared by all threads: such steps are not copied.
                Step::FileProfile(_) => return None,
            })
        })
        .collect()
}

/// The key of a row for joins: `None` when a key is null (nulls match nothing).
pub fn join_key(row: &Row, columns: &[usize]) -> Option<Vec<GroupKey>> {
    columns
        .iter()
        .map(|i| {
            let value = row.get(*i)?;
            (!value.is_null()).then(|| value.group_key())
        })
        .collect()
}

pub fn prepare<'p>(
    operator: &'p Operator,
    run: impl Fn(&Node) -> Result<Vec<Row>, KqlError>,
) -> Result<Step<'p>, KqlError> {
    Ok(match operator {
        Operator::Where(predicate) => Step::Filter(predicate),
        Operator::Extend(assigned) => Step::Extend(assigned),
        Operator::Project(exprs) => Step::Project(exprs),
        Operator::MvExpand(plan) => Step::MvExpand(plan),
        Operator::Parse(plan) => Step::Parse(plan),
        Operator::Join(plan) => {
            let right_schema = plan.right.schema();
            let mut index: HashMap<Vec<GroupKey>, Vec<Row>> = HashMap::new();
            for row in run(&plan.right)? {
                let Some(key) = join_key(&row, &plan.right_keys) else { continue };
                let kept = plan.right_columns.iter().map(|i| row[*i].clone()).collect();
                index.entry(key).or_default().push(kept);
            }
            let empty = plan.right_columns.iter().map(|i| Value::null_of(right_schema[*i].ty)).collect();
            Step::Lookup(Lookup { plan, index, empty })
        }
        Operator::FileProfile(plan) => {
            let mut profiles = HashMap::new();
            if let Some(node) = &plan.profiles {
                let schema = node.schema();
                let positions: Vec<Option<usize>> =
                    FILE_PROFILE_COLUMNS.iter().map(|(name, _)| schema.iter().position(|c| c.name == *name)).collect();
                for row in run(node)? {
                    let values: Vec<Value> = positions
                        .iter()
                        .zip(FILE_PROFILE_COLUMNS.iter())
                        .map(|(position, (_, ty))| {
                            convert(&position.and_then(|p| row.get(p).cloned()).unwrap_or_default(), *ty)
                        })
                        .collect();
                    for hash in [&values[0], &values[1]] {
                        let text = hash.to_text().to_lowercase();
                        if !text.is_empty() {
                            profiles.insert(text, values.clone());
                        }
                    }
                }
            }
            Step::FileProfile(FileProfile { plan, profiles, enriched: Mutex::new(HashSet::new()) })
        }
        other => return Err(KqlError::runtime(format!("internal: {other:?} is not a row-by-row operator"))),
    })
}

fn set(row: &mut Row, slot: usize, value: Value) {
    if slot >= row.len() {
        row.resize(slot + 1, Value::Null);
    }
    row[slot] = value;
}

/// Sends a row through the steps; `out` receives what comes out and says whether to go on.
///
/// Depth first and without recursion: a row that fans out (`mv-expand`, a `lookup` with several matches)
/// leaves its rows on a stack, last on top, so that they come out in order; a pipeline of thousands of steps
/// needs no more stack than one of a single step. The stack is only allocated when a row fans out.
pub fn push(steps: &[Step], row: Row, context: &EvalContext, out: &mut dyn FnMut(Row) -> bool) -> bool {
    let mut pending: Vec<(usize, Row)> = Vec::new();
    let mut current = Some((0, row));
    while let Some((mut at, mut row)) = current.take().or_else(|| pending.pop()) {
        loop {
            let Some(step) = steps.get(at) else {
                if !out(row) {
                    return false;
                }
                break;
            };
            at += 1;
            match step {
                Step::Filter(predicate) => {
                    if !eval(predicate, &row, context).is_true() {
                        break;
                    }
                }
                Step::Extend(assigned) => {
                    for (slot, expr) in assigned.iter() {
                        let value = eval(expr, &row, context);
                        set(&mut row, *slot, value);
                    }
                }
                Step::Project(exprs) => row = exprs.iter().map(|e| eval(e, &row, context)).collect(),
                Step::MvExpand(plan) => {
                    let first = pending.len();
                    mv_expand(plan, row, context, &mut |expanded| {
                        pending.push((at, expanded));
                        true
                    });
                    pending[first..].reverse();
                    break;
                }
                Step::Parse(plan) => match parse(plan, row, context) {
                    Some(parsed) => row = parsed,
                    None => break,
                },
                Step::Lookup(lookup) => {
                    let matches = join_key(&row, &lookup.plan.left_keys).and_then(|key| lookup.index.get(&key));
                    match matches {
                        Some(rights) => {
                            for right in rights.iter().rev() {
                                let mut joined = row.clone();
                                joined.extend(right.iter().cloned());
                                pending.push((at, joined));
                            }
                            break;
                        }
                        None if lookup.plan.kind == JoinKind::LeftOuter => row.extend(lookup.empty.iter().cloned()),
                        None => break,
                    }
                }
                Step::FileProfile(profile) => file_profile(profile, &mut row),
            }
        }
    }
    true
}

/// The elements one value expands to: an array's items, a bag's properties, a scalar itself; none for an
/// empty array or bag.
fn elements(value: &Value, bag_as_array: bool) -> Vec<Dyn> {
    match value.to_dyn() {
        Dyn::Array(items) => items.to_vec(),
        Dyn::Object(pairs) => pairs
            .iter()
            .map(|(key, item)| {
                if bag_as_array {
                    Dyn::array(vec![Dyn::String(key.clone()), item.clone()])
                } else {
                    Dyn::object(vec![(key.clone(), item.clone())])
                }
            })
            .collect(),
        other => vec![other],
    }
}

pub fn mv_expand(plan: &MvExpandPlan, row: Row, context: &EvalContext, out: &mut dyn FnMut(Row) -> bool) -> bool {
    let expanded: Vec<Vec<Dyn>> =
        plan.columns.iter().map(|(_, expr, _)| elements(&eval(expr, &row, context), plan.bag_as_array)).collect();
    let mut count = expanded.iter().map(Vec::len).max().unwrap_or(0);
    if let Some(limit) = plan.limit {
        count = count.min(limit);
    }
    for index in 0..count {
        let mut new_row = row.clone();
        for ((slot, _, to_type), items) in plan.columns.iter().zip(&expanded) {
            let item = items.get(index).cloned().unwrap_or_default();
            let value = match to_type {
                Some(Type::Dynamic) | None => Value::Dynamic(item),
                Some(ty) => convert(&item.to_scalar(), *ty),
            };
            set(&mut new_row, *slot, value);
        }
        if let Some(slot) = plan.item_index {
            set(&mut new_row, slot, Value::Long(index as i64));
        }
        if !out(new_row) {
            return false;
        }
    }
    true
}

/// `parse`: fills the columns from the capture groups; `None` drops the row (`parse-where` without a match).
fn parse(plan: &ParsePlan, mut row: Row, context: &EvalContext) -> Option<Row> {
    let text = eval(&plan.source, &row, context).to_text();
    let mut values: Vec<Value> = plan.columns.iter().map(|(_, ty, _)| Value::null_of(*ty)).collect();
    let mut matched = false;
    if let Some(captures) = plan.regex.captures(&text) {
        matched = true;
        for (index, (_, ty, group)) in plan.columns.iter().enumerate() {
            let captured = captures.get(*group).map_or("", |m| m.as_str());
            let value = convert(&Value::String(Str::from(captured)), *ty);
            if value.is_null() && !ty.is_stringlike() && !plan.relaxed {
                matched = false;
                break;
            }
            values[index] = value;
        }
        if !matched {
            values = plan.columns.iter().map(|(_, ty, _)| Value::null_of(*ty)).collect();
        }
    }
    if !matched && plan.keep_only_matches {
        return None;
    }
    for ((slot, _, _), value) in plan.columns.iter().zip(values) {
        set(&mut row, *slot, value);
    }
    Some(row)
}

fn file_profile(profile: &FileProfile, row: &mut Row) {
    let plan = profile.plan;
    let id = row.get(plan.id_column).map(|v| v.to_text().to_lowercase()).unwrap_or_default();
    let valid = matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit());
    let within_limit = valid
        && profile
            .enriched
            .lock()
            .map(|mut seen| seen.contains(&id) || (seen.len() < plan.limit && seen.insert(id.clone())))
            .unwrap_or(false);
    let found = if within_limit { profile.profiles.get(&id) } else { None };
    let availability = match (valid && within_limit, found) {
        (_, Some(values)) => {
            let given = values[17].to_text();
            if given.is_empty() { "Available".to_string() } else { given.to_string() }
        }
        (true, None) => "Missing".to_string(),
        (false, None) => String::new(),
    };
    for (index, ((_, ty), slot)) in FILE_PROFILE_COLUMNS.iter().zip(&plan.slots).enumerate() {
        let Some(slot) = slot else { continue };
        let value = if index == 17 {
            Value::string(availability.as_str())
        } else {
            found.map_or_else(|| Value::null_of(*ty), |values| values[index].clone())
        };
        set(row, *slot, value);
    }
}
