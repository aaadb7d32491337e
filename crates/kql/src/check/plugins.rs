//! `evaluate` plugins. The two Defender hunters use most, `bag_unpack` and `pivot`, make columns that only
//! the data can tell. When the query is checked to run (`compile_to_run`), their input runs at once, with the
//! run's options, and the plugin's rows become the node's source: the rest of the query is then checked
//! against the real columns. When it is only checked (`validate`), the node is open: its known columns are
//! typed, and names the data may add are accepted. Every other plugin is one Kusto has and this engine lacks.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::super::aggregate::AggregateState;
use super::super::ast::{self, Expr, ExprKind};
use super::super::eval::{EvalContext, eval};
use super::super::plan::{Column, Node, Plan, Row, Source, TExprKind};
use super::super::span::Span;
use super::super::types::Type;
use super::super::value::{Dyn, GroupKey, Value};
use super::{CResult, Checker, Reported};

/// A plugin's arguments by position, or by name (`columnsConflict='replace_source'`).
struct Arguments<'e> {
    positional: Vec<&'e Expr>,
    named: HashMap<String, &'e Expr>,
}

impl<'e> Arguments<'e> {
    fn of(arguments: &'e [Expr]) -> Self {
        let mut positional = Vec::new();
        let mut named = HashMap::new();
        for argument in arguments {
            match &argument.kind {
                ExprKind::Named { name, value } => {
                    named.insert(name.text.to_ascii_lowercase(), &**value);
                }
                _ => positional.push(argument),
            }
        }
        Arguments { positional, named }
    }

    fn get(&self, position: usize, name: &str) -> Option<&'e Expr> {
        self.named.get(&name.to_ascii_lowercase()).copied().or_else(|| self.positional.get(position).copied())
    }
}

/// The plugins the local engine runs (the others run in Graph only).
pub(crate) const PLUGINS: &[&str] = &["bag_unpack", "ipv4_lookup", "pivot"];

impl Checker<'_> {
    pub(super) fn evaluate(
        &mut self,
        node: Node,
        plugin: &ast::Name,
        arguments: &[Expr],
        schema: Option<&ast::OutputSchema>,
        span: Span,
    ) -> CResult<Node> {
        let input: Vec<String> = node.schema().iter().map(|c| c.name.clone()).collect();
        let output = match plugin.text.as_str() {
            "bag_unpack" => self.bag_unpack(node, &Arguments::of(arguments), span)?,
            "pivot" => self.pivot(node, arguments, span)?,
            "ipv4_lookup" => self.ipv4_lookup(node, arguments, span)?,
            name if super::super::kusto::is_plugin(name) => {
                return Err(self
                    .unsupported(plugin.span, format!("the local engine does not implement Kusto's plugin '{name}'")));
            }
            name => return Err(self.unknown(plugin.span, format!("'{name}' is not a plugin"), None)),
        };
        Ok(match schema {
            Some(schema) => conform(output, &input, schema),
            None => output,
        })
    }

    /// The rows of `node`, run now with the options the query is checked for; `None` when it is only checked.
    fn probe(&mut self, node: &Node, span: Span) -> CResult<Option<Vec<Row>>> {
        let Some(options) = self.probe else { return Ok(None) };
        let plan = Plan { root: node.clone(), span, differences: Vec::new() };
        match super::super::eval::execute(plan, options) {
            Ok(result) => Ok(Some(result.table.rows)),
            Err(error) => {
                self.errors.push(super::super::error::KqlError { span, ..error });
                Err(Reported)
            }
        }
    }

    /// A constant text argument.
    fn text_argument(&mut self, expr: Option<&Expr>, row: &[Column]) -> CResult<Option<String>> {
        match expr {
            Some(expr) => Ok(Some(self.constant(expr, row)?.to_text().to_string())),
            None => Ok(None),
        }
    }

    /// `bag_unpack(Column[, OutputColumnPrefix[, columnsConflict[, ignoredProperties]]])`: one column per
    /// property of the bags (sorted by name), in place of the bag column. A column's type is its values' when
    /// they all have one (docs: "the slot's type, if all values of the same slot have the same type, or
    /// dynamic, if the values differ in type").
    fn bag_unpack(&mut self, node: Node, arguments: &Arguments, span: Span) -> CResult<Node> {
        let input = node.schema().to_vec();
        let Some(column) = arguments.get(0, "column") else {
            return Err(self.error(span, "bag_unpack() expects the dynamic column to unpack"));
        };
        let typed = self.scalar(column, &input)?;
        let index = match typed.kind {
            TExprKind::Column(index) if typed.ty == Type::Dynamic => index,
            _ => return Err(self.error(column.span, "bag_unpack() expects a column of type dynamic")),
        };
        let prefix = self.text_argument(arguments.get(1, "OutputColumnPrefix"), &[])?.unwrap_or_default();
        let conflict = self.text_argument(arguments.get(2, "columnsConflict"), &[])?.unwrap_or("error".into());
        if !matches!(conflict.as_str(), "error" | "replace_source" | "keep_source") {
            return Err(self.error(span, "columnsConflict is 'error', 'replace_source' or 'keep_source'"));
        }
        let ignored: BTreeSet<String> = match arguments.get(3, "ignoredProperties") {
            Some(expr) => match self.constant(expr, &[])?.to_dyn() {
                Dyn::Array(items) => items.iter().map(|item| item.to_text().to_string()).collect(),
                _ => return Err(self.error(expr.span, "ignoredProperties is a dynamic array of names")),
            },
            None => BTreeSet::new(),
        };
        let kept: Vec<(usize, Column)> =
            input.iter().cloned().enumerate().filter(|(position, _)| *position != index).collect();
        let Some(rows) = self.probe(&node, span)? else {
            let mut open = Node::new(Source::Rows(Arc::new(Vec::new())), kept.into_iter().map(|(_, c)| c).collect());
            open.open = true;
            return Ok(open);
        };
        let mut keys = BTreeSet::new();
        for row in &rows {
            if let Some(Value::Dynamic(Dyn::Object(properties))) = row.get(index) {
                keys.extend(properties.iter().map(|(key, _)| key.to_string()).filter(|key| !ignored.contains(key)));
            }
        }
        let mut columns: Vec<Column> = Vec::new();
        let mut sources: Vec<Result<usize, String>> = Vec::new();
        for (position, column) in &kept {
            columns.push(column.clone());
            sources.push(Ok(*position));
        }
        for key in keys {
            let name = format!("{prefix}{key}");
            match columns.iter().position(|c| c.name == name) {
                Some(existing) => match conflict.as_str() {
                    "replace_source" => {
                        columns[existing].ty = Type::Dynamic;
                        sources[existing] = Err(key);
                    }
                    "keep_source" => {}
                    _ => {
                        return Err(self.error_with_hint(
                            span,
                            format!(
                                "bag_unpack: the property '{key}' would make a column '{name}', which the input has \
                                 already"
                            ),
                            Some(
                                "as in Kusto: bag_unpack(Column, columnsConflict='replace_source') or 'keep_source' \
                                 settles it, or a prefix: bag_unpack(Column, 'Prefix_')"
                                    .to_string(),
                            ),
                        ));
                    }
                },
                None => {
                    columns.push(Column::new(name, slot_type(&rows, index, &key)));
                    sources.push(Err(key));
                }
            }
        }
        let types: Vec<Type> = columns.iter().map(|c| c.ty).collect();
        let unpacked: Vec<Row> = rows
            .into_iter()
            .map(|row| {
                let bag = row.get(index).and_then(|value| value.as_dyn().cloned()).unwrap_or_default();
                sources
                    .iter()
                    .zip(&types)
                    .map(|(source, ty)| match source {
                        Ok(position) => row.get(*position).cloned().unwrap_or(Value::Null),
                        Err(key) => slot_value(bag.member(key), *ty),
                    })
                    .collect()
            })
            .collect();
        Ok(Node::new(Source::Rows(Arc::new(unpacked)), columns))
    }

    /// `ipv4_lookup(LookupTable, SourceIPv4Key, IPv4LookupKey[, ExtraKey…][, return_unmatched])`: each row with
    /// every row of the lookup table whose address or range (`10.0.0.0/8`) holds the row's (either may carry a
    /// prefix; the shorter one decides), and whose extra keys are equal; with `return_unmatched`, a row nothing
    /// holds too, with nulls. The columns are the input's, then the lookup table's but the extra keys, a
    /// clashing name taking the first free number (as `lookup` and Kusto.Language name them).
    fn ipv4_lookup(&mut self, node: Node, arguments: &[Expr], span: Span) -> CResult<Node> {
        let input = node.schema().to_vec();
        let mut positional: Vec<&Expr> = Vec::new();
        let mut unmatched_expr = None;
        for argument in arguments {
            match &argument.kind {
                ExprKind::Named { name, value } if name.text.eq_ignore_ascii_case("return_unmatched") => {
                    unmatched_expr = Some(&**value);
                }
                _ => positional.push(argument),
            }
        }
        if positional.len() >= 4
            && unmatched_expr.is_none()
            && matches!(positional.last().map(|e| &e.kind), Some(ExprKind::Literal { value: Value::Bool(_), .. }))
        {
            unmatched_expr = positional.pop();
        }
        let [table, source, key, extras @ ..] = &positional[..] else {
            return Err(self.error(
                span,
                "ipv4_lookup() expects the lookup table, the input's column of addresses and the lookup table's \
                 column of addresses or ranges",
            ));
        };
        let return_unmatched = match unmatched_expr {
            Some(expr) => match self.constant(expr, &[])? {
                Value::Bool(b) => b,
                _ => return Err(self.error(expr.span, "return_unmatched is true or false")),
            },
            None => false,
        };
        let lookup = self.tabular(table)?;
        let lookup_schema = lookup.schema().to_vec();
        let source_index = self.string_column(source, &input)?;
        let key_index = self.string_column(key, &lookup_schema)?;
        let mut extra_pairs = Vec::new();
        for extra in extras {
            let ExprKind::Name(name) = &extra.kind else {
                return Err(self.error(extra.span, "an extra key of ipv4_lookup() is a column name both tables have"));
            };
            match (input.iter().position(|c| c.name == *name), lookup_schema.iter().position(|c| c.name == *name)) {
                (Some(left), Some(right)) => extra_pairs.push((left, right)),
                _ => {
                    return Err(self.error(
                        extra.span,
                        format!("'{name}' is not a column of both the input and the lookup table"),
                    ));
                }
            }
        }
        let mut columns = input.clone();
        let mut right_slots = Vec::new();
        for (position, column) in lookup_schema.iter().enumerate() {
            if extra_pairs.iter().any(|(_, right)| *right == position) {
                continue;
            }
            let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            let name = if taken.contains(&column.name) {
                super::names::unique(&format!("{}1", column.name), &taken)
            } else {
                column.name.clone()
            };
            columns.push(Column::new(name, column.ty));
            right_slots.push(position);
        }
        let (Some(rows), Some(lookup_rows)) = (self.probe(&node, span)?, self.probe(&lookup, span)?) else {
            return Ok(Node::new(Source::Rows(Arc::new(Vec::new())), columns));
        };
        let ranges: Vec<Option<(u32, u32)>> = lookup_rows
            .iter()
            .map(|row| row.get(key_index).and_then(|v| crate::functions::ipv4_range(&v.to_text())))
            .collect();
        let mut out = Vec::new();
        for row in &rows {
            let address = row.get(source_index).and_then(|v| crate::functions::ipv4_range(&v.to_text()));
            let mut matched = false;
            for (lookup_row, range) in lookup_rows.iter().zip(&ranges) {
                let (Some((a, a_prefix)), Some((b, b_prefix))) = (address, *range) else { continue };
                let prefix = a_prefix.min(b_prefix);
                let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
                let extras_equal = extra_pairs.iter().all(|(left, right)| {
                    matches!((row.get(*left), lookup_row.get(*right)), (Some(l), Some(r)) if !l.is_null() && l == r)
                });
                if a & mask == b & mask && extras_equal {
                    matched = true;
                    let mut joined = row.clone();
                    joined.extend(right_slots.iter().map(|slot| lookup_row.get(*slot).cloned().unwrap_or(Value::Null)));
                    out.push(joined);
                }
            }
            if !matched && return_unmatched {
                let mut joined = row.clone();
                joined.extend(right_slots.iter().map(|slot| Value::null_of(lookup_schema[*slot].ty)));
                out.push(joined);
            }
        }
        Ok(Node::new(Source::Rows(Arc::new(out)), columns))
    }

    /// The position of the string column an argument names.
    fn string_column(&mut self, expr: &Expr, row: &[Column]) -> CResult<usize> {
        let typed = self.scalar(expr, row)?;
        match typed.kind {
            TExprKind::Column(index) if typed.ty == Type::String => Ok(index),
            _ => Err(self.error(expr.span, "ipv4_lookup() expects a column of type string here")),
        }
    }

    /// `pivot(PivotColumn[, aggregation(column)[, Column1, ...]])`: a row per value of the given columns, and a
    /// column per value of the pivot column (sorted), holding the aggregation (`count()` by default) of the
    /// rows with both.
    fn pivot(&mut self, node: Node, arguments: &[Expr], span: Span) -> CResult<Node> {
        let input = node.schema().to_vec();
        let Some(pivot_expr) = arguments.first() else {
            return Err(self.error(span, "pivot() expects the column whose values become columns"));
        };
        let pivot = self.scalar(pivot_expr, &input)?;
        let is_aggregate = |expr: &Expr| matches!(&expr.kind, ExprKind::Call { function, .. } if super::super::aggregate::lookup(&function.text).is_some());
        let (aggregation, key_exprs) = match arguments.get(1) {
            Some(expr) if is_aggregate(expr) => (expr.clone(), &arguments[2..]),
            _ => (
                Expr {
                    kind: ExprKind::Call {
                        function: ast::Name { text: "count".into(), span: pivot_expr.span },
                        arguments: Vec::new(),
                    },
                    span: pivot_expr.span,
                },
                &arguments[1.min(arguments.len())..],
            ),
        };
        // Without columns named, every column but the pivot column and the aggregated one groups the rows
        // (pivot plugin, docs: "The default value is all columns other than the pivot column and the
        // aggregation column").
        let defaults: Vec<Expr> = if key_exprs.is_empty() {
            let mut skipped: Vec<String> = super::names::inferred_name(pivot_expr).into_iter().collect();
            if let ExprKind::Call { arguments: aggregated, .. } = &aggregation.kind {
                skipped.extend(aggregated.first().and_then(super::names::inferred_name));
            }
            input
                .iter()
                .filter(|column| !skipped.contains(&column.name))
                .map(|column| Expr { kind: ExprKind::Name(column.name.clone()), span: pivot_expr.span })
                .collect()
        } else {
            Vec::new()
        };
        let key_exprs = if key_exprs.is_empty() { &defaults[..] } else { key_exprs };
        let mut keys = Vec::new();
        let mut schema = Vec::new();
        for expr in key_exprs {
            let typed = self.scalar(expr, &input)?;
            let name = super::names::inferred_name(expr).unwrap_or_else(|| format!("Column{}", schema.len() + 1));
            schema.push(Column::new(name, typed.ty));
            keys.push(typed);
        }
        let key_names: Vec<String> = schema.iter().map(|c| c.name.clone()).collect();
        let mut scratch = schema.clone();
        let spec = self.aggregate(
            &ast::Assignment { names: Vec::new(), expr: aggregation },
            &input,
            &key_names,
            &mut scratch,
        )?;
        let value_type = spec.output_types.first().copied().unwrap_or(Type::Dynamic);
        let Some(rows) = self.probe(&node, span)? else {
            let mut open = Node::new(Source::Rows(Arc::new(Vec::new())), schema);
            open.open = true;
            return Ok(open);
        };
        let context = EvalContext { now: self.probe.map_or(0, |options| options.now) };
        let evaluate = |expr: &super::super::plan::TExpr, row: &Row| eval(expr, row, &context);
        let mut values = BTreeSet::new();
        let mut groups: Vec<(Vec<Value>, HashMap<String, AggregateState>)> = Vec::new();
        let mut group_of: HashMap<Vec<GroupKey>, usize> = HashMap::new();
        for row in &rows {
            let value = evaluate(&pivot, row);
            if value.is_null() {
                continue;
            }
            let label = value.to_text().to_string();
            values.insert(label.clone());
            let key: Vec<Value> = keys.iter().map(|k| evaluate(k, row)).collect();
            let group_key: Vec<GroupKey> = key.iter().map(Value::group_key).collect();
            let group = *group_of.entry(group_key).or_insert_with(|| {
                groups.push((key, HashMap::new()));
                groups.len() - 1
            });
            let state = groups[group].1.entry(label).or_insert_with(|| spec.start());
            spec.update(state, row, &evaluate);
        }
        for value in &values {
            let name = super::names::unique(value, &schema.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
            schema.push(Column::new(name, value_type));
        }
        let empty = spec.finish(spec.start()).into_iter().next().unwrap_or(Value::Null);
        let pivoted: Vec<Row> = groups
            .into_iter()
            .map(|(mut key, mut states)| {
                for value in &values {
                    key.push(match states.remove(value) {
                        Some(state) => spec.finish(state).into_iter().next().unwrap_or(Value::Null),
                        None => empty.clone(),
                    });
                }
                key
            })
            .collect();
        Ok(Node::new(Source::Rows(Arc::new(pivoted)), schema))
    }
}

/// A plugin's output made to match its declared schema (`: (*, x: string)`): with `*`, the columns it kept from
/// its input; then each declared column, its values converted to the declared type (null where the data has
/// none). The schema is then known: the node is no longer open.
fn conform(node: Node, input: &[String], declared: &ast::OutputSchema) -> Node {
    let produced = node.schema().to_vec();
    let rows: Arc<Vec<Row>> = match &node.source {
        Source::Rows(rows) if node.operators.is_empty() => rows.clone(),
        _ => Arc::new(Vec::new()),
    };
    let mut columns = Vec::new();
    let mut sources: Vec<(Option<usize>, Option<Type>)> = Vec::new();
    if declared.star {
        for (index, column) in produced.iter().enumerate() {
            if input.contains(&column.name) && !declared.columns.iter().any(|(name, _)| name.text == column.name) {
                columns.push(column.clone());
                sources.push((Some(index), None));
            }
        }
    }
    for (name, ty) in &declared.columns {
        columns.push(Column::new(name.text.clone(), *ty));
        sources.push((produced.iter().position(|c| c.name == name.text), Some(*ty)));
    }
    let conformed: Vec<Row> = rows
        .iter()
        .map(|row| {
            sources
                .iter()
                .map(|(index, ty)| match (index.and_then(|i| row.get(i)), ty) {
                    (Some(value), None) => value.clone(),
                    (Some(value), Some(ty)) => super::super::functions::convert(value, *ty),
                    (None, Some(ty)) => Value::null_of(*ty),
                    (None, None) => Value::Null,
                })
                .collect()
        })
        .collect();
    Node::new(Source::Rows(Arc::new(conformed)), columns)
}

/// The type of a column `bag_unpack` makes for the property `key`: the one type its non-null values share, or
/// `dynamic` when they differ (or are all null, or are arrays and bags).
fn slot_type(rows: &[Row], index: usize, key: &str) -> Type {
    let mut shared: Option<Type> = None;
    for row in rows {
        let Some(Value::Dynamic(bag)) = row.get(index) else { continue };
        let ty = match bag.member(key) {
            Dyn::Null => continue,
            Dyn::Bool(_) => Type::Bool,
            Dyn::Long(_) => Type::Long,
            Dyn::Real(_) => Type::Real,
            Dyn::String(_) => Type::String,
            Dyn::DateTime(_) => Type::DateTime,
            Dyn::TimeSpan(_) => Type::TimeSpan,
            Dyn::Array(_) | Dyn::Object(_) => return Type::Dynamic,
        };
        match shared {
            None => shared = Some(ty),
            Some(seen) if seen == ty => {}
            Some(_) => return Type::Dynamic,
        }
    }
    shared.unwrap_or(Type::Dynamic)
}

/// A property's value in a column of the slot's type.
fn slot_value(value: Dyn, ty: Type) -> Value {
    match (ty, value) {
        (Type::Dynamic, value) => Value::Dynamic(value),
        (ty, Dyn::Null) => Value::null_of(ty),
        (_, value) => value.to_scalar(),
    }
}
