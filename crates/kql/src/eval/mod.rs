//! The evaluator. A node's leading row-by-row operators (`where`, `extend`, `project`, `mv-expand`, `parse`,
//! `lookup`, `invoke FileProfile`) are fused into one pass over its source; that pass runs on several
//! threads, one partition of the source at a time, each thread feeding its rows into its own accumulator of
//! the first aggregating operator (`summarize`, `distinct`, `count`, `take`, `top`), and the accumulators are
//! merged in partition order. What follows is run on the merged, much smaller, result. Subqueries
//! (`toscalar`, `in (T | ...)`, the right side of a join, `let`s used twice) are evaluated once, first.

mod accumulate;
mod blocking;
mod columns;
mod expr;
mod series;
mod steps;
mod text;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use expr::{EvalContext, InSet, binary, constant, eval, reads_row, visit};
pub use text::term_match;

use super::error::KqlError;
use super::plan::{Column, Node, Operator, Plan, Row, SharedNode, Source, TExpr, TExprKind};
use super::table::{MemoryTable, ScanRequest, ScanStats, Table, TableSource};
use accumulate::Accumulator;
use steps::Step;

/// How a query runs.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// `now()` and `ago()` are relative to this instant (ticks).
    pub now: i64,
    /// Set to stop a running query; it then fails with "the query was cancelled".
    pub cancel: Arc<AtomicBool>,
    /// Bytes of table files read so far, for a progress display.
    pub progress: Option<Arc<AtomicU64>>,
    /// Threads for scans.
    pub parallelism: usize,
    /// `[start, end)` in ticks: every table with a time column is read only within it, as Graph's
    /// `Timespan` restricts every table of a query.
    pub window: Option<(i64, i64)>,
}

impl ExecOptions {
    pub fn new(now: i64) -> Self {
        let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
        ExecOptions { now, cancel: Arc::new(AtomicBool::new(false)), progress: None, parallelism, window: None }
    }
}

/// A query's rows and what the scans saw on the way (bad lines skipped).
#[derive(Clone, Debug, Default)]
pub struct QueryResult {
    pub table: Table,
    pub stats: ScanStats,
}

/// Largest `range` the evaluator will materialize.
const MAX_RANGE_ROWS: i64 = 10_000_000;

/// Runs a plan. It is consumed: its subqueries' results are cached in it for this run only.
pub fn execute(plan: Plan, options: &ExecOptions) -> Result<QueryResult, KqlError> {
    let executor =
        Executor { options, context: EvalContext { now: options.now }, stats: Mutex::new(ScanStats::default()) };
    let rows = executor.run(&plan.root)?;
    let stats = executor.stats.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(QueryResult { table: Table { columns: plan.root.schema().to_vec(), rows }, stats })
}

/// What a scan decodes (which columns, which members of dynamic columns) and the run's time window on it.
struct Columns {
    needed: Vec<bool>,
    members: Vec<Option<Vec<String>>>,
    window: Option<TExpr>,
}

impl Columns {
    fn all(width: usize) -> Self {
        Columns { needed: vec![true; width], members: Vec::new(), window: None }
    }
}

pub(super) struct Executor<'a> {
    options: &'a ExecOptions,
    context: EvalContext,
    stats: Mutex<ScanStats>,
}

fn memory_table(name: &str, columns: &[Column], rows: Arc<Vec<Row>>) -> Arc<dyn TableSource> {
    Arc::new(MemoryTable { name: name.to_string(), columns: columns.to_vec(), rows })
}

impl Executor<'_> {
    fn check_cancelled(&self) -> Result<(), KqlError> {
        if self.options.cancel.load(Ordering::Relaxed) {
            Err(KqlError::runtime("the query was cancelled"))
        } else {
            Ok(())
        }
    }

    /// Runs a node to its rows.
    fn run(&self, node: &Node) -> Result<Vec<Row>, KqlError> {
        self.prepare_subqueries(node)?;
        let source = self.source(node)?;
        let scan = match &node.source {
            Source::Table(table) => {
                let mut needed = columns::required_source_columns(node);
                let window = self.window_filter(table.as_ref());
                if let (Some(time), Some(_)) = (table.time_column(), &window) {
                    needed[time] = true;
                }
                Columns { needed, members: columns::dynamic_members(node), window }
            }
            _ => Columns::all(node.schemas[0].len()),
        };
        self.run_operators(source, node, 0, scan)
    }

    /// `time >= start and time < end` on the table's time column, when the run has a window.
    fn window_filter(&self, table: &dyn TableSource) -> Option<TExpr> {
        use super::ast::BinaryOperator;
        use super::types::Type;
        use super::value::Value;
        let (start, end) = self.options.window?;
        let time = table.time_column()?;
        let column = || Box::new(TExpr { kind: TExprKind::Column(time), ty: Type::DateTime });
        let at = |ticks| Box::new(TExpr { kind: TExprKind::Literal(Value::DateTime(ticks)), ty: Type::DateTime });
        let after =
            TExpr { kind: TExprKind::Binary(BinaryOperator::GreaterEqual, column(), at(start)), ty: Type::Bool };
        let before = TExpr { kind: TExprKind::Binary(BinaryOperator::Less, column(), at(end)), ty: Type::Bool };
        Some(TExpr { kind: TExprKind::And(Box::new(after), Box::new(before)), ty: Type::Bool })
    }

    /// The result of a shared node, computed on first use.
    fn shared(&self, shared: &Arc<SharedNode>) -> Result<Arc<Vec<Row>>, KqlError> {
        if let Some(rows) = shared.result.get() {
            return Ok(rows.clone());
        }
        let rows = Arc::new(self.run(&shared.node)?);
        Ok(shared.result.get_or_init(|| rows).clone())
    }

    /// Evaluates the subqueries that the node's expressions read (`toscalar`, `in (T | ...)`).
    fn prepare_subqueries(&self, node: &Node) -> Result<(), KqlError> {
        let mut found: Vec<Arc<SharedNode>> = Vec::new();
        let mut collect = |expr: &TExpr| {
            visit(expr, &mut |e| match &e.kind {
                TExprKind::ToScalar(shared) => found.push(shared.clone()),
                TExprKind::In(list) => found.extend(list.subqueries.iter().cloned()),
                TExprKind::HasAny { subqueries, .. } => found.extend(subqueries.iter().cloned()),
                _ => {}
            })
        };
        for operator in &node.operators {
            operator.expressions(&mut collect);
        }
        if let Source::Print(exprs) = &node.source {
            exprs.iter().for_each(&mut collect);
        }
        if let Source::Range { from, to, step } = &node.source {
            [from, to, step].into_iter().for_each(&mut collect);
        }
        for shared in found {
            self.shared(&shared)?;
        }
        Ok(())
    }

    fn source(&self, node: &Node) -> Result<Arc<dyn TableSource>, KqlError> {
        let columns = &node.schemas[0];
        Ok(match &node.source {
            Source::Table(table) => table.clone(),
            Source::Rows(rows) => memory_table("datatable", columns, rows.clone()),
            Source::Shared(shared) => memory_table("let", columns, self.shared(shared)?),
            Source::Print(exprs) => {
                let row = exprs.iter().map(|e| eval(e, &[], &self.context)).collect();
                memory_table("print", columns, Arc::new(vec![row]))
            }
            Source::Range { from, to, step } => memory_table("range", columns, Arc::new(self.range(from, to, step)?)),
            Source::Union(union) => {
                let mut rows = Vec::new();
                for (index, (input, mapping)) in union.inputs.iter().enumerate() {
                    for row in self.run(input)? {
                        let mut out = Vec::with_capacity(columns.len());
                        if let Some(names) = &union.source_names {
                            out.push(super::value::Value::String(names[index].clone()));
                        }
                        let offset = out.len();
                        for (position, from) in mapping.iter().enumerate() {
                            let ty = columns[offset + position].ty;
                            out.push(
                                from.and_then(|i| row.get(i).cloned())
                                    .unwrap_or_else(|| super::value::Value::null_of(ty)),
                            );
                        }
                        rows.push(out);
                    }
                }
                memory_table("union", columns, Arc::new(rows))
            }
        })
    }

    /// The rows of `range`: integers, reals, datetimes or timespans from `from` to `to` (both included),
    /// refusing more than `MAX_RANGE_ROWS` of them.
    fn range(&self, from: &TExpr, to: &TExpr, step: &TExpr) -> Result<Vec<Row>, KqlError> {
        use super::value::Value;
        let (from, to, step) =
            (eval(from, &[], &self.context), eval(to, &[], &self.context), eval(step, &[], &self.context));
        let too_many =
            || KqlError::runtime(format!("range: the step is zero, or makes more than {MAX_RANGE_ROWS} rows"));
        let integers = |a: i64, b: i64, s: i64| -> Result<Vec<i64>, KqlError> {
            let count = (i128::from(b) - i128::from(a)).checked_div(i128::from(s)).ok_or_else(too_many)?;
            if count > i128::from(MAX_RANGE_ROWS) {
                return Err(too_many());
            }
            // A negative count (the step goes away from `to`) makes no rows.
            Ok((0..=count.max(-1)).filter_map(|k| i64::try_from(i128::from(a) + k * i128::from(s)).ok()).collect())
        };
        Ok(match (&from, &to, &step) {
            (Value::DateTime(a), Value::DateTime(b), Value::TimeSpan(s)) => {
                integers(*a, *b, *s)?.into_iter().map(|t| vec![Value::DateTime(t)]).collect()
            }
            (Value::TimeSpan(a), Value::TimeSpan(b), Value::TimeSpan(s)) => {
                integers(*a, *b, *s)?.into_iter().map(|t| vec![Value::TimeSpan(t)]).collect()
            }
            (Value::Long(a), Value::Long(b), Value::Long(s)) => {
                integers(*a, *b, *s)?.into_iter().map(|n| vec![Value::Long(n)]).collect()
            }
            _ => {
                let (Some(a), Some(b), Some(s)) = (from.as_f64(), to.as_f64(), step.as_f64()) else {
                    return Ok(Vec::new());
                };
                let count = ((b - a) / s).floor();
                if !count.is_finite() || count > MAX_RANGE_ROWS as f64 {
                    return Err(too_many());
                }
                (0..=(count as i64).max(-1)).map(|k| vec![Value::Real(a + k as f64 * s)]).collect()
            }
        })
    }

    /// Runs `node.operators[start..]` over `source`: a fused streaming pass up to and including the first
    /// aggregating operator, then the same again over the result until no operator is left (a loop, not a
    /// recursion: a pipeline of thousands of `sort`s needs no more stack than one).
    fn run_operators(
        &self,
        mut source: Arc<dyn TableSource>,
        node: &Node,
        mut start: usize,
        mut scan: Columns,
    ) -> Result<Vec<Row>, KqlError> {
        loop {
            let operators = &node.operators[start..];
            let streaming = operators.iter().take_while(|o| o.is_streaming()).count();
            let mut steps = Vec::new();
            if let Some(window) = &scan.window {
                steps.push(Step::Filter(window));
            }
            for operator in &operators[..streaming] {
                steps.push(self.prepare_step(operator)?);
            }
            let next = operators.get(streaming);
            let consumed_in_scan = next.is_some_and(Accumulator::accepts);
            let accumulator = || match next {
                Some(operator) if consumed_in_scan => Accumulator::for_operator(operator, self.context),
                _ => Accumulator::collect(),
            };
            let rows = self.scan(&source, &scan, steps, &accumulator)?;
            let mut after = start + streaming;
            let rows = match next {
                Some(_) if consumed_in_scan => {
                    after += 1;
                    rows
                }
                Some(operator) => {
                    after += 1;
                    self.blocking(operator, rows, &node.schemas[start + streaming], &node.schemas[after])?
                }
                None => rows,
            };
            if after >= node.operators.len() {
                return Ok(rows);
            }
            let schema = &node.schemas[after];
            source = memory_table("result", schema, Arc::new(rows));
            start = after;
            scan = Columns::all(schema.len());
        }
    }

    /// One pass over a source: rows go through the steps into accumulators, one per partition, merged in
    /// partition order.
    fn scan<'p>(
        &self,
        source: &Arc<dyn TableSource>,
        scan: &Columns,
        mut steps: Vec<Step<'p>>,
        accumulator: &(dyn Fn() -> Accumulator<'p> + Sync),
    ) -> Result<Vec<Row>, KqlError> {
        // Leading filters run inside the scan, on the filter's columns alone, before the rest is decoded.
        let mut filters: Vec<&TExpr> = Vec::new();
        while let Some(Step::Filter(predicate)) = steps.first() {
            filters.push(predicate);
            steps.remove(0);
        }
        let needed = &scan.needed;
        let mut filter_columns = vec![false; needed.len()];
        for predicate in &filters {
            visit(predicate, &mut |e| {
                if let TExprKind::Column(i) = e.kind
                    && let Some(slot) = filter_columns.get_mut(i)
                {
                    *slot = true;
                }
            });
        }
        let prefilter = filters.iter().filter_map(|predicate| columns::prefilter(predicate)).next();
        let context = self.context;
        let filter = |row: &Row| filters.iter().all(|predicate| eval(predicate, row, &context).is_true());
        let cancel = &self.options.cancel;
        let request = ScanRequest {
            columns: needed,
            members: &scan.members,
            filter: if filters.is_empty() { None } else { Some(&filter) },
            filter_columns: &filter_columns,
            prefilter: prefilter.as_ref(),
            cancel,
            progress: self.options.progress.as_deref(),
        };
        let run_partition = |partition: usize, steps: &[Step<'p>]| -> Result<Accumulator, KqlError> {
            let mut accumulator = accumulator();
            let mut seen = 0u32;
            let stats = source.scan_partition(partition, &request, &mut |row| {
                seen = seen.wrapping_add(1);
                if seen.is_multiple_of(4096) && cancel.load(Ordering::Relaxed) {
                    return false;
                }
                steps::push(steps, row, &context, &mut |row| accumulator.push(row))
            })?;
            if let Ok(mut total) = self.stats.lock() {
                total.absorb(stats);
            }
            Ok(accumulator)
        };
        let partitions = source.partition_count();
        let threads = self.options.parallelism.clamp(1, partitions.max(1));
        let mut merged: Option<Accumulator> = None;
        if threads <= 1 {
            for partition in 0..partitions {
                let part = run_partition(partition, &steps)?;
                merged = Some(match merged {
                    Some(mut so_far) => {
                        so_far.merge(part);
                        so_far
                    }
                    None => part,
                });
                if merged.as_ref().is_some_and(Accumulator::is_full) {
                    break;
                }
            }
        } else {
            let next = AtomicUsize::new(0);
            let results: Vec<Mutex<Option<Result<Accumulator, KqlError>>>> =
                (0..partitions).map(|_| Mutex::new(None)).collect();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    // Expressions are evaluated recursively: give the workers the main thread's stack size.
                    let builder = std::thread::Builder::new().name("kql-scan".into()).stack_size(8 << 20);
                    let spawned = builder.spawn_scoped(scope, || {
                        let own = steps::for_thread(&steps);
                        let steps = own.as_deref().unwrap_or(&steps);
                        loop {
                            let partition = next.fetch_add(1, Ordering::Relaxed);
                            if partition >= partitions || cancel.load(Ordering::Relaxed) {
                                break;
                            }
                            let result = run_partition(partition, steps);
                            let failed = result.is_err();
                            if let Ok(mut slot) = results[partition].lock() {
                                *slot = Some(result);
                            }
                            if failed {
                                break;
                            }
                        }
                    });
                    if spawned.is_err() {
                        // No thread to spare: the threads that did start take the partitions, and any left over
                        // are scanned on this thread below.
                        break;
                    }
                }
            });
            for (partition, slot) in results.into_iter().enumerate() {
                let part = match slot.into_inner().ok().flatten() {
                    Some(result) => result?,
                    None if cancel.load(Ordering::Relaxed) => continue,
                    // No thread could be started for it: scan it here.
                    None => run_partition(partition, &steps)?,
                };
                merged = Some(match merged {
                    Some(mut so_far) => {
                        so_far.merge(part);
                        so_far
                    }
                    None => part,
                });
            }
        }
        self.check_cancelled()?;
        Ok(merged.unwrap_or_else(accumulator).finish())
    }

    fn prepare_step<'p>(&self, operator: &'p Operator) -> Result<Step<'p>, KqlError> {
        steps::prepare(operator, |node| self.run(node))
    }
}
