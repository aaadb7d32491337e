//! Accumulators of the aggregating operators that a scan feeds directly: each thread fills its own, and
//! they are merged in partition order, so `summarize`, `distinct`, `count`, `take` and `top` never hold
//! more than their result.

use indexmap::IndexMap;

use super::super::aggregate::{AggregateSpec, AggregateState};
use super::super::plan::{Operator, Row, SortSpec, TExpr};
use super::super::value::{GroupKey, Value};
use super::blocking::sort_rows;
use super::expr::{EvalContext, eval};

pub enum Accumulator<'p> {
    Collect(Vec<Row>),
    Count(i64),
    Take { limit: usize, rows: Vec<Row> },
    Top { limit: usize, keys: &'p [SortSpec], rows: Vec<Row>, context: EvalContext },
    Distinct { keys: &'p [TExpr], seen: IndexMap<Vec<GroupKey>, Row>, context: EvalContext },
    Summarize(Groups<'p>),
}

pub struct Groups<'p> {
    keys: &'p [TExpr],
    aggregates: &'p [AggregateSpec],
    groups: IndexMap<Vec<GroupKey>, (Vec<Value>, Vec<AggregateState>)>,
    context: EvalContext,
}

impl<'p> Accumulator<'p> {
    pub fn collect() -> Self {
        Accumulator::Collect(Vec::new())
    }

    /// Whether an operator can be fed by a scan (and its parts merged).
    pub fn accepts(operator: &Operator) -> bool {
        matches!(
            operator,
            Operator::Count
                | Operator::Take(_)
                | Operator::Top { .. }
                | Operator::Distinct(_)
                | Operator::Summarize { .. }
        )
    }

    pub fn for_operator(operator: &'p Operator, context: EvalContext) -> Self {
        match operator {
            Operator::Count => Accumulator::Count(0),
            Operator::Take(limit) => Accumulator::Take { limit: *limit, rows: Vec::new() },
            Operator::Top { count, keys } => Accumulator::Top { limit: *count, keys, rows: Vec::new(), context },
            Operator::Distinct(keys) => Accumulator::Distinct { keys, seen: IndexMap::new(), context },
            Operator::Summarize { keys, aggregates } => {
                Accumulator::Summarize(Groups { keys, aggregates, groups: IndexMap::new(), context })
            }
            _ => Accumulator::collect(),
        }
    }

    /// Whether more rows cannot change the result (`take` has its rows).
    pub fn is_full(&self) -> bool {
        matches!(self, Accumulator::Take { limit, rows } if rows.len() >= *limit)
    }

    /// Adds a row; `false` when no more are wanted.
    pub fn push(&mut self, row: Row) -> bool {
        match self {
            Accumulator::Collect(rows) => rows.push(row),
            Accumulator::Count(count) => *count += 1,
            Accumulator::Take { limit, rows } => {
                if rows.len() < *limit {
                    rows.push(row);
                }
                return rows.len() < *limit;
            }
            Accumulator::Top { limit, keys, rows, context } => {
                rows.push(row);
                if rows.len() >= limit.saturating_mul(2).max(1024) {
                    sort_rows(rows, keys, context);
                    rows.truncate(*limit);
                }
            }
            Accumulator::Distinct { keys, seen, context } => {
                let values: Vec<Value> = keys.iter().map(|k| eval(k, &row, context)).collect();
                let key: Vec<GroupKey> = values.iter().map(Value::group_key).collect();
                seen.entry(key).or_insert(values);
            }
            Accumulator::Summarize(groups) => groups.push(&row),
        }
        true
    }

    /// Folds the accumulator of a later partition into this one.
    pub fn merge(&mut self, other: Accumulator<'p>) {
        match (self, other) {
            (Accumulator::Collect(rows), Accumulator::Collect(more)) => rows.extend(more),
            (Accumulator::Count(count), Accumulator::Count(more)) => *count += more,
            (Accumulator::Take { limit, rows }, Accumulator::Take { rows: more, .. }) => {
                let room = limit.saturating_sub(rows.len());
                rows.extend(more.into_iter().take(room));
            }
            (Accumulator::Top { limit, keys, rows, context }, Accumulator::Top { rows: more, .. }) => {
                rows.extend(more);
                sort_rows(rows, keys, context);
                rows.truncate(*limit);
            }
            (Accumulator::Distinct { seen, .. }, Accumulator::Distinct { seen: more, .. }) => {
                for (key, values) in more {
                    seen.entry(key).or_insert(values);
                }
            }
            (Accumulator::Summarize(groups), Accumulator::Summarize(more)) => groups.merge(more),
            _ => {}
        }
    }

    pub fn finish(self) -> Vec<Row> {
        match self {
            Accumulator::Collect(rows) | Accumulator::Take { rows, .. } => rows,
            Accumulator::Count(count) => vec![vec![Value::Long(count)]],
            Accumulator::Top { limit, keys, mut rows, context } => {
                sort_rows(&mut rows, keys, &context);
                rows.truncate(limit);
                rows
            }
            Accumulator::Distinct { seen, .. } => seen.into_values().collect(),
            Accumulator::Summarize(groups) => groups.finish(),
        }
    }
}

impl Groups<'_> {
    fn push(&mut self, row: &Row) {
        let context = self.context;
        let values: Vec<Value> = self.keys.iter().map(|k| eval(k, row, &context)).collect();
        let key: Vec<GroupKey> = values.iter().map(Value::group_key).collect();
        let aggregates = self.aggregates;
        let (_, states) =
            self.groups.entry(key).or_insert_with(|| (values, aggregates.iter().map(AggregateSpec::start).collect()));
        let evaluate = |expr: &TExpr, row: &Row| eval(expr, row, &context);
        for (spec, state) in aggregates.iter().zip(states.iter_mut()) {
            spec.update(state, row, &evaluate);
        }
    }

    fn merge(&mut self, other: Groups) {
        for (key, (values, states)) in other.groups {
            match self.groups.get_mut(&key) {
                Some((_, mine)) => {
                    for ((spec, state), theirs) in self.aggregates.iter().zip(mine.iter_mut()).zip(states) {
                        spec.merge(state, theirs);
                    }
                }
                None => {
                    self.groups.insert(key, (values, states));
                }
            }
        }
    }

    fn finish(self) -> Vec<Row> {
        let aggregates = self.aggregates;
        if self.groups.is_empty() && self.keys.is_empty() {
            // `summarize count()` of nothing is one row of zeros and nulls.
            return vec![aggregates.iter().flat_map(|spec| spec.finish(spec.start())).collect()];
        }
        self.groups
            .into_values()
            .map(|(mut values, states)| {
                for (spec, state) in aggregates.iter().zip(states) {
                    values.extend(spec.finish(state));
                }
                values
            })
            .collect()
    }
}
