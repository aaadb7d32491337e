//! The semantic pass: resolves every name against the tables of a catalog and the `let`s in scope, types
//! every expression, and builds the `Plan` the evaluator runs. Errors read like Kusto's
//! (`'where' operator: Failed to resolve scalar expression named 'X'`) and carry a "did you mean" where a
//! near name exists. Independent problems are all reported; after a bad operator the rest of its pipeline
//! is skipped, since what follows would only repeat the same mistake.

mod expr;
mod find;
mod names;
mod operators;
pub(crate) mod plugins;
mod series;
pub mod window;

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::{self, Expr, ExprKind, LetValue, Source as AstSource};
use super::error::{KqlError, KqlErrors, closest};
use super::eval;
use super::plan::{Column, Node, Plan, SharedNode, Source, TExpr, TExprKind, UnionPlan};
use super::span::Span;
use super::table::Catalog;
use super::types::Type;
use super::value::{Str, Value};

pub use names::inferred_name;
pub use operators::FILE_PROFILE_COLUMNS;

/// Checks a parsed query against a catalog.
pub fn check_query(query: &ast::Query, catalog: &dyn Catalog) -> Result<Plan, KqlErrors> {
    check(query, Checker::new(catalog))
}

/// `check_query` for a query about to run with `options`: plugins whose columns come from the data run their
/// input now (`compile_to_run`).
pub fn check_query_to_run(
    query: &ast::Query,
    catalog: &dyn Catalog,
    options: &crate::eval::ExecOptions,
) -> Result<Plan, KqlErrors> {
    check(query, Checker { probe: Some(options), ..Checker::new(catalog) })
}

fn check(query: &ast::Query, mut checker: Checker) -> Result<Plan, KqlErrors> {
    for statement in &query.statements {
        checker.let_statement(statement);
    }
    let root = match &query.body {
        Some(body) => checker.tabular(body).ok(),
        None => {
            checker.errors.push(KqlError::semantic(
                Span::new(query.span.end, query.span.end),
                "the query has no tabular expression: after the let statements, write the query whose rows you want",
            ));
            None
        }
    };
    match (root, checker.errors.is_empty()) {
        (Some(root), true) => Ok(Plan {
            root,
            span: query.body.as_ref().map_or(query.span, |b| b.span),
            differences: checker.differences,
        }),
        _ => Err(checker.into_errors()),
    }
}

/// Checks a scalar expression over a row of the given columns (a playbook's `when:`), with no tables.
pub fn check_scalar(expr: &Expr, columns: &[Column], catalog: &dyn Catalog) -> Result<TExpr, KqlErrors> {
    let mut checker = Checker::new(catalog);
    match checker.scalar(expr, columns) {
        Ok(typed) if checker.errors.is_empty() => Ok(typed),
        _ => Err(checker.into_errors()),
    }
}

/// An error was recorded in `Checker::errors`; the caller gives up on the current operator.
#[derive(Debug)]
pub(super) struct Reported;

pub(super) type CResult<T> = Result<T, Reported>;

#[derive(Clone)]
enum Binding {
    Scalar(TExpr),
    Tabular(Arc<SharedNode>),
    Function(Arc<ast::Function>),
    /// A `let` whose value did not check (its problem is reported): what refers to it fails without a word of
    /// its own, so that one problem — perhaps only that the local engine lacks something — is not reported
    /// again as an unknown name everywhere it is used.
    Failed {
        tabular: bool,
    },
}

#[derive(Default)]
struct Scope {
    bindings: HashMap<String, Binding>,
    /// Function parameters are found before the caller's columns.
    parameters: bool,
}

pub(super) struct Checker<'a> {
    catalog: &'a dyn Catalog,
    errors: Vec<KqlError>,
    scopes: Vec<Scope>,
    /// The operator being checked, which Kusto names at the start of its messages.
    operator: Option<String>,
    /// Nesting of inlined function calls, bounded so that a recursive function is an error, not a crash.
    inline_depth: usize,
    /// The name of what flows into the operator being checked (`T | as X | union ...`), for `withsource=`.
    piped_name: Option<String>,
    /// Where the local answer differs from Kusto's by design (`Plan::differences`).
    differences: Vec<KqlError>,
    /// The options of the run the query is checked for, when it is: plugins whose columns come from the data
    /// run their input with them (`compile_to_run`).
    probe: Option<&'a crate::eval::ExecOptions>,
    /// The operator being checked reads an open schema (`Node::open`): unknown names are nulls, not errors.
    open_input: bool,
    /// The window calls (`prev`, `row_number`, ...) of the operator being checked, when it may have some.
    windows: Option<window::Windows>,
    /// The names written so far in the `summarize` being checked (`m = count()`): a second one of a name is
    /// an error, while a name `arg_max(T, *)` made is renamed (`m1`), as Kusto does.
    written_names: Vec<String>,
}

const MAX_INLINE_DEPTH: usize = 32;

/// Bounds on an expression built by substituting `let`s and inlining functions (the parser bounds what is
/// written; substitution can nest and duplicate it: `let a1 = a0 + a0; let a2 = a1 + a1; ...`).
const MAX_EXPRESSION_DEPTH: usize = 256;
const MAX_EXPRESSION_NODES: usize = 100_000;

/// How deeply the nodes of a plan may nest (`Node::depth`).
const MAX_PLAN_DEPTH: usize = 64;

/// Whether an expression stays within the bounds, counting no further than needed.
fn within_bounds(expr: &TExpr) -> bool {
    fn walk(expr: &TExpr, depth: usize, nodes: &mut usize) -> bool {
        *nodes += 1;
        if depth > MAX_EXPRESSION_DEPTH || *nodes > MAX_EXPRESSION_NODES {
            return false;
        }
        expr.children().into_iter().all(|child| walk(child, depth + 1, nodes))
    }
    walk(expr, 0, &mut 0)
}

impl<'a> Checker<'a> {
    fn new(catalog: &'a dyn Catalog) -> Self {
        Checker {
            catalog,
            errors: Vec::new(),
            scopes: vec![Scope::default()],
            operator: None,
            inline_depth: 0,
            piped_name: None,
            differences: Vec::new(),
            probe: None,
            open_input: false,
            windows: None,
            written_names: Vec::new(),
        }
    }

    fn into_errors(mut self) -> KqlErrors {
        self.errors.sort_by_key(|e| (e.span.start, e.span.end));
        self.errors.dedup();
        KqlErrors(self.errors)
    }

    /// Records an error, prefixed with the current operator as Kusto does.
    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) -> Reported {
        self.error_with_hint(span, message, None)
    }

    pub(super) fn error_with_hint(&mut self, span: Span, message: impl Into<String>, hint: Option<String>) -> Reported {
        let message = message.into();
        let message = match &self.operator {
            Some(operator) => format!("'{operator}' operator: {message}"),
            None => message,
        };
        let mut error = KqlError::semantic(span, message);
        error.hint = hint;
        self.errors.push(error);
        Reported
    }

    /// A name the local engine does not know but Kusto may (`ErrorKind::Unknown`), prefixed like `error`.
    pub(super) fn unknown(&mut self, span: Span, message: impl Into<String>, hint: Option<String>) -> Reported {
        let message = message.into();
        let message = match &self.operator {
            Some(operator) => format!("'{operator}' operator: {message}"),
            None => message,
        };
        let mut error = KqlError::unknown(span, message);
        error.hint = hint;
        self.errors.push(error);
        Reported
    }

    pub(super) fn unsupported(&mut self, span: Span, message: impl Into<String>) -> Reported {
        self.errors.push(KqlError::unsupported(span, message));
        Reported
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|scope| scope.bindings.get(name))
    }

    /// A parameter of the function being inlined, which wins over a column of the same name.
    fn lookup_parameter(&self, name: &str) -> Option<&Binding> {
        let scope = self.scopes.iter().rev().find(|scope| scope.parameters)?;
        scope.bindings.get(name)
    }

    fn bind(&mut self, name: &str, binding: Binding) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.bindings.insert(name.to_string(), binding);
        }
    }

    fn let_names(&self) -> Vec<String> {
        self.scopes.iter().flat_map(|scope| scope.bindings.keys().cloned()).collect()
    }

    /// "did you mean" among the given names and the `let`s, with Sentinel-to-Defender aliases.
    pub(super) fn suggestion(&self, name: &str, candidates: &[String]) -> Option<String> {
        if let Some(alias) = names::known_alias(name)
            && candidates.iter().any(|c| c == alias)
        {
            return Some(format!("did you mean '{alias}'?"));
        }
        let lets = self.let_names();
        let all = candidates.iter().chain(lets.iter()).map(String::as_str);
        closest(name, all).map(|found| format!("did you mean '{found}'?"))
    }

    fn let_statement(&mut self, statement: &ast::Let) {
        let name = statement.name.text.clone();
        if self.scopes.last().is_some_and(|scope| scope.bindings.contains_key(&name)) {
            // Kusto: "A variable with the name 'a' has already been declared."
            self.error(statement.name.span, format!("'{name}' is already declared by a let statement before"));
            return;
        }
        match &statement.value {
            LetValue::Function(function) => self.bind(&name, Binding::Function(Arc::new(function.clone()))),
            LetValue::Expr(expr) => {
                let binding = self.let_value(expr).unwrap_or(Binding::Failed { tabular: self.is_tabular(expr) });
                self.bind(&name, binding);
            }
        }
    }

    /// A `let` value is tabular if it is a pipeline, a table or another tabular `let`; scalar otherwise.
    fn let_value(&mut self, expr: &Expr) -> CResult<Binding> {
        if self.is_tabular(expr) {
            let node = self.tabular(expr)?;
            return Ok(Binding::Tabular(shared(node)));
        }
        let value = self.scalar(expr, &[])?;
        self.require_bounded(&value, expr.span)?;
        Ok(Binding::Scalar(value))
    }

    /// Refuses an expression that substitution made too deep or too large to evaluate safely.
    pub(super) fn require_bounded(&mut self, expr: &TExpr, span: Span) -> CResult<()> {
        if within_bounds(expr) {
            Ok(())
        } else {
            Err(self.error(
                span,
                format!(
                    "this expression grows past {MAX_EXPRESSION_DEPTH} levels or {MAX_EXPRESSION_NODES} parts once its lets and functions are expanded"
                ),
            ))
        }
    }

    /// Whether an expression denotes a table rather than a scalar.
    fn is_tabular(&self, expr: &Expr) -> bool {
        match &expr.kind {
            ExprKind::Tabular(_) => true,
            ExprKind::Name(name) => match self.lookup(name) {
                Some(Binding::Tabular(_)) => true,
                Some(Binding::Function(function)) => function.parameters.is_empty() && self.is_tabular(&function.body),
                Some(Binding::Scalar(_)) => false,
                Some(Binding::Failed { tabular }) => *tabular,
                None => self.catalog.table(name).ok().flatten().is_some(),
            },
            ExprKind::Call { function, .. } => match self.lookup(&function.text) {
                Some(Binding::Function(f)) => self.is_tabular(&f.body),
                _ => matches!(function.text.as_str(), "materialize" | "table" | "view"),
            },
            _ => false,
        }
    }

    // ----- tabular expressions --------------------------------------------------------------------------

    /// Checks an expression that must be tabular and returns its plan.
    pub(super) fn tabular(&mut self, expr: &Expr) -> CResult<Node> {
        let saved = self.operator.take();
        let result = self.tabular_inner(expr);
        self.operator = saved;
        result
    }

    fn tabular_inner(&mut self, expr: &Expr) -> CResult<Node> {
        match &expr.kind {
            ExprKind::Tabular(pipeline) => self.pipeline(pipeline),
            ExprKind::Name(name) => self.named_table(name, expr.span),
            ExprKind::Call { function, arguments } => self.tabular_call(function, arguments, expr.span),
            _ => Err(self.error(
                expr.span,
                "expected a tabular expression (a table, a let bound to a query, or a query in parentheses)",
            )),
        }
    }

    fn named_table(&mut self, name: &str, span: Span) -> CResult<Node> {
        match self.lookup(name).cloned() {
            Some(Binding::Tabular(node)) => {
                let schema = node.node.schema().to_vec();
                return Ok(Node::new(Source::Shared(node), schema));
            }
            Some(Binding::Function(function)) if function.parameters.is_empty() => {
                return self.inline_tabular(&function, &[], span);
            }
            Some(Binding::Scalar(_)) => {
                return Err(self.error(span, format!("'{name}' is a scalar value, not a table")));
            }
            Some(Binding::Failed { .. }) => return Err(Reported),
            _ => {}
        }
        match self.catalog.table(name) {
            Ok(Some(table)) => {
                let columns = table.columns().to_vec();
                Ok(Node::new(Source::Table(table), columns))
            }
            Ok(None) => {
                if let Some(replacement) = crate::schema::retired(name) {
                    return Err(self.error_with_hint(
                        span,
                        format!("'{name}' is a table advanced hunting no longer has"),
                        Some(format!("use {replacement}")),
                    ));
                }
                Err(self.unknown_table(name, span))
            }
            Err(error) => {
                self.errors.push(KqlError { span, ..error });
                Err(Reported)
            }
        }
    }

    fn tabular_call(&mut self, function: &ast::Name, arguments: &[Expr], span: Span) -> CResult<Node> {
        match self.lookup(&function.text).cloned() {
            Some(Binding::Function(definition)) => return self.inline_tabular(&definition, arguments, span),
            Some(Binding::Failed { .. }) => return Err(Reported),
            Some(_) => return Err(self.error(function.span, format!("'{}' is not a function", function.text))),
            None => {}
        }
        match (function.text.as_str(), arguments) {
            ("materialize", [inner]) => self.tabular(inner),
            ("table", [name]) => match &name.kind {
                ExprKind::Literal { value: Value::String(table), .. } => self.named_table(&table.clone(), name.span),
                // A name given by a let or a function's parameter: a constant string is the table's name.
                _ => match self.scalar(name, &[]) {
                    Ok(typed) if typed.ty == Type::String && !references_columns(&typed) => {
                        match eval::constant(&typed) {
                            Value::String(table) if !table.is_empty() => self.named_table(&table, name.span),
                            _ => Err(self.unsupported(name.span, "table() over a name only known when the query runs")),
                        }
                    }
                    Ok(_) => Err(self.error(name.span, "table() expects the table's name as a string")),
                    Err(reported) => Err(reported),
                },
            },
            _ => Err(self.unknown_table(&function.text, function.span)),
        }
    }

    /// A table nobody declared: for certain wrong when it is a likely typo of a table the catalog has (an
    /// advanced-hunting table, or a local file's); otherwise perhaps one the tenant has (a Sentinel table
    /// through the connected workspace, a newer table): a name the local engine does not know.
    fn unknown_table(&mut self, name: &str, span: Span) -> Reported {
        let message = format!("Failed to resolve table or column expression named '{name}'");
        let tables = self.catalog.table_names();
        let lets = self.let_names();
        if let Some(typo) = crate::error::likely_typo(name, tables.iter().chain(&lets).map(String::as_str)) {
            let hint = format!("did you mean '{typo}'?");
            return self.error_with_hint(span, message, Some(hint));
        }
        let hint = self.suggestion(name, &tables);
        self.unknown(span, message, hint)
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) -> CResult<Node> {
        let node = self.source(&pipeline.source)?;
        self.within_plan_depth(&node, pipeline.span)?;
        // A table read as it is, or the result of `as X`, has a name that `union withsource=` reports.
        let name = match &pipeline.source {
            AstSource::Expr(Expr { kind: ExprKind::Name(table), .. }) => Some(table.clone()),
            _ => None,
        };
        self.operators_over(node, name, &pipeline.operators)
    }

    /// The operators of a pipeline, one after the other over `node`; `name` is the table's, for `union
    /// withsource=`.
    pub(super) fn operators_over(
        &mut self,
        mut node: Node,
        mut name: Option<String>,
        operators: &[ast::Operator],
    ) -> CResult<Node> {
        for operator in operators {
            self.operator = Some(operator.keyword.text.clone());
            self.piped_name = name.take();
            let open = node.open;
            let serialized = node.serialized;
            self.open_input = open;
            let result = self.operator_with_windows(node, operator);
            self.open_input = false;
            self.operator = None;
            self.piped_name = None;
            node = result?;
            // An operator over an open schema keeps it open, unless it decides its columns itself.
            node.open = (node.open || open) && !closes_schema(&operator.kind);
            node.serialized = match &operator.kind {
                ast::OperatorKind::Sort(_)
                | ast::OperatorKind::Top { .. }
                | ast::OperatorKind::Serialize(_)
                | ast::OperatorKind::GetSchema => true,
                ast::OperatorKind::Where(_)
                | ast::OperatorKind::Extend(_)
                | ast::OperatorKind::Project(_)
                | ast::OperatorKind::ProjectAway(_)
                | ast::OperatorKind::ProjectKeep(_)
                | ast::OperatorKind::ProjectRename(_)
                | ast::OperatorKind::ProjectReorder(_)
                | ast::OperatorKind::Take(_)
                | ast::OperatorKind::MvExpand { .. }
                | ast::OperatorKind::Parse { .. }
                | ast::OperatorKind::As(_)
                | ast::OperatorKind::Render(_) => serialized,
                _ => false,
            };
            self.within_plan_depth(&node, operator.keyword.span)?;
            if let ast::OperatorKind::As(alias) = &operator.kind {
                name = Some(alias.text.clone());
            }
        }
        Ok(node)
    }

    /// Checks an operator; the window functions of a `where`, `extend`, `project` or `serialize` become
    /// columns computed before it (see `window`).
    fn operator_with_windows(&mut self, node: Node, operator: &ast::Operator) -> CResult<Node> {
        use ast::OperatorKind as K;
        let windows = match &operator.kind {
            K::Where(_) | K::Extend(_) | K::Project(_) => Some(window::Windows::new(&node, false)),
            K::Serialize(_) => Some(window::Windows::new(&node, true)),
            _ => None,
        };
        let outer = std::mem::replace(&mut self.windows, windows);
        let result = self.operator(node, operator);
        let windows = std::mem::replace(&mut self.windows, outer);
        let mut node = result?;
        if let Some(windows) = windows {
            window::place(&mut node, windows);
        }
        Ok(node)
    }

    /// Refuses a plan whose tables nest past `MAX_PLAN_DEPTH` (the evaluator recurses once per level).
    fn within_plan_depth(&mut self, node: &Node, span: Span) -> CResult<()> {
        if node.depth <= MAX_PLAN_DEPTH {
            return Ok(());
        }
        self.errors.push(
            KqlError::unsupported(
                span,
                format!(
                    "the query nests tables more than {MAX_PLAN_DEPTH} levels deep, past what the local engine runs"
                ),
            )
            .with_hint("each `as`, `let` over a `let`, join, union or subquery over another counts as a level"),
        );
        Err(Reported)
    }

    /// The name a union leg reports in `withsource=`: its table, its `as` name, or `union_argN`.
    fn leg_name(expr: &Expr, index: usize) -> Str {
        let named = match &expr.kind {
            ExprKind::Name(table) => Some(table.clone()),
            ExprKind::Tabular(pipeline) => match pipeline.operators.last().map(|o| &o.kind) {
                Some(ast::OperatorKind::As(alias)) => Some(alias.text.clone()),
                _ => None,
            },
            _ => None,
        };
        Str::from(named.unwrap_or_else(|| format!("union_arg{index}")))
    }

    fn source(&mut self, source: &AstSource) -> CResult<Node> {
        match source {
            AstSource::Expr(expr) => self.tabular(expr),
            AstSource::Datatable { columns, values, span } => self.datatable(columns, values, *span),
            AstSource::ExternalData { columns, uris, span } => self.externaldata(columns, uris, *span),
            AstSource::Print(assignments) => {
                self.operator = Some("print".to_string());
                let result = self.print(assignments);
                self.operator = None;
                result
            }
            AstSource::Range { column, from, to, step } => self.range(column, from, to, step),
            AstSource::Union(union) => self.union(Vec::new(), union),
            AstSource::Find(find) => self.find(find),
        }
    }

    /// Each column declared once, as Kusto requires of `datatable` and `externaldata`.
    fn declared_once(&mut self, columns: &[(ast::Name, Type)]) -> CResult<()> {
        for (index, (name, _)) in columns.iter().enumerate() {
            if columns[..index].iter().any(|(earlier, _)| earlier.text == name.text) {
                return Err(
                    self.error(name.span, format!("A column with the name '{}' is already declared", name.text))
                );
            }
        }
        Ok(())
    }

    /// `externaldata`: its rows come from storage or the web, which the local engine does not fetch (a limit
    /// of its own: Graph runs the query). Its columns are declared, so what follows is checked all the same.
    fn externaldata(&mut self, columns: &[(ast::Name, Type)], uris: &[Expr], span: Span) -> CResult<Node> {
        self.declared_once(columns)?;
        for uri in uris {
            let typed = self.scalar(uri, &[])?;
            if typed.ty != Type::String {
                return Err(self.error(uri.span, "externaldata expects the address of its data as a string"));
            }
        }
        let from = uris.first().and_then(|uri| match &uri.kind {
            ExprKind::Literal { value: Value::String(text), .. } => Some(text.to_string()),
            _ => None,
        });
        let message = match from {
            Some(from) => format!("'externaldata' reads its rows from {from}: the local engine does not fetch them"),
            None => "'externaldata' reads its rows from storage or the web: the local engine does not fetch them"
                .to_string(),
        };
        self.unsupported(span, message);
        let schema: Vec<Column> = columns.iter().map(|(name, ty)| Column::new(name.text.clone(), *ty)).collect();
        Ok(Node::new(Source::Rows(Arc::new(Vec::new())), schema))
    }

    fn datatable(&mut self, columns: &[(ast::Name, Type)], values: &[Expr], span: Span) -> CResult<Node> {
        self.declared_once(columns)?;
        let schema: Vec<Column> = columns.iter().map(|(name, ty)| Column::new(name.text.clone(), *ty)).collect();
        if schema.is_empty() || !values.len().is_multiple_of(schema.len()) {
            return Err(self.error(
                span,
                format!(
                    "datatable has {} columns but {} values, which is not a whole number of rows",
                    schema.len(),
                    values.len()
                ),
            ));
        }
        let mut rows = Vec::with_capacity(values.len() / schema.len());
        let mut row = Vec::with_capacity(schema.len());
        let mut failed = false;
        for (index, value) in values.iter().enumerate() {
            let column = &schema[index % schema.len()];
            match self.constant(value, &[]) {
                Ok(constant) => row.push(super::functions::convert(&constant, column.ty)),
                Err(Reported) => failed = true,
            }
            if row.len() == schema.len() {
                rows.push(std::mem::take(&mut row));
            }
        }
        if failed {
            return Err(Reported);
        }
        Ok(Node::new(Source::Rows(Arc::new(rows)), schema))
    }

    fn print(&mut self, assignments: &[ast::Assignment]) -> CResult<Node> {
        let mut schema = Vec::new();
        let mut exprs = Vec::new();
        let mut failed = false;
        for (index, assignment) in assignments.iter().enumerate() {
            let Ok(typed) = self.scalar(&assignment.expr, &[]) else {
                failed = true;
                continue;
            };
            let taken: Vec<String> = schema.iter().map(|c: &Column| c.name.clone()).collect();
            let name = match assignment.names.first() {
                Some(name) => name.text.clone(),
                None => names::unique(&format!("print_{index}"), &taken),
            };
            schema.push(Column::new(name, typed.ty));
            exprs.push(typed);
        }
        if failed {
            return Err(Reported);
        }
        Ok(Node::new(Source::Print(exprs), schema))
    }

    fn range(&mut self, column: &ast::Name, from: &Expr, to: &Expr, step: &Expr) -> CResult<Node> {
        self.operator = Some("range".to_string());
        let result = (|| {
            let from_typed = self.scalar(from, &[])?;
            let to_typed = self.scalar(to, &[])?;
            let step_typed = self.scalar(step, &[])?;
            let ty = match (from_typed.ty, to_typed.ty, step_typed.ty) {
                (Type::DateTime, Type::DateTime, Type::TimeSpan) => Type::DateTime,
                (Type::TimeSpan, Type::TimeSpan, Type::TimeSpan) => Type::TimeSpan,
                (a, b, c) if a.is_numeric() && b.is_numeric() && c.is_numeric() => {
                    if [a, b, c].iter().any(|t| matches!(t, Type::Real | Type::Decimal)) {
                        Type::Real
                    } else {
                        Type::Long
                    }
                }
                (a, b, c) => {
                    return Err(self.error(
                        from.span.to(step.span),
                        format!("range needs numbers, or datetimes with a timespan step; got {a}, {b} and {c}"),
                    ));
                }
            };
            Ok(Node::new(
                Source::Range { from: from_typed, to: to_typed, step: step_typed },
                vec![Column::new(column.text.clone(), ty)],
            ))
        })();
        self.operator = None;
        result
    }

    /// `union` as a source (`inputs` empty) or as an operator (`inputs` holds the piped-in node).
    fn union(&mut self, mut inputs: Vec<(Node, Str)>, union: &ast::Union) -> CResult<Node> {
        let failed = self.union_inputs(&union.tables, union.fuzzy, &mut inputs);
        if failed {
            return Err(Reported);
        }
        if inputs.is_empty() {
            let span = union.tables.first().map_or_else(Span::default, |t| match t {
                ast::UnionTable::Pattern(p) => p.span,
                ast::UnionTable::Expr(e) => e.span,
            });
            return Err(self.error(span, "none of the tables of the union exist"));
        }
        let (schema, mappings) = union_schema(&inputs, union.inner);
        let mut schema = schema;
        let source_names = union.with_source.as_ref().map(|name| {
            schema.insert(0, Column::new(name.text.clone(), Type::String));
            inputs.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()
        });
        let inputs = inputs.into_iter().zip(mappings).map(|((node, _), mapping)| (node, mapping)).collect();
        Ok(Node::new(Source::Union(Box::new(UnionPlan { inputs, source_names })), schema))
    }

    /// The tables of a `union` (or `find in`, `search in`) with their names, added to `inputs`; `true` when
    /// one failed (and was reported).
    pub(super) fn union_inputs(
        &mut self,
        tables: &[ast::UnionTable],
        fuzzy: bool,
        inputs: &mut Vec<(Node, Str)>,
    ) -> bool {
        let mut failed = false;
        for table in tables {
            match table {
                ast::UnionTable::Expr(expr) => match self.tabular(expr) {
                    Ok(node) => inputs.push((node, Self::leg_name(expr, inputs.len()))),
                    Err(Reported) => failed = true,
                },
                ast::UnionTable::Pattern(pattern) if pattern.is_wildcard() => {
                    let mut names: Vec<String> =
                        self.catalog.table_names().into_iter().filter(|t| pattern.matches(t)).collect();
                    names.sort();
                    if names.is_empty() {
                        self.error(pattern.span, format!("no table matches '{}'", pattern.text));
                        failed = true;
                    }
                    for name in names {
                        match self.named_table(&name, pattern.span) {
                            Ok(node) => inputs.push((node, Str::from(name.as_str()))),
                            Err(Reported) => failed = true,
                        }
                    }
                }
                ast::UnionTable::Pattern(pattern)
                    if fuzzy
                        && self.lookup(&pattern.text).is_none()
                        && matches!(self.catalog.table(&pattern.text), Ok(None)) =>
                {
                    // `isfuzzy=true` leaves out what does not resolve, as Kusto does (with a warning there).
                }
                ast::UnionTable::Pattern(pattern) => match self.named_table(&pattern.text, pattern.span) {
                    Ok(node) => inputs.push((node, Str::from(pattern.text.as_str()))),
                    Err(Reported) => failed = true,
                },
            }
        }
        failed
    }

    /// Inlines a call to a `let` function whose body is tabular. Arguments are checked without row context.
    fn inline_tabular(&mut self, function: &ast::Function, arguments: &[Expr], span: Span) -> CResult<Node> {
        self.with_function_scope(function, None, arguments, &[], span, |checker| {
            for statement in &function.statements {
                checker.let_statement(statement);
            }
            checker.tabular(&function.body)
        })
    }

    /// `T | invoke f(args)`: `f(T, args)`, with `T` — the table piped in — as the function's first parameter.
    pub(super) fn invoke_function(
        &mut self,
        function: &ast::Function,
        input: Node,
        arguments: &[Expr],
        span: Span,
    ) -> CResult<Node> {
        let piped = Binding::Tabular(shared(input));
        self.with_function_scope(function, Some(piped), arguments, &[], span, |checker| {
            for statement in &function.statements {
                checker.let_statement(statement);
            }
            checker.tabular(&function.body)
        })
    }

    /// Runs `body` in a scope where the function's parameters are bound to the checked arguments.
    /// `first`, when given, is the first parameter's binding (`invoke`), and `arguments` bind the others.
    fn with_function_scope<T>(
        &mut self,
        function: &ast::Function,
        first: Option<Binding>,
        arguments: &[Expr],
        row: &[Column],
        span: Span,
        body: impl FnOnce(&mut Self) -> CResult<T>,
    ) -> CResult<T> {
        if self.inline_depth >= MAX_INLINE_DEPTH {
            return Err(self.error(span, "functions call each other too deeply (is a function recursive?)"));
        }
        let skipped = usize::from(first.is_some());
        let mut scope = Scope { parameters: true, ..Scope::default() };
        if let (Some(first), Some(parameter)) = (first, function.parameters.first()) {
            if let Binding::Tabular(node) = &first {
                self.require_columns(parameter, node.node.schema(), span)?;
            }
            scope.bindings.insert(parameter.name.text.clone(), first);
        }
        let parameters = &function.parameters[skipped.min(function.parameters.len())..];
        let required = parameters.iter().filter(|p| p.default.is_none()).count();
        if arguments.len() < required || arguments.len() > parameters.len() {
            return Err(self.error(
                span,
                format!("the function expects {} to {} arguments, not {}", required, parameters.len(), arguments.len()),
            ));
        }
        for (index, parameter) in parameters.iter().enumerate() {
            let argument = arguments.get(index).or(parameter.default.as_ref());
            let Some(argument) = argument else { continue };
            let binding = if parameter.ty.is_none() || self.is_tabular(argument) {
                let node = self.tabular(argument)?;
                self.require_columns(parameter, node.schema(), argument.span)?;
                Binding::Tabular(shared(node))
            } else {
                let typed = self.scalar(argument, row)?;
                let ty = parameter.ty.unwrap_or(typed.ty);
                Binding::Scalar(if typed.ty == ty {
                    typed
                } else {
                    TExpr { kind: TExprKind::Convert(Box::new(typed)), ty }
                })
            };
            scope.bindings.insert(parameter.name.text.clone(), binding);
        }
        self.scopes.push(scope);
        self.inline_depth += 1;
        let result = body(self);
        self.inline_depth -= 1;
        self.scopes.pop();
        result
    }

    /// A table passed for a parameter that names its columns (`T:(Key:string, Value:long)`) must have each, of
    /// that type: Kusto refuses it otherwise ("The tabular value does not have the required columns").
    fn require_columns(&mut self, parameter: &ast::Parameter, schema: &[Column], span: Span) -> CResult<()> {
        let missing: Vec<String> = parameter
            .columns
            .iter()
            .filter(|(name, ty)| !schema.iter().any(|c| c.name == name.text && c.ty == *ty))
            .map(|(name, ty)| match schema.iter().find(|c| c.name == name.text) {
                Some(found) => format!("{}:{ty} (it is {})", name.text, found.ty),
                None => format!("{}:{ty}", name.text),
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(self.error(
            span,
            format!(
                "the table given for '{}' does not have the columns it requires: {}",
                parameter.name.text,
                missing.join(", ")
            ),
        ))
    }

    /// Evaluates an expression that must be constant (a `take` count, a `datatable` cell).
    pub(super) fn constant(&mut self, expr: &Expr, row: &[Column]) -> CResult<Value> {
        let typed = self.scalar(expr, row)?;
        if references_columns(&typed) {
            return Err(self.error(expr.span, "expected a constant value here, not one that depends on the row"));
        }
        Ok(eval::constant(&typed))
    }
}

/// Operators whose output columns are exactly the ones they name.
fn closes_schema(kind: &ast::OperatorKind) -> bool {
    use ast::OperatorKind as K;
    matches!(kind, K::Project(_) | K::Summarize { .. } | K::MakeSeries(_) | K::Count | K::Distinct(_) | K::GetSchema)
}

fn shared(node: Node) -> Arc<SharedNode> {
    // A node that is only a shared reference already is not wrapped twice.
    if node.operators.is_empty()
        && let Source::Shared(inner) = &node.source
    {
        return inner.clone();
    }
    SharedNode::new(node)
}

/// Whether an expression reads any column of the row.
pub(super) fn references_columns(expr: &TExpr) -> bool {
    let mut found = false;
    eval::visit(expr, &mut |e| {
        if matches!(e.kind, TExprKind::Column(_)) {
            found = true;
        }
    });
    found
}

/// The output schema of a union and, for each input, where each output column comes from. Columns are
/// matched by name; one name with different types becomes one column per type, named `x_long`, `x_string`.
fn union_schema(inputs: &[(Node, Str)], inner: bool) -> (Vec<Column>, Vec<Vec<Option<usize>>>) {
    let mut keys: Vec<(String, Type)> = Vec::new();
    for (node, _) in inputs {
        for column in node.schema() {
            if !keys.iter().any(|(n, t)| *n == column.name && *t == column.ty) {
                keys.push((column.name.clone(), column.ty));
            }
        }
    }
    if inner {
        keys.retain(|(name, ty)| {
            inputs.iter().all(|(node, _)| node.schema().iter().any(|c| c.name == *name && c.ty == *ty))
        });
    }
    // The columns one name splits into stand together where the name first appears (Kusto.Language:
    // `union (a, r:long), (r:string, b)` is `a, r_long, r_string, b`).
    let mut grouped: Vec<(String, Type)> = Vec::with_capacity(keys.len());
    for (name, _) in &keys {
        if !grouped.iter().any(|(n, _)| n == name) {
            grouped.extend(keys.iter().filter(|(n, _)| n == name).cloned());
        }
    }
    let keys = grouped;
    let conflicting = |name: &str| keys.iter().filter(|(n, _)| n == name).count() > 1;
    // A renamed column (`x` becoming `x_long`) must not take the name of a column that has it already.
    let reserved: Vec<String> = keys.iter().filter(|(n, _)| !conflicting(n)).map(|(n, _)| n.clone()).collect();
    let mut schema: Vec<Column> = Vec::new();
    for (name, ty) in &keys {
        let column_name = if conflicting(name) {
            let taken: Vec<String> = schema.iter().map(|c| c.name.clone()).chain(reserved.iter().cloned()).collect();
            names::unique(&format!("{name}_{}", ty.name()), &taken)
        } else {
            name.clone()
        };
        schema.push(Column::new(column_name, *ty));
    }
    let mappings = inputs
        .iter()
        .map(|(node, _)| {
            keys.iter().map(|(name, ty)| node.schema().iter().position(|c| c.name == *name && c.ty == *ty)).collect()
        })
        .collect();
    (schema, mappings)
}
