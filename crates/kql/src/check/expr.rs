//! Typing of scalar expressions: names resolve to columns (first) or `let`s, calls to built-in functions or
//! inlined `let` functions, operators to typed operations with Kusto's implicit conversions.

use std::sync::Arc;

use regex::Regex;

use super::super::aggregate;
use super::super::ast::{self, BinaryOperator, Expr, ExprKind};
use super::super::functions::{self, Args};
use super::super::plan::{Call, Column, InList, TExpr, TExprKind};
use super::super::span::Span;
use super::super::types::Type;
use super::super::value::{Str, Value};
use super::{Binding, CResult, Checker, Reported, shared};

pub(super) fn typed(kind: TExprKind, ty: Type) -> TExpr {
    TExpr { kind, ty }
}

fn literal(value: Value, ty: Type) -> TExpr {
    typed(TExprKind::Literal(value), ty)
}

/// Whether values of two types can be ordered with `<`, `<=`, `>` or `>=` (Kusto.Language's operator table:
/// numbers and bools with each other, a datetime or a timespan with its own kind, a dynamic with a number or
/// a dynamic; never strings or guids).
fn orderable(a: Type, b: Type) -> bool {
    let number = |t: Type| t.is_numeric();
    let numberish = |t: Type| number(t) || t == Type::Bool;
    (numberish(a) && numberish(b))
        || (a == b && matches!(a, Type::DateTime | Type::TimeSpan | Type::Dynamic))
        || (a == Type::Dynamic && number(b))
        || (b == Type::Dynamic && number(a))
}

/// Whether values of two types can be compared with `==`.
fn comparable(a: Type, b: Type) -> bool {
    a == b
        || a == Type::Dynamic
        || b == Type::Dynamic
        || (a.is_numeric() || a == Type::Bool) && (b.is_numeric() || b == Type::Bool)
        || a.is_stringlike() && b.is_stringlike()
}

impl Checker<'_> {
    /// Checks a scalar expression over a row of `row`'s columns.
    pub(super) fn scalar(&mut self, expr: &Expr, row: &[Column]) -> CResult<TExpr> {
        match &expr.kind {
            ExprKind::Literal { value, ty } => Ok(literal(value.clone(), *ty)),
            ExprKind::Name(name) => self.name(name, expr.span, row),
            ExprKind::Member { target, name } => {
                let target_typed = self.scalar(target, row)?;
                self.require_dynamic(&target_typed, target.span, ".")?;
                Ok(typed(TExprKind::Member(Box::new(target_typed), Str::from(name.text.as_str())), Type::Dynamic))
            }
            ExprKind::Index { target, index } => {
                let target_typed = self.scalar(target, row)?;
                self.require_dynamic(&target_typed, target.span, "[]")?;
                let index_typed = self.scalar(index, row)?;
                Ok(typed(TExprKind::Index(Box::new(target_typed), Box::new(index_typed)), Type::Dynamic))
            }
            ExprKind::Call { function, arguments } => self.call(function, arguments, expr.span, row),
            ExprKind::Binary { operator, left, right } => self.binary(*operator, left, right, expr.span, row),
            ExprKind::Negate(operand) => {
                let operand_typed = self.scalar(operand, row)?;
                if !(operand_typed.ty.is_numeric() || matches!(operand_typed.ty, Type::TimeSpan | Type::Dynamic)) {
                    return Err(self.error(
                        expr.span,
                        format!("The operator '-' is not defined for the operand type {}.", operand_typed.ty),
                    ));
                }
                let ty = if operand_typed.ty == Type::Int { Type::Long } else { operand_typed.ty };
                Ok(typed(TExprKind::Negate(Box::new(operand_typed)), ty))
            }
            ExprKind::In { target, list, negated, ignore_case } => {
                let target_typed = self.scalar(target, row)?;
                let mut items = Vec::new();
                let mut subqueries = Vec::new();
                for item in list {
                    if self.is_tabular(item) {
                        subqueries.push(shared(self.tabular(item)?));
                    } else {
                        let item_typed = self.scalar(item, row)?;
                        if !comparable(target_typed.ty, item_typed.ty) && item_typed.ty != Type::Dynamic {
                            return Err(self.cannot_compare(item.span, target_typed.ty, item_typed.ty));
                        }
                        items.push(item_typed);
                    }
                }
                let list = InList {
                    target: target_typed,
                    items,
                    subqueries,
                    negated: *negated,
                    ignore_case: *ignore_case,
                    cache: Default::default(),
                };
                Ok(typed(TExprKind::In(Box::new(list)), Type::Bool))
            }
            ExprKind::HasAny { target, list, all } => {
                let target_typed = self.scalar(target, row)?;
                let mut terms = Vec::new();
                let mut subqueries = Vec::new();
                for item in list {
                    if self.is_tabular(item) {
                        subqueries.push(shared(self.tabular(item)?));
                    } else {
                        terms.push(self.scalar(item, row)?);
                    }
                }
                Ok(typed(
                    TExprKind::HasAny { target: Box::new(target_typed), terms, subqueries, all: *all },
                    Type::Bool,
                ))
            }
            ExprKind::Between { target, low, high, negated } => {
                let target_typed = self.scalar(target, row)?;
                let low_typed = self.scalar(low, row)?;
                let high_typed = self.scalar(high, row)?;
                let high_ok = comparable(target_typed.ty, high_typed.ty)
                    || (target_typed.ty == Type::DateTime && high_typed.ty == Type::TimeSpan);
                if !comparable(target_typed.ty, low_typed.ty) {
                    return Err(self.cannot_compare(low.span, target_typed.ty, low_typed.ty));
                }
                if !high_ok {
                    return Err(self.cannot_compare(high.span, target_typed.ty, high_typed.ty));
                }
                Ok(typed(
                    TExprKind::Between {
                        target: Box::new(target_typed),
                        low: Box::new(low_typed),
                        high: Box::new(high_typed),
                        negated: *negated,
                    },
                    Type::Bool,
                ))
            }
            ExprKind::Tabular(_) => {
                Err(self.error(expr.span, "a tabular expression cannot be used as a scalar here (use toscalar())"))
            }
            ExprKind::Named { value, .. } => self.scalar(value, row),
            ExprKind::Star => {
                Err(self.error(expr.span, "'*' is only allowed as an argument of arg_max, arg_min or take_any"))
            }
        }
    }

    fn require_dynamic(&mut self, target: &TExpr, span: Span, operator: &str) -> CResult<()> {
        if target.ty == Type::Dynamic {
            Ok(())
        } else {
            Err(self.error_with_hint(
                span,
                format!("The operator '{operator}' requires a value of type dynamic, not {}", target.ty),
                Some("convert it with parse_json() or todynamic()".to_string()),
            ))
        }
    }

    pub(super) fn cannot_compare(&mut self, span: Span, a: Type, b: Type) -> Reported {
        self.error(span, format!("Cannot compare values of types {a} and {b}. Try adding explicit casts."))
    }

    fn name(&mut self, name: &str, span: Span, row: &[Column]) -> CResult<TExpr> {
        if let Some(Binding::Scalar(value)) = self.lookup_parameter(name) {
            return Ok(value.clone());
        }
        if let Some(index) = row.iter().position(|c| c.name == name) {
            return Ok(typed(TExprKind::Column(index), row[index].ty));
        }
        match self.lookup(name).cloned() {
            Some(Binding::Scalar(value)) => return Ok(value),
            Some(Binding::Tabular(_)) => {
                return Err(self.error_with_hint(
                    span,
                    format!("'{name}' is a table, not a scalar value"),
                    Some(format!("to use one value of it, write toscalar({name})")),
                ));
            }
            Some(Binding::Function(function)) if function.parameters.is_empty() => {
                return self.inline_scalar(&function, &[], span, row);
            }
            Some(Binding::Function(_)) => {
                return Err(self.error(span, format!("'{name}' is a function: call it with its arguments")));
            }
            Some(Binding::Failed { .. }) => return Err(Reported),
            None => {}
        }
        if self.open_input {
            // The data may have it (`bag_unpack` made columns nobody has seen yet).
            return Ok(typed(TExprKind::Literal(Value::Null), Type::Dynamic));
        }
        let columns: Vec<String> = row.iter().map(|c| c.name.clone()).collect();
        let hint = self.suggestion(name, &columns);
        let message = format!("Failed to resolve scalar expression named '{name}'");
        // The schema pages lag the service (`EmailEvents.ForwardingInformation` ran before its page listed
        // it): where every column of a documented table is still here, a name that is no likely typo of one of
        // them may be one the service has. Elsewhere (after `project`, `summarize`), it is wrong for certain.
        let documented = crate::schema::documented_within(row);
        if let Some(replacement) = documented.and_then(|table| crate::schema::retired_column(table, name)) {
            let hint = format!("{} no longer has it: use {replacement}", documented.unwrap_or_default());
            return Err(self.error_with_hint(span, message, Some(hint)));
        }
        // Sentinel's time column on a table of advanced hunting: Graph answers exactly this error.
        if name == "TimeGenerated" && documented.is_some() && columns.iter().any(|c| c == "Timestamp") {
            let hint = "did you mean 'Timestamp'?".to_string();
            return Err(self.error_with_hint(span, message, Some(hint)));
        }
        if crate::error::likely_typo(name, columns.iter().map(String::as_str)).is_none()
            && super::names::known_alias(name).is_none()
            && let Some(table) = documented
        {
            let lag = format!("{table}'s documented schema does not have it; the service may");
            let hint = Some(match hint {
                Some(hint) => format!("{hint} ({lag})"),
                None => lag,
            });
            return Err(self.unknown(span, message, hint));
        }
        Err(self.error_with_hint(span, message, hint))
    }

    fn inline_scalar(
        &mut self,
        function: &ast::Function,
        arguments: &[Expr],
        span: Span,
        row: &[Column],
    ) -> CResult<TExpr> {
        let inlined = self.with_function_scope(function, None, arguments, row, span, |checker| {
            for statement in &function.statements {
                checker.let_statement(statement);
            }
            checker.scalar(&function.body, row)
        })?;
        self.require_bounded(&inlined, span)?;
        Ok(inlined)
    }

    fn call(&mut self, function: &ast::Name, arguments: &[Expr], span: Span, row: &[Column]) -> CResult<TExpr> {
        let name = function.text.as_str();
        if let Some(Binding::Function(definition)) = self.lookup(name).cloned() {
            return self.inline_scalar(&definition, arguments, span, row);
        }
        match name {
            // Local files carry no ingestion time: the row's own time stands in for it.
            "ingestion_time" if arguments.is_empty() => {
                self.differences.push(super::super::error::KqlError::unsupported(
                    span,
                    "locally, ingestion_time() is the row's Timestamp (local files carry no ingestion time)",
                ));
                let time = row.iter().position(|c| c.name == "Timestamp" || c.name == "TimeGenerated");
                return Ok(match time {
                    Some(index) => typed(TExprKind::Column(index), row[index].ty),
                    None => typed(TExprKind::Literal(Value::Null), Type::DateTime),
                });
            }
            "geo_info_from_ip_address" => {
                self.differences.push(super::super::error::KqlError::unsupported(
                    span,
                    "locally, geo_info_from_ip_address() is an empty bag (the local engine has no geolocation data)",
                ));
            }
            // `pack_all([ignore_null_empty])`: the row's columns, as a bag.
            "pack_all" if arguments.len() <= 1 => {
                let skip_empty = match arguments.first() {
                    Some(flag) => self.constant(flag, row)?.is_true(),
                    None => false,
                };
                let mut pairs = Vec::with_capacity(row.len() * 2);
                for (index, column) in row.iter().enumerate() {
                    pairs.push(typed(TExprKind::Literal(Value::string(column.name.as_str())), Type::String));
                    pairs.push(typed(TExprKind::Column(index), column.ty));
                }
                let function = if skip_empty {
                    &functions::PACK_NON_EMPTY
                } else {
                    functions::lookup("bag_pack").unwrap_or(&functions::PACK_NON_EMPTY)
                };
                return Ok(typed(TExprKind::Call(Call { function, arguments: pairs, regex: None }), Type::Dynamic));
            }
            "iff" | "iif" => return self.iff(arguments, span, row),
            name if super::window::WINDOW_FUNCTIONS.contains(&name) => {
                return self.window_call(name, arguments, span, row);
            }
            "case" => return self.case(arguments, span, row),
            "toscalar" => return self.toscalar(arguments, span),
            "column_ifexists" => return self.column_ifexists(arguments, span, row),
            "typeof" => {
                return Err(self.error(
                    span,
                    "typeof() is only allowed where a type is expected, as in extract(..., typeof(long))",
                ));
            }
            _ => {}
        }
        if aggregate::lookup(name).is_some() {
            return Err(self.error(
                function.span,
                format!("'{name}' is an aggregation function: it can only be used in summarize"),
            ));
        }
        let Some(definition) = functions::lookup(name) else {
            if super::super::kusto::is_function(name) {
                return Err(self.unsupported(
                    function.span,
                    format!("the local engine does not implement Kusto's function '{name}'"),
                ));
            }
            let candidates: Vec<String> = functions::names().chain(aggregate::names()).map(String::from).collect();
            let message = format!("The name '{name}' does not refer to any known function.");
            // A likely typo of one of Kusto's functions is wrong for certain; another name may be a function
            // saved in the tenant (advanced hunting's custom functions).
            let kusto = super::super::kusto::FUNCTIONS.iter().chain(super::super::kusto::AGGREGATES).copied();
            let typo =
                crate::error::likely_typo(name, functions::names()).or_else(|| crate::error::likely_typo(name, kusto));
            if let Some(typo) = typo {
                let hint = format!("did you mean '{typo}'?");
                return Err(self.error_with_hint(function.span, message, Some(hint)));
            }
            let hint = self.suggestion(name, &candidates);
            return Err(self.unknown(function.span, message, hint));
        };
        if arguments.len() < definition.min_args || arguments.len() > definition.max_args {
            let expected = match (definition.min_args, definition.max_args) {
                (min, max) if min == max && min == 1 => "1 argument".to_string(),
                (min, max) if min == max => format!("{min} arguments"),
                (min, max) => format!("between {min} and {max} arguments"),
            };
            return Err(self.error(span, format!("The function '{name}' expects {expected}, not {}.", arguments.len())));
        }
        let mut typed_arguments = Vec::with_capacity(arguments.len());
        let mut failed = false;
        for argument in arguments {
            match self.argument(argument, row) {
                Ok(argument_typed) => typed_arguments.push(argument_typed),
                Err(Reported) => failed = true,
            }
        }
        if failed {
            return Err(Reported);
        }
        let types: Vec<Type> = typed_arguments.iter().map(|a| a.ty).collect();
        let literals: Vec<Option<Value>> = typed_arguments
            .iter()
            .map(|a| match &a.kind {
                TExprKind::Literal(value) => Some(value.clone()),
                _ => None,
            })
            .collect();
        let result_type = match (definition.check)(&Args { types: &types, literals: &literals }) {
            Ok(ty) => ty,
            Err(message) => match message.strip_prefix(crate::functions::NOT_LOCAL) {
                Some(message) => return Err(self.unsupported(span, format!("The function '{name}' {message}."))),
                None => return Err(self.error(span, format!("The function '{name}' {message}."))),
            },
        };
        let regex = match definition.regex_argument.and_then(|index| literals.get(index).cloned().flatten()) {
            Some(pattern) => {
                let text = pattern.to_text();
                let text = definition.regex_rewrite.map_or_else(|| text.to_string(), |rewrite| rewrite(&text));
                Some(self.compile_regex(&text, arguments[definition.regex_argument.unwrap_or(0)].span)?)
            }
            None => None,
        };
        Ok(typed(TExprKind::Call(Call { function: definition, arguments: typed_arguments, regex }), result_type))
    }

    /// An argument: `typeof(long)` becomes the type's name as a string literal.
    fn argument(&mut self, argument: &Expr, row: &[Column]) -> CResult<TExpr> {
        if let ExprKind::Call { function, arguments } = &argument.kind
            && function.text == "typeof"
        {
            let type_name = match arguments.as_slice() {
                [Expr { kind: ExprKind::Name(name), .. }] => Type::from_name(name),
                _ => None,
            };
            return match type_name {
                Some(ty) => Ok(literal(Value::string(ty.name()), Type::String)),
                None => Err(self.error(argument.span, "typeof() expects a type name, such as typeof(long)")),
            };
        }
        self.scalar(argument, row)
    }

    /// A Kusto (RE2) regular expression: what RE2 refuses is an error Kusto makes too; what only the `regex`
    /// crate cannot run is beyond the local engine.
    pub(super) fn compile_regex(&mut self, pattern: &str, span: Span) -> CResult<Arc<Regex>> {
        match crate::re2::compile(pattern) {
            Ok(regex) => Ok(Arc::new(regex)),
            Err(crate::re2::Re2Error::Invalid(reason)) => {
                Err(self.error(span, format!("invalid regular expression: {reason}")))
            }
            Err(crate::re2::Re2Error::Unsupported(reason)) => Err(self.unsupported(
                span,
                format!("the local engine cannot run this regular expression (Kusto can): {reason}"),
            )),
        }
    }

    fn iff(&mut self, arguments: &[Expr], span: Span, row: &[Column]) -> CResult<TExpr> {
        let [condition, then, otherwise] = arguments else {
            return Err(self.error(span, format!("The function 'iff' expects 3 arguments, not {}.", arguments.len())));
        };
        let condition_typed = self.scalar(condition, row)?;
        self.require_bool(&condition_typed, condition.span)?;
        let then_typed = self.scalar(then, row)?;
        let otherwise_typed = self.scalar(otherwise, row)?;
        let Some(ty) = common_non_dynamic(&[then_typed.ty, otherwise_typed.ty]) else {
            return Err(self.error(
                span,
                format!("iff(): the branches have different types, {} and {}", then_typed.ty, otherwise_typed.ty),
            ));
        };
        Ok(typed(
            TExprKind::Iff(
                Box::new(condition_typed),
                Box::new(self.coerce(then_typed, ty)),
                Box::new(self.coerce(otherwise_typed, ty)),
            ),
            ty,
        ))
    }

    fn case(&mut self, arguments: &[Expr], span: Span, row: &[Column]) -> CResult<TExpr> {
        if arguments.len() < 3 || arguments.len().is_multiple_of(2) {
            return Err(self.error(span, "case() expects pairs of condition and value, then the value for else"));
        }
        let mut branches = Vec::new();
        for pair in arguments[..arguments.len() - 1].chunks(2) {
            let condition = self.scalar(&pair[0], row)?;
            self.require_bool(&condition, pair[0].span)?;
            branches.push((condition, self.scalar(&pair[1], row)?));
        }
        let otherwise = self.scalar(&arguments[arguments.len() - 1], row)?;
        let types: Vec<Type> = branches.iter().map(|(_, v)| v.ty).chain([otherwise.ty]).collect();
        let Some(ty) = common_non_dynamic(&types) else {
            return Err(self.error(span, "case(): the values have different types"));
        };
        let branches = branches.into_iter().map(|(c, v)| (c, self.coerce(v, ty))).collect();
        Ok(typed(TExprKind::Case(branches, Box::new(self.coerce(otherwise, ty))), ty))
    }

    fn toscalar(&mut self, arguments: &[Expr], span: Span) -> CResult<TExpr> {
        let [argument] = arguments else {
            return Err(self.error(span, "toscalar() expects one tabular argument"));
        };
        if !self.is_tabular(argument) {
            return self.scalar(argument, &[]);
        }
        let node = self.tabular(argument)?;
        let Some(first) = node.schema().first() else {
            return Err(self.error(span, "toscalar(): the query has no columns"));
        };
        let ty = first.ty;
        Ok(typed(TExprKind::ToScalar(shared(node)), ty))
    }

    fn column_ifexists(&mut self, arguments: &[Expr], span: Span, row: &[Column]) -> CResult<TExpr> {
        let [name, default] = arguments else {
            return Err(self.error(span, "column_ifexists() expects a column name and a default value"));
        };
        // A literal, or a constant such as a `let` of one.
        let column = match &name.kind {
            ExprKind::Literal { value: Value::String(column), .. } => column.to_string(),
            _ => match self.scalar(name, &[]) {
                Ok(typed) if typed.ty.is_stringlike() && !super::references_columns(&typed) => {
                    super::super::eval::constant(&typed).to_text().to_string()
                }
                _ => {
                    return Err(self.error(name.span, "column_ifexists() expects the column name as a constant string"));
                }
            },
        };
        match row.iter().position(|c| c.name == column) {
            Some(index) => Ok(typed(TExprKind::Column(index), row[index].ty)),
            None => self.scalar(default, row),
        }
    }

    pub(super) fn require_bool(&mut self, expr: &TExpr, span: Span) -> CResult<()> {
        if matches!(expr.ty, Type::Bool | Type::Dynamic) {
            Ok(())
        } else {
            Err(self.error(span, format!("The expression must be of type bool, not {}.", expr.ty)))
        }
    }

    /// Wraps an expression in a conversion to `ty` when its own type differs.
    pub(super) fn coerce(&self, expr: TExpr, ty: Type) -> TExpr {
        if expr.ty == ty { expr } else { typed(TExprKind::Convert(Box::new(expr)), ty) }
    }

    /// `* has "x"` (`search` and `find` terms): the test holds in some column of the row (its text form).
    fn any_column(&mut self, operator: BinaryOperator, right: &Expr, span: Span, row: &[Column]) -> CResult<TExpr> {
        if matches!(operator, BinaryOperator::String(test) if test.negated) {
            return Err(self
                .unsupported(span, "a negated test of every column ('* !has') is not supported by the local engine"));
        }
        if self.open_input {
            return Err(self.unsupported(
                span,
                "a test of every column over columns only the data can tell is not supported by the local engine",
            ));
        }
        let mut tests = Vec::new();
        for column in row.iter().filter(|c| !c.name.starts_with('$')) {
            let name = Expr { kind: ExprKind::Name(column.name.clone()), span };
            let target = if column.ty.is_stringlike() {
                name
            } else {
                let function = ast::Name { text: "tostring".to_string(), span };
                Expr { kind: ExprKind::Call { function, arguments: vec![name] }, span }
            };
            let test = Expr {
                kind: ExprKind::Binary { operator, left: Box::new(target), right: Box::new(right.clone()) },
                span,
            };
            tests.push(self.scalar(&test, row)?);
        }
        // A balanced `or`: a table may have a few hundred columns.
        while tests.len() > 1 {
            let mut paired = Vec::with_capacity(tests.len().div_ceil(2));
            let mut items = tests.into_iter();
            while let Some(first) = items.next() {
                paired.push(match items.next() {
                    Some(second) => typed(TExprKind::Or(Box::new(first), Box::new(second)), Type::Bool),
                    None => first,
                });
            }
            tests = paired;
        }
        Ok(tests.pop().unwrap_or_else(|| typed(TExprKind::Literal(Value::Bool(false)), Type::Bool)))
    }

    fn binary(
        &mut self,
        operator: BinaryOperator,
        left: &Expr,
        right: &Expr,
        span: Span,
        row: &[Column],
    ) -> CResult<TExpr> {
        if matches!(left.kind, ExprKind::Star)
            && matches!(operator, BinaryOperator::String(_) | BinaryOperator::MatchesRegex)
        {
            return self.any_column(operator, right, span, row);
        }
        let left_result = self.scalar(left, row);
        let right_result = self.scalar(right, row);
        let (left_typed, right_typed) = (left_result?, right_result?);
        let (a, b) = (left_typed.ty, right_typed.ty);
        let (l, r) = (Box::new(left_typed), Box::new(right_typed));
        match operator {
            BinaryOperator::And | BinaryOperator::Or => {
                for (side, ty) in [(left.span, a), (right.span, b)] {
                    if !matches!(ty, Type::Bool | Type::Dynamic) {
                        return Err(self.error(
                            side,
                            format!("The operator '{}' expects bool operands, not {ty}.", operator.text()),
                        ));
                    }
                }
                let kind = if operator == BinaryOperator::And { TExprKind::And(l, r) } else { TExprKind::Or(l, r) };
                Ok(typed(kind, Type::Bool))
            }
            BinaryOperator::String(string_operator) => {
                Ok(typed(TExprKind::StringTest(string_operator, l, r), Type::Bool))
            }
            BinaryOperator::MatchesRegex => {
                match &r.kind {
                    TExprKind::Literal(pattern) => {
                        let regex = self.compile_regex(&pattern.to_text(), right.span)?;
                        Ok(typed(TExprKind::MatchesRegex(l, regex), Type::Bool))
                    }
                    // A pattern from the row: compiled when it is seen (and kept for the next rows).
                    _ => Ok(typed(
                        TExprKind::Call(Call {
                            function: &functions::MATCHES_REGEX,
                            arguments: vec![*l, *r],
                            regex: None,
                        }),
                        Type::Bool,
                    )),
                }
            }
            comparison @ (BinaryOperator::Equal
            | BinaryOperator::NotEqual
            | BinaryOperator::EqualIgnoreCase
            | BinaryOperator::NotEqualIgnoreCase
            | BinaryOperator::Less
            | BinaryOperator::LessEqual
            | BinaryOperator::Greater
            | BinaryOperator::GreaterEqual) => {
                let ordering = matches!(
                    comparison,
                    BinaryOperator::Less
                        | BinaryOperator::LessEqual
                        | BinaryOperator::Greater
                        | BinaryOperator::GreaterEqual
                );
                if !comparable(a, b) || (ordering && !orderable(a, b)) {
                    return Err(self.cannot_compare(span, a, b));
                }
                Ok(typed(TExprKind::Binary(comparison, l, r), Type::Bool))
            }
            arithmetic => match arithmetic_type(arithmetic, a, b) {
                Some(ty) => Ok(typed(TExprKind::Binary(arithmetic, l, r), ty)),
                None => Err(self.error(
                    span,
                    format!("The operator '{}' is not defined for the operand types {a} and {b}.", arithmetic.text()),
                )),
            },
        }
    }
}

/// The result type of arithmetic, or `None` when Kusto does not define it. Integers compute as `long`.
fn arithmetic_type(op: BinaryOperator, a: Type, b: Type) -> Option<Type> {
    use Type::*;
    let numeric = |t: Type| t.is_numeric() || t == Dynamic;
    let widened = |a: Type, b: Type| {
        if a == Dynamic || b == Dynamic {
            if matches!(a, Int | Long) || matches!(b, Int | Long) { Long } else { Real }
        } else {
            match a.widen(b) {
                Int => Long,
                other => other,
            }
        }
    };
    Some(match (op, a, b) {
        (BinaryOperator::Add, DateTime, TimeSpan) | (BinaryOperator::Add, TimeSpan, DateTime) => DateTime,
        (BinaryOperator::Subtract, DateTime, TimeSpan) => DateTime,
        (BinaryOperator::Subtract, DateTime, DateTime) => TimeSpan,
        (BinaryOperator::Add | BinaryOperator::Subtract, TimeSpan, TimeSpan) => TimeSpan,
        (BinaryOperator::Multiply, TimeSpan, t) | (BinaryOperator::Multiply, t, TimeSpan) if numeric(t) => TimeSpan,
        (BinaryOperator::Divide, TimeSpan, TimeSpan) => Real,
        (BinaryOperator::Divide | BinaryOperator::Modulo, TimeSpan, t) if numeric(t) => TimeSpan,
        (BinaryOperator::Modulo, TimeSpan, TimeSpan) => TimeSpan,
        (_, DateTime, Dynamic) | (_, Dynamic, DateTime)
            if matches!(op, BinaryOperator::Add | BinaryOperator::Subtract) =>
        {
            DateTime
        }
        (_, a, b) if numeric(a) && numeric(b) => widened(a, b),
        _ => return None,
    })
}

/// The type of `iff` and `case`, as Kusto types them: the common type of the branches that are not dynamic (a
/// dynamic branch converts to it: `iff(c, Parts[0], "x")` is a string), dynamic only when all are.
fn common_non_dynamic(types: &[Type]) -> Option<Type> {
    let typed: Vec<Type> = types.iter().copied().filter(|ty| *ty != Type::Dynamic).collect();
    if typed.is_empty() { Some(Type::Dynamic) } else { functions::common_type(&typed) }
}
