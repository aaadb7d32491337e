//! Operators that need all their input first: `sort`, `join`, `serialize`, the window functions, `make-series`,
//! `mv-apply`, `partition`, `top-nested` and `scan`.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;

use super::super::ast::BinaryOperator;
use super::super::error::KqlError;
use super::super::plan::{
    Column, JoinKind, JoinPlan, MvApplyPlan, Operator, PartitionPlan, Row, ScanPlan, ScanStepPlan, SortSpec, TExpr,
    TopNestedLevel, WindowKind, WindowSpec,
};
use super::super::value::{GroupKey, Value, sort_order};
use super::Executor;
use super::expr::{EvalContext, eval};
use super::steps::{join_key, mv_expand};
use super::{Columns, memory_table};

/// Where a value goes relative to the others: nulls at one end, NaN next to them, then everything else
/// (Kusto: `asc nulls first` is null, NaN, -inf, ..., +inf; `desc nulls last` is +inf, ..., -inf, NaN, null).
fn placement(value: &Value) -> u8 {
    match value {
        v if v.is_null() => 0,
        Value::Real(x) if x.is_nan() => 1,
        Value::Dynamic(super::super::value::Dyn::Real(x)) if x.is_nan() => 1,
        _ => 2,
    }
}

/// Orders values for one sort key: nulls (and NaN) where the key wants them, then ascending or descending.
fn key_order(a: &Value, b: &Value, spec: &SortSpec) -> Ordering {
    match (placement(a), placement(b)) {
        (2, 2) => {
            let ordering = sort_order(a, b);
            if spec.descending { ordering.reverse() } else { ordering }
        }
        (x, y) if spec.nulls_first => x.cmp(&y),
        (x, y) => y.cmp(&x),
    }
}

/// Sorts rows by the keys (stable: equal rows keep their order).
pub fn sort_rows(rows: &mut Vec<Row>, keys: &[SortSpec], context: &EvalContext) {
    let mut keyed: Vec<(Vec<Value>, Row)> =
        rows.drain(..).map(|row| (keys.iter().map(|k| eval(&k.expr, &row, context)).collect(), row)).collect();
    keyed.sort_by(|(a, _), (b, _)| {
        keys.iter()
            .zip(a.iter().zip(b.iter()))
            .map(|(spec, (x, y))| key_order(x, y, spec))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    rows.extend(keyed.into_iter().map(|(_, row)| row));
}

impl Executor<'_> {
    pub(super) fn blocking(
        &self,
        operator: &Operator,
        mut rows: Vec<Row>,
        input: &[Column],
        output: &[Column],
    ) -> Result<Vec<Row>, KqlError> {
        match operator {
            Operator::Sort(keys) => {
                sort_rows(&mut rows, keys, &self.context);
                Ok(rows)
            }
            Operator::Serialize(assigned) => {
                for row in &mut rows {
                    for (slot, expr) in assigned {
                        let value = eval(expr, row, &self.context);
                        if *slot >= row.len() {
                            row.resize(slot + 1, Value::Null);
                        }
                        row[*slot] = value;
                    }
                }
                Ok(rows)
            }
            Operator::Window(specs) => {
                // One after the other: a window may read the column of one before it.
                for spec in specs {
                    let column = window(spec, &rows, &self.context);
                    for (row, value) in rows.iter_mut().zip(column) {
                        row.push(value);
                    }
                }
                Ok(rows)
            }
            Operator::Series(plan) => super::series::series(plan, rows, output, &self.context),
            Operator::MvApply(plan) => self.mv_apply(plan, rows, output),
            Operator::Partition(plan) => self.partition(plan, rows, input),
            Operator::Scan(plan) => {
                self.check_cancelled()?;
                Ok(scan(plan, rows, &self.context))
            }
            Operator::TopNested(levels) => {
                let rows: Vec<&Row> = rows.iter().collect();
                let mut out = Vec::new();
                top_nested(levels, &rows, &mut Vec::new(), &mut out, &self.context);
                Ok(out)
            }
            Operator::Join(plan) => {
                let right = self.run(&plan.right)?;
                Ok(join(plan, rows, right, input, plan.right.schema(), output))
            }
            other => Err(KqlError::runtime(format!("internal: {other:?} cannot run on a materialized table"))),
        }
    }
}

/// The state of one step of `scan`: the values it holds of each step up to it, and its sequence's match id.
#[derive(Clone)]
struct ScanState {
    steps: Vec<Option<Row>>,
    match_id: i64,
}

/// `scan`, as Kusto documents its logic: each record is tried against the steps from the last to the first.
/// Against step k, it matches when the state of step k-1 is active and the condition holds over it (that
/// state is then promoted to step k, and the record joins it), or else when step k's own state is active (or k
/// is the first step) and the condition holds over it (the record replaces step k's values there; at the
/// first step of an empty state a new sequence, and match id, begins).
fn scan(plan: &ScanPlan, rows: Vec<Row>, context: &EvalContext) -> Vec<Row> {
    let steps = plan.steps.len();
    let mut states: Vec<Option<ScanState>> = vec![None; steps];
    let mut next_id = 0i64;
    let mut out = Vec::new();
    // The record (with the declared columns at their defaults), then each step's values in `state`.
    let scope = |record: &Row, state: Option<&ScanState>| -> Row {
        let mut values = Vec::with_capacity(plan.width * (steps + 1));
        values.extend(record.iter().cloned());
        for step in 0..steps {
            match state.and_then(|s| s.steps.get(step)).and_then(Option::as_ref) {
                Some(held) => values.extend(held.iter().cloned()),
                None => values.extend(plan.empty.iter().cloned()),
            }
        }
        values
    };
    let extend = |step: &ScanStepPlan, record: &Row, scoped: &Row| -> Row {
        let mut extended = record.clone();
        for (slot, expr, ty) in &step.assignments {
            extended[*slot] = super::super::functions::convert(&eval(expr, scoped, context), *ty);
        }
        extended
    };
    for row in rows {
        let mut record = row;
        record.extend(plan.declared.iter().map(|(_, default)| default.clone()));
        for k in (0..steps).rev() {
            let step = &plan.steps[k];
            // Check 1: the previous step's state goes on to this step.
            if k > 0
                && let Some(previous) = states[k - 1].as_ref()
            {
                let scoped = scope(&record, Some(previous));
                if eval(&step.condition, &scoped, context).is_true() {
                    let extended = extend(step, &record, &scoped);
                    let mut promoted = states[k - 1].take().unwrap_or(ScanState { steps: Vec::new(), match_id: 0 });
                    promoted.steps.resize(k + 1, None);
                    promoted.steps[k] = Some(extended.clone());
                    if step.output {
                        out.push(finish(plan, extended, promoted.match_id));
                    }
                    states[k] = Some(promoted);
                    continue;
                }
            }
            // Check 2: this step's own active state, or a new sequence at the first step.
            if states[k].is_some() || k == 0 {
                let scoped = scope(&record, states[k].as_ref());
                if eval(&step.condition, &scoped, context).is_true() {
                    let extended = extend(step, &record, &scoped);
                    let state = states[k].get_or_insert_with(|| {
                        next_id += 1;
                        ScanState { steps: vec![None; k + 1], match_id: next_id - 1 }
                    });
                    state.steps[k] = Some(extended.clone());
                    if step.output {
                        out.push(finish(plan, extended, state.match_id));
                    }
                }
            }
        }
    }
    out
}

/// An output row of `scan`: the record, and its match id when asked for.
fn finish(plan: &ScanPlan, mut record: Row, match_id: i64) -> Row {
    if plan.match_id {
        record.push(Value::Long(match_id));
    }
    record
}

/// One level of `top-nested` over the rows of a group of the level above (`prefix`: that group's columns).
fn top_nested(
    levels: &[TopNestedLevel],
    rows: &[&Row],
    prefix: &mut Vec<Value>,
    out: &mut Vec<Row>,
    context: &EvalContext,
) {
    let Some((level, deeper)) = levels.split_first() else {
        out.push(prefix.clone());
        return;
    };
    let evaluate = |expr: &TExpr, row: &Row| eval(expr, row, context);
    let aggregate = |rows: &[&Row]| {
        let mut state = level.aggregate.start();
        for row in rows {
            level.aggregate.update(&mut state, row, &evaluate);
        }
        level.aggregate.finish(state).into_iter().next().unwrap_or_default()
    };
    let mut groups: IndexMap<GroupKey, (Value, Vec<&Row>)> = IndexMap::new();
    for row in rows {
        let value = eval(&level.of, row, context);
        groups.entry(value.group_key()).or_insert_with(|| (value, Vec::new())).1.push(row);
    }
    let mut ranked: Vec<(Value, Value, Vec<&Row>)> =
        groups.into_values().map(|(value, rows)| (value, aggregate(&rows), rows)).collect();
    // Nulls last either way; ties keep the order the values first appear in.
    ranked.sort_by(|a, b| match (a.1.is_null(), b.1.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let order = sort_order(&a.1, &b.1);
            if level.ascending { order } else { order.reverse() }
        }
    });
    let kept = level.count.unwrap_or(usize::MAX).min(ranked.len());
    let left_out: Vec<&Row> = ranked[kept..].iter().flat_map(|(_, _, rows)| rows.iter().copied()).collect();
    for (value, aggregated, rows) in ranked.into_iter().take(kept) {
        prefix.push(value);
        prefix.push(aggregated);
        top_nested(deeper, &rows, prefix, out, context);
        prefix.truncate(prefix.len() - 2);
    }
    if let Some(others) = &level.others
        && !left_out.is_empty()
    {
        prefix.push(others.clone());
        prefix.push(aggregate(&left_out));
        top_nested(deeper, &left_out, prefix, out, context);
        prefix.truncate(prefix.len() - 2);
    }
}

/// Kusto's bound on the partitions of the legacy strategy.
const MAX_LEGACY_PARTITIONS: usize = 64;

impl Executor<'_> {
    /// `partition`: the subquery over each partition's rows, in the order the partitions first appear.
    fn partition(&self, plan: &PartitionPlan, rows: Vec<Row>, input: &[Column]) -> Result<Vec<Row>, KqlError> {
        self.prepare_subqueries(&plan.subquery)?;
        let mut partitions: IndexMap<GroupKey, Vec<Row>> = IndexMap::new();
        for row in rows {
            partitions.entry(row[plan.key].group_key()).or_default().push(row);
        }
        if plan.legacy && partitions.len() > MAX_LEGACY_PARTITIONS {
            return Err(KqlError::runtime(format!(
                "partition: '{}' has {} values, more than the {MAX_LEGACY_PARTITIONS} of the legacy strategy (the \
                 default), which Kusto refuses; use hint.strategy=native or shuffle",
                input[plan.key].name,
                partitions.len()
            )));
        }
        let mut out = Vec::new();
        for rows in partitions.into_values() {
            self.check_cancelled()?;
            let source = memory_table("partition", input, Arc::new(rows));
            out.extend(self.run_operators(source, &plan.subquery, 0, Columns::all(input.len()))?);
        }
        Ok(out)
    }

    /// `mv-apply`: per input row, the subquery over its expanded rows.
    fn mv_apply(&self, plan: &MvApplyPlan, rows: Vec<Row>, output: &[Column]) -> Result<Vec<Row>, KqlError> {
        self.prepare_subqueries(&plan.subquery)?;
        let inner = &plan.subquery.schemas[0];
        let mut applied = Vec::new();
        for row in rows {
            self.check_cancelled()?;
            let mut expanded = Vec::new();
            mv_expand(&plan.expand, row.clone(), &self.context, &mut |r| {
                expanded.push(r);
                true
            });
            let source = memory_table("mv-apply", inner, Arc::new(expanded));
            for result in self.run_operators(source, &plan.subquery, 0, Columns::all(inner.len()))? {
                let mut out: Row = plan.kept.iter().map(|i| row[*i].clone()).collect();
                out.resize(output.len(), Value::Null);
                for (value, slot) in result.into_iter().zip(&plan.placed) {
                    out[*slot] = value;
                }
                applied.push(out);
            }
        }
        Ok(applied)
    }
}

/// The values of a window function for every row, in order.
fn window(spec: &WindowSpec, rows: &[Row], context: &EvalContext) -> Vec<Value> {
    let each = |expr: &Option<TExpr>| -> Vec<Value> {
        match expr {
            Some(expr) => rows.iter().map(|row| eval(expr, row, context)).collect(),
            None => Vec::new(),
        }
    };
    let restarts: Vec<bool> = each(&spec.restart).iter().map(Value::is_true).collect();
    let restarts_at = |index: usize| restarts.get(index).copied().unwrap_or(false);
    match spec.kind {
        WindowKind::Prev(offset) | WindowKind::Next(offset) => {
            let values = each(&spec.value);
            let defaults = each(&spec.default);
            let missing = |index: usize| defaults.get(index).cloned().unwrap_or_else(|| Value::null_of(spec.ty));
            (0..rows.len())
                .map(|index| {
                    let other = match spec.kind {
                        WindowKind::Prev(_) => index.checked_sub(offset),
                        _ => index.checked_add(offset).filter(|other| *other < rows.len()),
                    };
                    other.map_or_else(|| missing(index), |other| values[other].clone())
                })
                .collect()
        }
        WindowKind::RowNumber(start) => {
            let mut number = start;
            (0..rows.len())
                .map(|index| {
                    if index > 0 {
                        number = if restarts_at(index) { start } else { number.saturating_add(1) };
                    }
                    Value::Long(number)
                })
                .collect()
        }
        WindowKind::RowCumsum => {
            let values = each(&spec.value);
            let mut sum = Value::null_of(spec.ty);
            values
                .into_iter()
                .enumerate()
                .map(|(index, value)| {
                    if index == 0 || restarts_at(index) || sum.is_null() {
                        sum = value;
                    } else if !value.is_null() {
                        sum = super::expr::binary(BinaryOperator::Add, &sum, &value, spec.ty);
                    }
                    sum.clone()
                })
                .collect()
        }
    }
}

fn nulls(columns: &[Column], indexes: impl Iterator<Item = usize>) -> Row {
    indexes.map(|i| Value::null_of(columns[i].ty)).collect()
}

/// A hash join. Keys with a null never match; `innerunique` keeps the first left row of each key.
pub fn join(
    plan: &JoinPlan,
    left: Vec<Row>,
    right: Vec<Row>,
    left_schema: &[Column],
    right_schema: &[Column],
    _output: &[Column],
) -> Vec<Row> {
    let right_part = |row: &Row| -> Row { plan.right_columns.iter().map(|i| row[*i].clone()).collect() };
    let mut index: HashMap<Vec<GroupKey>, Vec<usize>> = HashMap::new();
    for (position, row) in right.iter().enumerate() {
        if let Some(key) = join_key(row, &plan.right_keys) {
            index.entry(key).or_default().push(position);
        }
    }
    let left = if plan.kind == JoinKind::InnerUnique {
        let mut seen = HashSet::new();
        left.into_iter().filter(|row| join_key(row, &plan.left_keys).is_none_or(|key| seen.insert(key))).collect()
    } else {
        left
    };
    let mut out = Vec::new();
    let mut right_matched = vec![false; right.len()];
    for row in left {
        let matches: &[usize] =
            join_key(&row, &plan.left_keys).and_then(|key| index.get(&key)).map_or(&[], Vec::as_slice);
        for position in matches {
            right_matched[*position] = true;
        }
        match plan.kind {
            JoinKind::LeftSemi if !matches.is_empty() => out.push(row),
            JoinKind::LeftAnti if matches.is_empty() => out.push(row),
            JoinKind::InnerUnique
            | JoinKind::Inner
            | JoinKind::LeftOuter
            | JoinKind::RightOuter
            | JoinKind::FullOuter => {
                for position in matches {
                    let mut joined = row.clone();
                    joined.extend(right_part(&right[*position]));
                    out.push(joined);
                }
                if matches.is_empty() && matches!(plan.kind, JoinKind::LeftOuter | JoinKind::FullOuter) {
                    let mut joined = row;
                    joined.extend(nulls(right_schema, plan.right_columns.iter().copied()));
                    out.push(joined);
                }
            }
            _ => {}
        }
    }
    for (position, row) in right.into_iter().enumerate() {
        let matched = right_matched[position];
        match plan.kind {
            JoinKind::RightSemi if matched => out.push(right_part(&row)),
            JoinKind::RightAnti if !matched => out.push(right_part(&row)),
            JoinKind::RightOuter | JoinKind::FullOuter if !matched => {
                let mut joined = nulls(left_schema, 0..left_schema.len());
                joined.extend(right_part(&row));
                out.push(joined);
            }
            _ => {}
        }
    }
    out
}
