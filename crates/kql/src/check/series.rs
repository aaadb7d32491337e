//! `make-series`: a `summarize` by the `by` expressions and the binned axis (`bin_at(axis, step, from)`, or
//! `bin(axis, step)` without `from` and in the `in range(...)` syntax), after a `where` that keeps the axis
//! within its bounds, then an `Operator::Series` that turns each group's rows into arrays.

use super::super::aggregate::{AggregateKind, AggregateSpec};
use super::super::ast::{BinaryOperator, Expr, ExprKind, MakeSeries, Name};
use super::super::functions;
use super::super::plan::{Column, Node, Operator, SeriesPlan};
use super::super::span::Span;
use super::super::types::Type;
use super::super::value::Value;
use super::names::{inferred_name, unique};
use super::{CResult, Checker, Reported, references_columns};

fn call(name: &str, arguments: Vec<Expr>, span: Span) -> Expr {
    Expr { kind: ExprKind::Call { function: Name { text: name.to_string(), span }, arguments }, span }
}

fn binary(operator: BinaryOperator, left: &Expr, right: &Expr, span: Span) -> Expr {
    Expr { kind: ExprKind::Binary { operator, left: Box::new(left.clone()), right: Box::new(right.clone()) }, span }
}

impl Checker<'_> {
    pub(super) fn make_series(&mut self, node: &mut Node, series: &MakeSeries, span: Span) -> CResult<()> {
        let input = node.schema().to_vec();
        let axis = self.scalar(&series.axis, &input)?;
        let axis_type = match axis.ty {
            Type::DateTime | Type::TimeSpan => axis.ty,
            t if t.is_numeric() => t,
            Type::Dynamic => {
                return Err(self.unsupported(
                    series.axis.span,
                    "make-series over a dynamic axis is not supported by the local engine: convert it first \
                     (todatetime, tolong, toreal)",
                ));
            }
            other => {
                return Err(self.error(
                    series.axis.span,
                    format!("make-series: the axis is a datetime, a timespan or a number, not {other}"),
                ));
            }
        };
        let mut bounds = Vec::new();
        for bound in [&series.from, &series.to, &Some(series.step.clone())].into_iter().flatten() {
            let typed = self.scalar(bound, &input)?;
            if references_columns(&typed) {
                return Err(self.unsupported(
                    bound.span,
                    "make-series with a bound or step that depends on the row is not supported by the local engine",
                ));
            }
            bounds.push(typed);
        }
        let step_type = bounds.last().map(|s| s.ty).unwrap_or(Type::Dynamic);
        let step_fits = match axis_type {
            Type::DateTime | Type::TimeSpan => matches!(step_type, Type::TimeSpan | Type::Dynamic),
            _ => step_type.is_numeric() || step_type == Type::Dynamic,
        };
        if !step_fits && matches!(axis_type, Type::DateTime | Type::TimeSpan) && step_type.is_numeric() {
            return Err(self.unsupported(
                series.step.span,
                format!(
                    "make-series: a step of {step_type} over a {axis_type} axis is not supported by the local engine"
                ),
            ));
        }
        if !step_fits {
            return Err(self.error(
                series.step.span,
                format!(
                    "make-series: a step over a {axis_type} axis is a {}, not {step_type}",
                    match axis_type {
                        Type::DateTime | Type::TimeSpan => "timespan",
                        _ => "number",
                    }
                ),
            ));
        }
        for (bound, typed) in [&series.from, &series.to].into_iter().flatten().zip(&bounds) {
            let fits = match axis_type {
                Type::DateTime | Type::TimeSpan => typed.ty == axis_type || typed.ty == Type::Dynamic,
                _ => typed.ty.is_numeric() || typed.ty == Type::Dynamic,
            };
            if !fits {
                return Err(self.error(
                    bound.span,
                    format!("make-series: a bound of a {axis_type} axis is a {axis_type}, not {}", typed.ty),
                ));
            }
        }

        // The rows within the bounds (`from` inclusive; `to` exclusive, or inclusive in `in range`).
        let mut within: Option<Expr> = None;
        if let Some(from) = &series.from {
            within = Some(binary(BinaryOperator::GreaterEqual, &series.axis, from, span));
        }
        if let Some(to) = &series.to {
            let operator = if series.in_range { BinaryOperator::LessEqual } else { BinaryOperator::Less };
            let before = binary(operator, &series.axis, to, span);
            within = Some(match within {
                Some(after) => binary(BinaryOperator::And, &after, &before, span),
                None => before,
            });
        }
        let filter = within.map(|e| self.scalar(&e, &input)).transpose()?;

        // `summarize` by the `by` expressions and the bin.
        let (mut keys, mut schema) = self.project(&series.by, &input)?;
        let bin = match (&series.from, series.in_range) {
            (Some(from), false) => call("bin_at", vec![series.axis.clone(), series.step.clone(), from.clone()], span),
            _ => call("bin", vec![series.axis.clone(), series.step.clone()], span),
        };
        let bin = self.scalar(&bin, &input)?;
        let bin_type = bin.ty;
        keys.push(bin);
        let key_names: Vec<String> = schema.iter().map(|c| c.name.clone()).collect();
        let by_count = schema.len();
        schema.push(Column::new("\u{0}bin", bin_type));
        let mut specs: Vec<AggregateSpec> = Vec::new();
        let mut defaults = Vec::new();
        let mut failed = false;
        for (assignment, default) in &series.aggregates {
            let before = schema.len();
            let spec = match self.aggregate(assignment, &input, &key_names, &mut schema) {
                Ok(spec) => spec,
                Err(Reported) => {
                    failed = true;
                    continue;
                }
            };
            let ty = schema[before].ty;
            let collects = matches!(
                spec.kind,
                AggregateKind::MakeSet
                    | AggregateKind::MakeSetIf
                    | AggregateKind::MakeList
                    | AggregateKind::MakeListIf
                    | AggregateKind::MakeBag
                    | AggregateKind::MakeBagIf
            );
            if schema.len() != before + 1 || collects || !(ty.is_numeric() || ty == Type::Dynamic) {
                return Err(self.unsupported(
                    assignment.expr.span,
                    "make-series of an aggregation with more than one column or a result that is not a number is \
                     not supported by the local engine",
                ));
            }
            let value = match default {
                None => Value::Long(0),
                Some(default) => self.constant(default, &input)?,
            };
            let converted = functions::convert(&value, ty);
            if converted.is_null() && !value.is_null() {
                let span = default.as_ref().map_or(assignment.expr.span, |d| d.span);
                return Err(self.unsupported(
                    span,
                    format!("a make-series default that does not convert to {ty} is not supported by the local engine"),
                ));
            }
            defaults.push(converted);
            specs.push(spec);
        }
        if failed {
            return Err(Reported);
        }
        if let Some(filter) = filter {
            node.push(Operator::Where(filter), input.clone());
        }
        let aggregate_columns: Vec<Column> = schema[by_count + 1..].to_vec();
        node.push(Operator::Summarize { keys, aggregates: specs }, schema.clone());

        // The series: the `by` columns, an array per aggregate, the axis.
        let mut output: Vec<Column> = schema[..by_count].to_vec();
        output.extend(aggregate_columns.into_iter().map(|c| Column::new(c.name, Type::Dynamic)));
        let taken: Vec<String> = output.iter().map(|c| c.name.clone()).collect();
        let axis_name = inferred_name(&series.axis).unwrap_or_else(|| "Column1".to_string());
        output.push(Column::new(unique(&axis_name, &taken), Type::Dynamic));
        let mut bounds = bounds.into_iter();
        let start = series.from.as_ref().and_then(|_| bounds.next());
        let end = series.to.as_ref().and_then(|_| bounds.next());
        let step = bounds.next().ok_or(Reported)?;
        let plan = SeriesPlan {
            keys: by_count,
            defaults,
            axis: bin_type,
            start,
            end,
            inclusive: series.in_range,
            step,
            nonempty: series.nonempty,
        };
        node.push(Operator::Series(plan), output);
        Ok(())
    }
}
