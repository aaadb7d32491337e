//! Window functions: `prev`, `next`, `row_number` and `row_cumsum` read a row's neighbours, so they cannot be
//! computed row by row. Each call becomes a column of its own, which an `Operator::Window` computes over all
//! the rows just before the operator that reads it (`where`, `extend`, `project`, `serialize`), and which is
//! dropped after it; one call may read another (computed first). While the operator is checked, a call stands for that column with an index past any real
//! one (`PLACEHOLDER + n`); `place` then gives the calls their real columns.

use super::super::ast::Expr;
use super::super::plan::{Column, Node, Operator, TExpr, TExprKind, WindowKind, WindowSpec};
use super::super::span::Span;
use super::super::types::Type;
use super::expr::typed;
use super::{CResult, Checker};

/// The first index a window call stands for while its operator is checked.
const PLACEHOLDER: usize = usize::MAX / 2;

pub const WINDOW_FUNCTIONS: [&str; 4] = ["prev", "next", "row_number", "row_cumsum"];

/// The window calls of the operator being checked.
pub(super) struct Windows {
    /// The width of the operator's input: the calls' columns go after it.
    base: usize,
    serialized: bool,
    specs: Vec<WindowSpec>,
}

impl Windows {
    /// For an operator over `input`; `serializes`: the operator is `serialize`, which orders its own rows.
    pub(super) fn new(input: &Node, serializes: bool) -> Windows {
        Windows { base: input.schema().len(), serialized: input.serialized || serializes, specs: Vec::new() }
    }
}

impl Checker<'_> {
    /// `prev(column[, offset[, default]])`, `next(...)`, `row_number([start[, restart]])`,
    /// `row_cumsum(term[, restart])`.
    pub(super) fn window_call(&mut self, name: &str, arguments: &[Expr], span: Span, row: &[Column]) -> CResult<TExpr> {
        let Some(windows) = &self.windows else {
            return Err(self.unsupported(
                span,
                format!("{name}() is supported by the local engine in where, extend, project and serialize only"),
            ));
        };
        if !windows.serialized {
            return Err(self.error_with_hint(
                span,
                format!(
                    "Function '{name}' cannot be invoked in current context. Details: the row set must be serialized"
                ),
                Some("serialize the rows first: `| serialize`, or `| sort by ...`".to_string()),
            ));
        }
        let base = windows.base;
        let arity = |min: usize, max: usize| (min..=max).contains(&arguments.len());
        let spec = match name {
            "prev" | "next" => {
                if !arity(1, 3) {
                    return Err(self.error(span, format!("{name}() expects a column, an offset and a default")));
                }
                let value = self.scalar(&arguments[0], row)?;
                let offset = match arguments.get(1) {
                    Some(offset) => match self.constant(offset, row)?.as_i64() {
                        Some(n) if n >= 0 => n as usize,
                        _ => {
                            return Err(
                                self.error(offset.span, "the offset must be a constant whole number, 0 or more")
                            );
                        }
                    },
                    None => 1,
                };
                let default = match arguments.get(2) {
                    Some(default) => {
                        let typed_default = self.scalar(default, row)?;
                        // Kusto takes any constant and types the result as the column: how it converts
                        // another type (`next(Timestamp, 1, 0)`) is not known here.
                        if super::super::functions::common_type(&[value.ty, typed_default.ty]).is_none() {
                            return Err(self.unsupported(
                                default.span,
                                format!(
                                    "a default of type {} for a column of type {} is not supported locally",
                                    typed_default.ty, value.ty
                                ),
                            ));
                        }
                        Some(self.coerce(typed_default, value.ty))
                    }
                    None => None,
                };
                let kind = if name == "prev" { WindowKind::Prev(offset) } else { WindowKind::Next(offset) };
                WindowSpec { kind, ty: value.ty, value: Some(value), default, restart: None }
            }
            "row_number" => {
                if !arity(0, 2) {
                    return Err(self.error(span, "row_number() expects a starting number and a restart condition"));
                }
                let start = match arguments.first() {
                    Some(start) => match self.constant(start, row)?.as_i64() {
                        Some(n) => n,
                        None => return Err(self.error(start.span, "the start must be a constant whole number")),
                    },
                    None => 1,
                };
                let restart = self.restart(arguments.get(1), row)?;
                WindowSpec { kind: WindowKind::RowNumber(start), ty: Type::Long, value: None, default: None, restart }
            }
            _ => {
                if !arity(1, 2) {
                    return Err(self.error(span, "row_cumsum() expects a term and a restart condition"));
                }
                let term = self.scalar(&arguments[0], row)?;
                let ty = match term.ty {
                    Type::Int | Type::Long | Type::Real | Type::Decimal | Type::TimeSpan => term.ty,
                    other => {
                        return Err(self.error(arguments[0].span, format!("row_cumsum() sums numbers, not {other}")));
                    }
                };
                let restart = self.restart(arguments.get(1), row)?;
                WindowSpec {
                    kind: WindowKind::RowCumsum,
                    ty,
                    value: Some(self.coerce(term, ty)),
                    default: None,
                    restart,
                }
            }
        };
        // A window call may read another (`row_number(1, prev(Airport) != Airport)`: computed first), but not a
        // column the same operator makes, which does not exist yet when the windows are computed.
        let reads_new_columns = [&spec.value, &spec.default, &spec.restart]
            .into_iter()
            .flatten()
            .any(|expr| reads_column_between(expr, base, PLACEHOLDER));
        if reads_new_columns {
            return Err(self.unsupported(
                span,
                format!("{name}() over a column made in the same operator is not supported locally: make it in an extend before"),
            ));
        }
        let ty = spec.ty;
        let Some(windows) = &mut self.windows else { return Err(self.unsupported(span, "internal: no window")) };
        windows.specs.push(spec);
        Ok(typed(TExprKind::Column(PLACEHOLDER + windows.specs.len() - 1), ty))
    }

    fn restart(&mut self, restart: Option<&Expr>, row: &[Column]) -> CResult<Option<TExpr>> {
        let Some(restart) = restart else { return Ok(None) };
        let typed_restart = self.scalar(restart, row)?;
        self.require_bool(&typed_restart, restart.span)?;
        Ok(Some(typed_restart))
    }
}

/// Whether an expression reads a column from `start` up to (not including) `end`.
fn reads_column_between(expr: &TExpr, start: usize, end: usize) -> bool {
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        if matches!(expr.kind, TExprKind::Column(i) if (start..end).contains(&i)) {
            return true;
        }
        pending.extend(expr.children());
    }
    false
}

/// Puts the window calls of the operator just pushed on `node` in place: an `Operator::Window` before it
/// computes them into columns after the input's, the operator reads those, and a projection drops them after.
pub(super) fn place(node: &mut Node, windows: Windows) {
    let Windows { base, mut specs, .. } = windows;
    if specs.is_empty() {
        return;
    }
    let (Some(mut operator), Some(after)) = (node.operators.pop(), node.schemas.pop()) else { return };
    let count = specs.len();
    let input: Vec<Column> = node.schema().to_vec();
    let mut widened = input.clone();
    widened.extend(specs.iter().enumerate().map(|(n, spec)| Column::new(format!("\u{0}window{n}"), spec.ty)));
    // The calls' placeholders become their columns; the columns an `extend` makes move past them.
    let renumber = |index: usize| match index {
        i if i >= PLACEHOLDER => base + (i - PLACEHOLDER),
        i if i >= base => i + count,
        i => i,
    };
    for spec in &mut specs {
        for expr in [&mut spec.value, &mut spec.default, &mut spec.restart].into_iter().flatten() {
            expr.map_columns(&renumber);
        }
    }
    node.push(Operator::Window(specs), widened.clone());
    match &mut operator {
        Operator::Where(predicate) => {
            predicate.map_columns(&renumber);
            node.push(operator, widened);
        }
        Operator::Extend(assigned) | Operator::Serialize(assigned) => {
            for (slot, expr) in assigned.iter_mut() {
                expr.map_columns(&renumber);
                *slot = renumber(*slot);
            }
            let mut made = widened;
            made.extend(after.iter().skip(base).cloned());
            node.push(operator, made);
        }
        Operator::Project(exprs) => {
            exprs.iter_mut().for_each(|expr| expr.map_columns(&renumber));
            node.push(operator, after.to_vec());
            return;
        }
        _ => {
            node.push(operator, after.to_vec());
            return;
        }
    }
    // Drop the window columns: keep what comes before and after them.
    let kept: Vec<TExpr> = (0..base)
        .chain(base + count..base + count + after.len() - base)
        .map(|index| {
            let ty = node.schema().get(index).map_or(Type::Dynamic, |c| c.ty);
            typed(TExprKind::Column(index), ty)
        })
        .collect();
    node.push(Operator::Project(kept), after.to_vec());
}
