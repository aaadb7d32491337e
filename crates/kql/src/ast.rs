//! The syntax tree of a query, as written. Names are unresolved and nothing is typed: whether `X` is a column,
//! a `let`, a table or a function is the checker's business. Every node has the span of its text.

use super::span::Span;
use super::types::Type;
use super::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// A whole query: `let` statements, then one tabular expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub statements: Vec<Let>,
    /// The tabular expression that produces the result; `None` if the text has only statements.
    pub body: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub name: Name,
    pub value: LetValue,
    pub span: Span,
}

/// A plugin's declared output: `(*, x: string)` keeps the input's columns (`star`), then the columns named.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSchema {
    pub star: bool,
    pub columns: Vec<(Name, crate::types::Type)>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    /// A scalar or tabular expression (which one is decided by the checker: `let t = CloudAppEvents;`).
    Expr(Expr),
    Function(Function),
}

/// `(a: string, b: long = 5) { let x = ...; body }`
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub parameters: Vec<Parameter>,
    pub statements: Vec<Let>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub name: Name,
    /// `None` for a tabular parameter `T:(*)`.
    pub ty: Option<Type>,
    pub default: Option<Expr>,
    /// The columns a tabular parameter requires (`T:(Key:string, Value:long)`); none for `T:(*)`.
    pub columns: Vec<(Name, Type)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// The scalar expressions directly inside this one, in source order (not those of a tabular subquery).
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Member { target, .. } | ExprKind::Negate(target) | ExprKind::Named { value: target, .. } => {
                vec![target]
            }
            ExprKind::Index { target, index } => vec![target, index],
            ExprKind::Call { arguments, .. } => arguments.iter().collect(),
            ExprKind::Binary { left, right, .. } => vec![left, right],
            ExprKind::In { target, list, .. } | ExprKind::HasAny { target, list, .. } => {
                std::iter::once(&**target).chain(list).collect()
            }
            ExprKind::Between { target, low, high, .. } => vec![target, low, high],
            ExprKind::Literal { .. } | ExprKind::Name(_) | ExprKind::Tabular(_) | ExprKind::Star => Vec::new(),
        }
    }

    /// `children`, to change them in place.
    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        match &mut self.kind {
            ExprKind::Member { target, .. } | ExprKind::Negate(target) | ExprKind::Named { value: target, .. } => {
                vec![target]
            }
            ExprKind::Index { target, index } => vec![target, index],
            ExprKind::Call { arguments, .. } => arguments.iter_mut().collect(),
            ExprKind::Binary { left, right, .. } => vec![left, right],
            ExprKind::In { target, list, .. } | ExprKind::HasAny { target, list, .. } => {
                std::iter::once(&mut **target).chain(list.iter_mut()).collect()
            }
            ExprKind::Between { target, low, high, .. } => vec![target, low, high],
            ExprKind::Literal { .. } | ExprKind::Name(_) | ExprKind::Tabular(_) | ExprKind::Star => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal; `ty` distinguishes typed nulls (`int(null)`) and `int` from `long`.
    Literal {
        value: Value,
        ty: Type,
    },
    /// An identifier or a bracketed name (`['Column Name']`).
    Name(String),
    /// `target.name`
    Member {
        target: Box<Expr>,
        name: Name,
    },
    /// `target[index]`
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    Call {
        function: Name,
        arguments: Vec<Expr>,
    },
    Binary {
        operator: BinaryOperator,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Negate(Box<Expr>),
    /// `x in (a, b)`, `x !in~ (dynamic([...]))`, `x in (T | project y)`.
    In {
        target: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        ignore_case: bool,
    },
    /// `x has_any (a, b)` / `x has_all (...)`.
    HasAny {
        target: Box<Expr>,
        list: Vec<Expr>,
        all: bool,
    },
    /// `x between (low .. high)`.
    Between {
        target: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// A tabular expression where a scalar could stand: a `let` value, a function argument
    /// (`toscalar(T | count)`), the list of `in`, the right side of a join.
    Tabular(Box<Pipeline>),
    /// `*` as an argument (`arg_max(Timestamp, *)`).
    Star,
    /// `Name = expr` as a call's argument (`bin(Hour = Timestamp, 1h)`, `toint(Compliant = dcountif(...))`):
    /// the argument is `value`, and `name` names the column the call makes when nothing else names it.
    Named {
        name: Name,
        value: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOperator {
    Or,
    And,
    Equal,
    NotEqual,
    EqualIgnoreCase,
    NotEqualIgnoreCase,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    String(StringOperator),
    MatchesRegex,
}

/// `contains`, `!has_cs`, `startswith`, … : which test, negated or not, case-sensitive or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringOperator {
    pub test: StringTest,
    pub negated: bool,
    pub case_sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringTest {
    Contains,
    Has,
    HasPrefix,
    HasSuffix,
    StartsWith,
    EndsWith,
}

impl BinaryOperator {
    /// The operator as written, for error messages.
    pub fn text(self) -> String {
        match self {
            BinaryOperator::Or => "or".into(),
            BinaryOperator::And => "and".into(),
            BinaryOperator::Equal => "==".into(),
            BinaryOperator::NotEqual => "!=".into(),
            BinaryOperator::EqualIgnoreCase => "=~".into(),
            BinaryOperator::NotEqualIgnoreCase => "!~".into(),
            BinaryOperator::Less => "<".into(),
            BinaryOperator::LessEqual => "<=".into(),
            BinaryOperator::Greater => ">".into(),
            BinaryOperator::GreaterEqual => ">=".into(),
            BinaryOperator::Add => "+".into(),
            BinaryOperator::Subtract => "-".into(),
            BinaryOperator::Multiply => "*".into(),
            BinaryOperator::Divide => "/".into(),
            BinaryOperator::Modulo => "%".into(),
            BinaryOperator::MatchesRegex => "matches regex".into(),
            BinaryOperator::String(op) => {
                let name = match op.test {
                    StringTest::Contains => "contains",
                    StringTest::Has => "has",
                    StringTest::HasPrefix => "hasprefix",
                    StringTest::HasSuffix => "hassuffix",
                    StringTest::StartsWith => "startswith",
                    StringTest::EndsWith => "endswith",
                };
                format!("{}{}{}", if op.negated { "!" } else { "" }, name, if op.case_sensitive { "_cs" } else { "" })
            }
        }
    }
}

/// `source | operator | operator ...`
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub source: Source,
    pub operators: Vec<Operator>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A table, a tabular `let`, a function call, or a parenthesized pipeline.
    Expr(Expr),
    Datatable {
        columns: Vec<(Name, Type)>,
        values: Vec<Expr>,
        span: Span,
    },
    /// `externaldata(Name: type, ...) [uri, ...] [with (...)]`: rows read from storage or the web.
    ExternalData {
        columns: Vec<(Name, Type)>,
        uris: Vec<Expr>,
        span: Span,
    },
    Print(Vec<Assignment>),
    Range {
        column: Name,
        from: Expr,
        to: Expr,
        step: Expr,
    },
    Union(Union),
    Find(Box<Find>),
}

/// `find [withsource=Name] [in (Tables)] [where] Predicate [project-smart | project Columns [, pack_all()]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Find {
    pub with_source: Option<Name>,
    /// `None`: every table.
    pub tables: Option<Vec<UnionTable>>,
    /// Bare terms already made tests of every column, as in `search`.
    pub predicate: Expr,
    /// `None`: `project-smart`.
    pub project: Option<FindProject>,
    pub span: Span,
}

/// `project Column[: type], ... [, pack_all()]` of `find`.
#[derive(Clone, Debug, PartialEq)]
pub struct FindProject {
    pub columns: Vec<(Name, Option<Type>)>,
    /// `pack_all()` ends the list: a `pack_` column holds the others.
    pub pack_all: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Union {
    pub inner: bool,
    /// `isfuzzy=true`: tables that do not exist are left out instead of failing the query.
    pub fuzzy: bool,
    pub with_source: Option<Name>,
    pub tables: Vec<UnionTable>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum UnionTable {
    /// A table or `let` name, possibly with `*` wildcards.
    Pattern(NamePattern),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub kind: OperatorKind,
    /// The operator keyword, which Kusto names in its messages (`'project' operator: ...`).
    pub keyword: Name,
    pub span: Span,
}

/// `Name = expr`, or a bare `expr` whose column name is derived from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub names: Vec<Name>,
    pub expr: Expr,
}

/// A column name that may contain `*` wildcards (`project-away Acc*`).
#[derive(Clone, Debug, PartialEq)]
pub struct NamePattern {
    pub text: String,
    pub span: Span,
}

impl NamePattern {
    pub fn is_wildcard(&self) -> bool {
        self.text.contains('*')
    }

    pub fn matches(&self, name: &str) -> bool {
        wildcard_match(&self.text, name)
    }
}

fn wildcard_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, rest)) => {
            if !name.starts_with(prefix) {
                return false;
            }
            let tail = &name[prefix.len()..];
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len()).filter(|i| tail.is_char_boundary(*i)).any(|i| wildcard_match(rest, &tail[i..]))
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    /// `Some(true)` for `nulls first`; `None` for the default of the direction.
    pub nulls_first: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JoinCondition {
    /// `on Col`: the same column on both sides.
    Same(Name),
    /// `on $left.A == $right.B`.
    Pair { left: Name, right: Name },
}

#[derive(Clone, Debug, PartialEq)]
pub struct MvExpandItem {
    pub name: Option<Name>,
    pub expr: Expr,
    pub to_type: Option<Type>,
}

/// `scan [with_match_id=Id] [declare (Name: type [= default], ...)] with (step ...; ...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    pub match_id: Option<Name>,
    pub declare: Vec<(Name, Type, Option<Expr>)>,
    pub steps: Vec<ScanStep>,
}

/// `step Name [output=all|last|none]: Condition [=> Column = Expr, ...];`
#[derive(Clone, Debug, PartialEq)]
pub struct ScanStep {
    pub name: Name,
    /// `all` (the default), `last` or `none`, as written.
    pub output: Name,
    pub condition: Expr,
    pub assignments: Vec<(Name, Expr)>,
}

/// One clause of `top-nested`: `top-nested [N] of [Name =] Expr [with others = Value] by [Name =] Aggregation
/// [asc | desc]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TopNestedClause {
    pub count: Option<Expr>,
    pub of: Assignment,
    pub others: Option<Expr>,
    pub by: Assignment,
    pub ascending: bool,
    pub span: Span,
}

/// `make-series`: per group of the `by` expressions, one array per aggregation along the binned axis.
#[derive(Clone, Debug, PartialEq)]
pub struct MakeSeries {
    /// `kind=nonempty`: an empty input still gives one row of defaults.
    pub nonempty: bool,
    /// Each aggregation with its `default=` value (0 when absent).
    pub aggregates: Vec<(Assignment, Option<Expr>)>,
    pub axis: Expr,
    pub from: Option<Expr>,
    pub to: Option<Expr>,
    pub step: Expr,
    /// The alternate syntax `on Axis in range(start, stop, step)`: `stop` is inclusive and the bins are
    /// `bin()`'s, not `bin_at()`'s.
    pub in_range: bool,
    pub by: Vec<Assignment>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParsePart {
    Star(Span),
    Literal(String, Span),
    Column { name: Name, ty: Option<Type> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseKind {
    Simple,
    Regex,
    Relaxed,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OperatorKind {
    Where(Expr),
    Extend(Vec<Assignment>),
    Project(Vec<Assignment>),
    ProjectAway(Vec<NamePattern>),
    ProjectKeep(Vec<NamePattern>),
    ProjectRename(Vec<(Name, Name)>),
    ProjectReorder(Vec<(NamePattern, Option<bool>)>),
    Summarize {
        aggregates: Vec<Assignment>,
        by: Vec<Assignment>,
    },
    MakeSeries(Box<MakeSeries>),
    TopNested(Vec<TopNestedClause>),
    Scan(Box<Scan>),
    /// `distinct *` is an empty list.
    /// `distinct a, Name = expr` (`Vec::new()` for `distinct *`).
    Distinct(Vec<Assignment>),
    Count,
    Take(Expr),
    Top {
        count: Expr,
        by: Vec<SortKey>,
    },
    Sort(Vec<SortKey>),
    Join {
        kind: Option<Name>,
        right: Expr,
        on: Vec<JoinCondition>,
    },
    Lookup {
        kind: Option<Name>,
        right: Expr,
        on: Vec<JoinCondition>,
    },
    Union(Union),
    MvExpand {
        items: Vec<MvExpandItem>,
        item_index: Option<Name>,
        bag_expansion_array: bool,
        limit: Option<Expr>,
    },
    /// `search Predicate`: the predicate's bare terms are already tests of every column (`* has "term"`).
    /// `piped`: after a `|` (over its input), not at the start of a query (over a union of tables, whose
    /// `$table` the parser has put first).
    Search {
        predicate: Expr,
        piped: bool,
    },
    /// `partition by Column (subquery)`: the subquery runs over the rows of each value of the column.
    Partition {
        by: Name,
        /// No `hint.strategy=native` or `shuffle`: Kusto's legacy strategy, limited to 64 partitions.
        legacy: bool,
        subquery: Vec<Operator>,
    },
    /// `mv-apply items on (subquery)`: the subquery runs over each row's expanded elements.
    MvApply {
        items: Vec<MvExpandItem>,
        item_index: Option<Name>,
        limit: Option<Expr>,
        /// The operators of the subquery, whose source is the expanded rows.
        subquery: Vec<Operator>,
    },
    /// `flags` are the regular-expression flags of `kind=regex` (`U`, `i`, `m`, `s`).
    Parse {
        kind: ParseKind,
        flags: String,
        source: Expr,
        pattern: Vec<ParsePart>,
        keep_only_matches: bool,
    },
    Invoke {
        function: Name,
        arguments: Vec<Expr>,
    },
    /// `evaluate plugin(arguments)`, with its declared output schema (`: (x: string, y: long)`).
    Evaluate {
        plugin: Name,
        arguments: Vec<Expr>,
        schema: Option<OutputSchema>,
    },
    GetSchema,
    As(Name),
    Serialize(Vec<Assignment>),
    Render(crate::visualization::Visualization),
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("Acc*", "AccountName"));
        assert!(wildcard_match("*Name", "AccountName"));
        assert!(wildcard_match("A*t*e", "AccountName"));
        assert!(!wildcard_match("Acc*", "DeviceName"));
        assert!(wildcard_match("*", "x"));
    }
}
