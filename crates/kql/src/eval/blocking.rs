//! Operators that need all their input first: `sort`, `join`, `serialize` and the window functions.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::super::ast::BinaryOperator;
use super::super::error::KqlError;
use std::sync::Arc;

use super::super::plan::{
    Column, JoinKind, JoinPlan, MvApplyPlan, Operator, Row, SortSpec, TExpr, WindowKind, WindowSpec,
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
            Operator::Join(plan) => {
                let right = self.run(&plan.right)?;
                Ok(join(plan, rows, right, input, plan.right.schema(), output))
            }
            other => Err(KqlError::runtime(format!("internal: {other:?} cannot run on a materialized table"))),
        }
    }
}

impl Executor<'_> {
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
