//! The checked, typed form of a query that the evaluator runs. Every name is resolved: columns are indexes
//! into the row, functions are pointers into the function table, `let`s are inlined or shared. A `Node` is a
//! source followed by a list of operators; the evaluator streams a node's leading row-by-row operators over
//! its source in parallel and materializes the rest.

use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::aggregate::AggregateSpec;
use super::ast::BinaryOperator;
use super::functions::FunctionDef;
use super::span::Span;
use super::table::TableSource;
use super::types::Type;
use super::value::{Str, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: Type,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Column { name: name.into(), ty }
    }
}

pub type Row = Vec<Value>;

/// A typed scalar expression.
#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Type,
}

impl TExpr {
    /// The direct subexpressions (not those of subqueries).
    pub fn children(&self) -> Vec<&TExpr> {
        match &self.kind {
            TExprKind::Literal(_) | TExprKind::Column(_) | TExprKind::ToScalar(_) => Vec::new(),
            TExprKind::Member(target, _)
            | TExprKind::Negate(target)
            | TExprKind::Convert(target)
            | TExprKind::MatchesRegex(target, _) => vec![target],
            TExprKind::Index(a, b)
            | TExprKind::Binary(_, a, b)
            | TExprKind::And(a, b)
            | TExprKind::Or(a, b)
            | TExprKind::StringTest(_, a, b) => vec![a, b],
            TExprKind::Call(call) => call.arguments.iter().collect(),
            TExprKind::In(list) => std::iter::once(&list.target).chain(list.items.iter()).collect(),
            TExprKind::HasAny { target, terms, .. } => std::iter::once(&**target).chain(terms.iter()).collect(),
            TExprKind::Between { target, low, high, .. } => vec![target, low, high],
            TExprKind::Iff(a, b, c) => vec![a, b, c],
            TExprKind::Case(branches, otherwise) => {
                branches.iter().flat_map(|(c, v)| [c, v]).chain(std::iter::once(&**otherwise)).collect()
            }
        }
    }

    /// The direct subexpressions, to change them (as `children`).
    pub fn children_mut(&mut self) -> Vec<&mut TExpr> {
        match &mut self.kind {
            TExprKind::Literal(_) | TExprKind::Column(_) | TExprKind::ToScalar(_) => Vec::new(),
            TExprKind::Member(target, _)
            | TExprKind::Negate(target)
            | TExprKind::Convert(target)
            | TExprKind::MatchesRegex(target, _) => vec![target],
            TExprKind::Index(a, b)
            | TExprKind::Binary(_, a, b)
            | TExprKind::And(a, b)
            | TExprKind::Or(a, b)
            | TExprKind::StringTest(_, a, b) => vec![a, b],
            TExprKind::Call(call) => call.arguments.iter_mut().collect(),
            TExprKind::In(list) => std::iter::once(&mut list.target).chain(list.items.iter_mut()).collect(),
            TExprKind::HasAny { target, terms, .. } => std::iter::once(&mut **target).chain(terms.iter_mut()).collect(),
            TExprKind::Between { target, low, high, .. } => vec![target, low, high],
            TExprKind::Iff(a, b, c) => vec![a, b, c],
            TExprKind::Case(branches, otherwise) => {
                branches.iter_mut().flat_map(|(c, v)| [c, v]).chain(std::iter::once(&mut **otherwise)).collect()
            }
        }
    }

    /// Renumbers every column it reads (with a stack of its own, as `subquery_depth`).
    pub fn map_columns(&mut self, f: &dyn Fn(usize) -> usize) {
        let mut pending = vec![self];
        while let Some(expr) = pending.pop() {
            if let TExprKind::Column(index) = &mut expr.kind {
                *index = f(*index);
            }
            pending.extend(expr.children_mut());
        }
    }

    /// The deepest nesting of the subqueries it reads (`toscalar(T)`, `in (T | ...)`): 0 when it reads none.
    /// Walks with a stack of its own: an expression may be thousands of nodes wide.
    fn subquery_depth(&self) -> usize {
        let mut deepest = 0;
        let mut pending = vec![self];
        while let Some(expr) = pending.pop() {
            let subqueries: &[Arc<SharedNode>] = match &expr.kind {
                TExprKind::ToScalar(shared) => std::slice::from_ref(shared),
                TExprKind::In(list) => &list.subqueries,
                TExprKind::HasAny { subqueries, .. } => subqueries,
                _ => &[],
            };
            for shared in subqueries {
                deepest = deepest.max(shared.node.depth + 1);
            }
            pending.extend(expr.children());
        }
        deepest
    }
}

#[derive(Clone, Debug)]
pub enum TExprKind {
    Literal(Value),
    Column(usize),
    /// `target.name` on a dynamic.
    Member(Box<TExpr>, Str),
    /// `target[index]` on a dynamic (a number indexes an array, a string a bag).
    Index(Box<TExpr>, Box<TExpr>),
    Call(Call),
    /// A comparison or arithmetic (`and`, `or` and the string operators have their own kinds).
    Binary(BinaryOperator, Box<TExpr>, Box<TExpr>),
    And(Box<TExpr>, Box<TExpr>),
    Or(Box<TExpr>, Box<TExpr>),
    Negate(Box<TExpr>),
    StringTest(super::ast::StringOperator, Box<TExpr>, Box<TExpr>),
    /// `x matches regex "..."` with the pattern compiled once.
    MatchesRegex(Box<TExpr>, Arc<Regex>),
    In(Box<InList>),
    /// `x has_any (...)`: terms (constants, dynamic arrays) and subqueries (their first column).
    HasAny {
        target: Box<TExpr>,
        terms: Vec<TExpr>,
        subqueries: Vec<Arc<SharedNode>>,
        all: bool,
    },
    Between {
        target: Box<TExpr>,
        low: Box<TExpr>,
        high: Box<TExpr>,
        negated: bool,
    },
    Iff(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    Case(Vec<(TExpr, TExpr)>, Box<TExpr>),
    /// `toscalar(T)`: the first cell of a subquery, evaluated once before the rows.
    ToScalar(Arc<SharedNode>),
    /// Converts the value to the expression's type (implicit widening, `to typeof(...)`).
    Convert(Box<TExpr>),
}

#[derive(Clone, Debug)]
pub struct Call {
    pub function: &'static FunctionDef,
    pub arguments: Vec<TExpr>,
    /// A regular expression argument given as a literal, compiled once.
    pub regex: Option<Arc<Regex>>,
}

/// `x in (...)`: constants, expressions, dynamic arrays (flattened) and subqueries (first column).
#[derive(Clone, Debug)]
pub struct InList {
    pub target: TExpr,
    pub items: Vec<TExpr>,
    pub subqueries: Vec<Arc<SharedNode>>,
    pub negated: bool,
    pub ignore_case: bool,
    /// The set of values, built on first use when the list does not depend on the row.
    pub cache: Arc<OnceLock<super::eval::InSet>>,
}

/// A tabular expression used in more than one place, or inside a scalar (`toscalar`, `in (T | ...)`):
/// evaluated once, on first use, and kept.
#[derive(Debug)]
pub struct SharedNode {
    pub node: Node,
    pub result: OnceLock<Arc<Vec<Row>>>,
}

impl SharedNode {
    pub fn new(node: Node) -> Arc<SharedNode> {
        Arc::new(SharedNode { node, result: OnceLock::new() })
    }
}

/// A source and the operators applied to it, with the schema after each step.
#[derive(Clone, Debug)]
pub struct Node {
    pub source: Source,
    pub operators: Vec<Operator>,
    /// `schemas[i]` is the schema before `operators[i]`; the last entry is the output.
    pub schemas: Vec<Arc<Vec<Column>>>,
    /// How many nodes nest inside this one (a `let` table over a `let` table, `as`, a join's right side, a
    /// union's legs, subqueries): 0 for a node over a plain source. The evaluator recurses once per level, so
    /// the checker refuses a plan past a bound (`T | as a | as b | …` thousands of times overflowed the stack).
    pub depth: usize,
    /// The schema has more columns than are known: what follows a plugin whose columns come from the data
    /// (`bag_unpack`, `pivot`) when the query is only checked, not run. Names not in the schema are then
    /// accepted (as nulls), since the data may have them.
    pub open: bool,
    /// The rows are in an order that window functions (`prev`, `row_number`, ...) may read: after `sort`,
    /// `top`, `serialize` or `range`, and the row-by-row operators that keep it.
    pub serialized: bool,
}

impl Node {
    pub fn new(source: Source, schema: Vec<Column>) -> Node {
        let depth = source.depth();
        let serialized = match &source {
            Source::Range { .. } => true,
            Source::Shared(shared) => shared.node.serialized,
            _ => false,
        };
        Node { source, operators: Vec::new(), schemas: vec![Arc::new(schema)], depth, open: false, serialized }
    }

    pub fn schema(&self) -> &[Column] {
        self.schemas.last().map(|s| s.as_slice()).unwrap_or_default()
    }

    pub fn push(&mut self, operator: Operator, schema: Vec<Column>) {
        self.depth = self.depth.max(operator.depth());
        self.operators.push(operator);
        self.schemas.push(Arc::new(schema));
    }
}

#[derive(Clone, Debug)]
pub enum Source {
    Table(Arc<dyn TableSource>),
    Rows(Arc<Vec<Row>>),
    /// `print`: one row computed from expressions.
    Print(Vec<TExpr>),
    Range {
        from: TExpr,
        to: TExpr,
        step: TExpr,
    },
    Union(Box<UnionPlan>),
    Shared(Arc<SharedNode>),
}

impl Source {
    /// The nesting of the nodes inside it (see `Node::depth`).
    fn depth(&self) -> usize {
        match self {
            Source::Table(_) | Source::Rows(_) => 0,
            Source::Print(exprs) => exprs.iter().map(TExpr::subquery_depth).max().unwrap_or(0),
            Source::Range { from, to, step } => [from, to, step].iter().map(|e| e.subquery_depth()).max().unwrap_or(0),
            Source::Union(union) => union.inputs.iter().map(|(input, _)| input.depth + 1).max().unwrap_or(0),
            Source::Shared(shared) => shared.node.depth + 1,
        }
    }
}

#[derive(Clone, Debug)]
pub struct UnionPlan {
    /// Each input and, for every output column, where it comes from in that input's rows.
    pub inputs: Vec<(Node, Vec<Option<usize>>)>,
    /// With `withsource=`, the name of each input, put in the first column.
    pub source_names: Option<Vec<Str>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    InnerUnique,
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    LeftAnti,
    RightAnti,
    LeftSemi,
    RightSemi,
}

/// A function of a row's neighbours in a serialized row set (`prev`, `next`, `row_number`, `row_cumsum`),
/// computed over all the rows before the operator that reads it, as a column of its own.
#[derive(Clone, Debug)]
pub struct WindowSpec {
    pub kind: WindowKind,
    /// What is read of the other row (`prev`, `next`) or summed (`row_cumsum`).
    pub value: Option<TExpr>,
    /// The value where there is no such row (`prev`, `next`); null without it.
    pub default: Option<TExpr>,
    /// A condition that starts the count or sum again at this row (`row_number`, `row_cumsum`).
    pub restart: Option<TExpr>,
    pub ty: Type,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Prev(usize),
    Next(usize),
    RowNumber(i64),
    RowCumsum,
}

/// The second half of `make-series`, over the rows of a `summarize` by the `by` expressions and the binned
/// axis: per group of the `by` values, each aggregate becomes an array with one element per step of the axis
/// (`default` where the group has no row in that bin), followed by the axis itself as an array.
#[derive(Clone, Debug)]
pub struct SeriesPlan {
    /// The input's first `keys` columns are the `by` values, the next is the bin, the rest the aggregates.
    pub keys: usize,
    /// Per aggregate: the element of a bin without rows.
    pub defaults: Vec<Value>,
    /// The type of the bin: `datetime`, `timespan` and `long` step in whole units, `real` in floating point.
    pub axis: Type,
    /// The first bin; the first bin with data when absent.
    pub start: Option<TExpr>,
    /// The bound of the axis, exclusive; after the last bin with data when absent.
    pub end: Option<TExpr>,
    /// `in range(start, stop, step)`: `end` is inclusive, and the axis starts at the first multiple of the step
    /// at or after `start`.
    pub inclusive: bool,
    pub step: TExpr,
    /// `kind=nonempty`: an empty input gives one row of defaults (when the axis has both bounds).
    pub nonempty: bool,
}

#[derive(Clone, Debug)]
pub struct SortSpec {
    pub expr: TExpr,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Debug)]
pub struct ParsePlan {
    pub source: TExpr,
    pub regex: Arc<Regex>,
    /// Output slot, type and capture-group index of each column, in order.
    pub columns: Vec<(usize, Type, usize)>,
    /// `relaxed`: a value that does not convert is null on its own instead of failing the whole match.
    pub relaxed: bool,
    /// `parse-where`: rows that do not match are dropped.
    pub keep_only_matches: bool,
}

#[derive(Clone, Debug)]
pub struct MvExpandPlan {
    /// Output slot, expression and target type of each expanded column.
    pub columns: Vec<(usize, TExpr, Option<Type>)>,
    /// The slot of `with_itemindex=`.
    pub item_index: Option<usize>,
    pub bag_as_array: bool,
    pub limit: Option<usize>,
}

/// `mv-apply`: each row is expanded as `mv-expand` would, the subquery runs over those rows alone, and each
/// row it gives is the input row's other columns with the subquery's columns put over them.
#[derive(Clone, Debug)]
pub struct MvApplyPlan {
    pub expand: MvExpandPlan,
    /// Over the expanded rows of one input row; its source is replaced by them.
    pub subquery: Box<Node>,
    /// The input columns the output keeps, in order (all but those expanded in place).
    pub kept: Vec<usize>,
    /// For each column of the subquery: its slot in the output (over a kept column of the same name, or after).
    pub placed: Vec<usize>,
}

/// `partition by Column (subquery)`: the subquery over the rows of each value of the column, one after the
/// other.
#[derive(Clone, Debug)]
pub struct PartitionPlan {
    pub key: usize,
    /// Kusto's legacy strategy refuses more than 64 partitions.
    pub legacy: bool,
    /// Over the rows of one partition; its source is replaced by them.
    pub subquery: Box<Node>,
}

/// `scan`: a state machine over the rows in order (see `eval::scan`). The expressions of the steps read a
/// row of `width * (steps + 1)` values: the record (its columns, then the declared ones at their defaults),
/// then for each step the values of that step in the state the expression is evaluated in (nulls if none).
#[derive(Clone, Debug)]
pub struct ScanPlan {
    /// The input's columns plus the declared ones.
    pub width: usize,
    /// The declared columns' types and defaults (they follow the input's columns).
    pub declared: Vec<(Type, Value)>,
    /// What a step reads of a step with no values in its state: nulls, and the declared columns' defaults.
    pub empty: Row,
    pub steps: Vec<ScanStepPlan>,
    pub match_id: bool,
}

#[derive(Clone, Debug)]
pub struct ScanStepPlan {
    /// `output=none`: its matches change the state and are not output.
    pub output: bool,
    pub condition: TExpr,
    /// The declared column (its index among the record's values) each assignment sets, and the type it takes.
    pub assignments: Vec<(usize, TExpr, Type)>,
}

/// One level of `top-nested`: the rows of each group of the level above are grouped by `of`, each group
/// aggregated, and the first `count` groups in the aggregate's order kept.
#[derive(Clone, Debug)]
pub struct TopNestedLevel {
    pub count: Option<usize>,
    pub of: TExpr,
    pub aggregate: AggregateSpec,
    pub ascending: bool,
    /// `with others = Value`: one more row for the groups left out, with this value (the last level only).
    pub others: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct JoinPlan {
    pub kind: JoinKind,
    pub right: Box<Node>,
    pub left_keys: Vec<usize>,
    pub right_keys: Vec<usize>,
    /// For `lookup`: the right columns kept (keys are not repeated). For `join`: all of them.
    pub right_columns: Vec<usize>,
    pub lookup: bool,
}

#[derive(Clone, Debug)]
pub struct FileProfilePlan {
    /// The column holding the SHA1 or SHA256.
    pub id_column: usize,
    pub limit: usize,
    /// The `FileProfile` table of the data directory, if there is one.
    pub profiles: Option<Box<Node>>,
    /// For every column of `FILE_PROFILE_COLUMNS`: the output slot it fills, or `None` when the input already
    /// had a column of that name (which is kept as it is).
    pub slots: Vec<Option<usize>>,
}

#[derive(Clone, Debug)]
pub enum Operator {
    Where(TExpr),
    /// `(slot, expr)`: a slot past the input's width appends a column, otherwise replaces it.
    Extend(Vec<(usize, TExpr)>),
    Project(Vec<TExpr>),
    Summarize {
        keys: Vec<TExpr>,
        aggregates: Vec<AggregateSpec>,
    },
    Distinct(Vec<TExpr>),
    Count,
    Take(usize),
    Top {
        count: usize,
        keys: Vec<SortSpec>,
    },
    Sort(Vec<SortSpec>),
    Join(JoinPlan),
    MvExpand(MvExpandPlan),
    MvApply(MvApplyPlan),
    Partition(PartitionPlan),
    Parse(ParsePlan),
    FileProfile(FileProfilePlan),
    /// `serialize` with assignments: like `extend`, evaluated in order on one thread.
    Serialize(Vec<(usize, TExpr)>),
    /// Appends a column per window function the next operator reads (see `WindowSpec`).
    Window(Vec<WindowSpec>),
    Series(SeriesPlan),
    TopNested(Vec<TopNestedLevel>),
    Scan(ScanPlan),
}

impl Operator {
    /// Calls `f` on every scalar expression of the operator (not those of its subqueries).
    pub fn expressions(&self, f: &mut dyn FnMut(&TExpr)) {
        match self {
            Operator::Where(e) => f(e),
            Operator::Extend(assigned) | Operator::Serialize(assigned) => assigned.iter().for_each(|(_, e)| f(e)),
            Operator::Project(exprs) | Operator::Distinct(exprs) => exprs.iter().for_each(f),
            Operator::Summarize { keys, aggregates } => {
                keys.iter().for_each(&mut *f);
                for aggregate in aggregates {
                    aggregate
                        .value
                        .iter()
                        .chain(aggregate.predicate.iter())
                        .chain(aggregate.returned.iter())
                        .for_each(&mut *f);
                }
            }
            Operator::Top { keys, .. } | Operator::Sort(keys) => keys.iter().for_each(|k| f(&k.expr)),
            Operator::MvExpand(plan) => plan.columns.iter().for_each(|(_, e, _)| f(e)),
            Operator::MvApply(plan) => plan.expand.columns.iter().for_each(|(_, e, _)| f(e)),
            Operator::Parse(plan) => f(&plan.source),
            Operator::Window(specs) => {
                specs.iter().flat_map(|w| w.value.iter().chain(w.default.iter()).chain(w.restart.iter())).for_each(f)
            }
            Operator::Series(plan) => plan.start.iter().chain(plan.end.iter()).chain([&plan.step]).for_each(f),
            Operator::Scan(plan) => {
                for step in &plan.steps {
                    f(&step.condition);
                    step.assignments.iter().for_each(|(_, e, _)| f(e));
                }
            }
            Operator::TopNested(levels) => {
                for level in levels {
                    f(&level.of);
                    let aggregate = &level.aggregate;
                    aggregate
                        .value
                        .iter()
                        .chain(aggregate.predicate.iter())
                        .chain(aggregate.returned.iter())
                        .for_each(&mut *f);
                }
            }
            Operator::Count
            | Operator::Take(_)
            | Operator::Join(_)
            | Operator::FileProfile(_)
            | Operator::Partition(_) => {}
        }
    }

    /// The nesting of the nodes it reads (see `Node::depth`).
    fn depth(&self) -> usize {
        let mut deepest = match self {
            Operator::Join(join) => join.right.depth + 1,
            Operator::MvApply(apply) => apply.subquery.depth + 1,
            Operator::Partition(partition) => partition.subquery.depth + 1,
            Operator::FileProfile(FileProfilePlan { profiles: Some(profiles), .. }) => profiles.depth + 1,
            _ => 0,
        };
        self.expressions(&mut |expr| deepest = deepest.max(expr.subquery_depth()));
        deepest
    }

    /// Row-by-row operators, which the evaluator fuses into the parallel scan.
    pub fn is_streaming(&self) -> bool {
        match self {
            Operator::Where(_)
            | Operator::Extend(_)
            | Operator::Project(_)
            | Operator::MvExpand(_)
            | Operator::Parse(_)
            | Operator::FileProfile(_) => true,
            Operator::Join(join) => join.lookup,
            _ => false,
        }
    }
}

/// A checked query, ready to run — once: `eval::execute` consumes it, because the results of its subqueries
/// (`let` tables, `toscalar`, `in (T | ...)`) are kept in it and belong to that one run and its `now()`.
#[derive(Debug)]
pub struct Plan {
    pub root: Node,
    /// Where the query's tabular expression is in the text, for runtime errors.
    pub span: Span,
    /// Where the local answer differs from Kusto's by design (`ingestion_time()`, `geo_info_from_ip_address`:
    /// data the local engine cannot have), each with why.
    pub differences: Vec<super::error::KqlError>,
}

impl Plan {
    /// Whether the output may have columns besides those of its schema (see `Node::open`).
    pub fn is_open(&self) -> bool {
        self.root.open
    }
}
