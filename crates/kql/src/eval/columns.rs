//! Which columns of a scanned table a query reads (the rest are never decoded), and the literal
//! prefilter that lets a scan skip lines that cannot match without decoding them.

use aho_corasick::{AhoCorasick, MatchKind};

use super::super::ast::BinaryOperator as BinaryOp;
use super::super::plan::{JoinKind, Node, Operator, TExpr, TExprKind};
use super::super::table::Prefilter;
use super::super::types::Type;
use super::super::value::{Dyn, Value};
use super::expr::visit;

fn mark_columns(expr: &TExpr, needed: &mut [bool]) {
    visit(expr, &mut |e| {
        if let TExprKind::Column(index) = e.kind
            && let Some(slot) = needed.get_mut(index)
        {
            *slot = true;
        }
    });
}

/// The columns of the node's source that its operators read to produce every output column.
pub fn required_source_columns(node: &Node) -> Vec<bool> {
    let mut needed = vec![true; node.schema().len()];
    for (index, operator) in node.operators.iter().enumerate().rev() {
        let width = node.schemas[index].len();
        needed = required_inputs(operator, &needed, width);
    }
    needed
}

/// The input columns an operator needs so that its `needed` output columns are right.
pub fn required_inputs(operator: &Operator, needed: &[bool], width: usize) -> Vec<bool> {
    let mut inputs = vec![false; width];
    let pass_through = |inputs: &mut Vec<bool>, overwritten: &[usize]| {
        for (index, slot) in inputs.iter_mut().enumerate() {
            *slot |= needed.get(index).copied().unwrap_or(false) && !overwritten.contains(&index);
        }
    };
    match operator {
        Operator::Where(predicate) => {
            pass_through(&mut inputs, &[]);
            mark_columns(predicate, &mut inputs);
        }
        Operator::Extend(assigned) | Operator::Serialize(assigned) => {
            let overwritten: Vec<usize> = assigned.iter().map(|(slot, _)| *slot).filter(|s| *s < width).collect();
            pass_through(&mut inputs, &overwritten);
            for (_, expr) in assigned {
                mark_columns(expr, &mut inputs);
            }
        }
        Operator::Project(exprs) => {
            for (index, expr) in exprs.iter().enumerate() {
                if needed.get(index).copied().unwrap_or(true) {
                    mark_columns(expr, &mut inputs);
                }
            }
        }
        Operator::Summarize { keys, aggregates } => {
            keys.iter().for_each(|k| mark_columns(k, &mut inputs));
            for aggregate in aggregates {
                let parts = aggregate.value.iter().chain(aggregate.predicate.iter()).chain(aggregate.returned.iter());
                parts.for_each(|e| mark_columns(e, &mut inputs));
            }
        }
        Operator::Distinct(keys) => keys.iter().for_each(|k| mark_columns(k, &mut inputs)),
        Operator::Count => {}
        // Every input column makes a part of some output: the keys, the bin that places values, the aggregates;
        // the subquery of `mv-apply` reads any column of its rows.
        Operator::Series(_) | Operator::MvApply(_) | Operator::Partition(_) => {
            inputs.iter_mut().for_each(|i| *i = true)
        }
        Operator::TopNested(_) => operator.expressions(&mut |expr| mark_columns(expr, &mut inputs)),
        // The steps read the record and the state's copies of it through columns past the input's.
        Operator::Scan(_) => inputs.iter_mut().for_each(|i| *i = true),
        Operator::Take(_) => pass_through(&mut inputs, &[]),
        Operator::Window(_) => {
            pass_through(&mut inputs, &[]);
            operator.expressions(&mut |expr| mark_columns(expr, &mut inputs));
        }
        Operator::Top { keys, .. } | Operator::Sort(keys) => {
            pass_through(&mut inputs, &[]);
            keys.iter().for_each(|k| mark_columns(&k.expr, &mut inputs));
        }
        Operator::Join(join) => {
            if !matches!(join.kind, JoinKind::RightSemi | JoinKind::RightAnti) {
                pass_through(&mut inputs, &[]);
            }
            for key in &join.left_keys {
                inputs[*key] = true;
            }
        }
        Operator::MvExpand(plan) => {
            let overwritten: Vec<usize> =
                plan.columns.iter().map(|(slot, _, _)| *slot).filter(|s| *s < width).collect();
            pass_through(&mut inputs, &overwritten);
            plan.columns.iter().for_each(|(_, e, _)| mark_columns(e, &mut inputs));
        }
        Operator::Parse(plan) => {
            let overwritten: Vec<usize> =
                plan.columns.iter().map(|(slot, _, _)| *slot).filter(|s| *s < width).collect();
            pass_through(&mut inputs, &overwritten);
            mark_columns(&plan.source, &mut inputs);
        }
        Operator::FileProfile(plan) => {
            pass_through(&mut inputs, &[]);
            inputs[plan.id_column] = true;
        }
    }
    inputs
}

/// Characters that no JSON or CSV writer escapes: a needle made of them appears verbatim in the raw text of
/// any row whose value contains it (unless the line uses `\u` escapes, which `Prefilter` checks).
fn verbatim_safe(needle: &str) -> bool {
    !needle.is_empty()
        && needle.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'-' | b'.' | b':' | b'@'))
}

/// How an expression's text relates to the row's raw text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RawText {
    /// A string column: its text is in the raw line as written.
    Verbatim,
    /// Text derived from a dynamic (a member, `tostring`): strings are verbatim, but a number may be written
    /// differently (`1e2` is printed `100`), so only needles that cannot be a number's text qualify.
    Derived,
}

fn raw_text(expr: &TExpr) -> Option<RawText> {
    match &expr.kind {
        TExprKind::Column(_) if expr.ty.is_stringlike() => Some(RawText::Verbatim),
        TExprKind::Column(_) if expr.ty == Type::Dynamic => Some(RawText::Derived),
        TExprKind::Member(target, _) => raw_text(target).map(|_| RawText::Derived),
        TExprKind::Index(target, index) if matches!(index.kind, TExprKind::Literal(_)) => {
            raw_text(target).map(|_| RawText::Derived)
        }
        TExprKind::Call(call)
            if matches!(call.function.name, "tostring" | "parse_json" | "todynamic" | "parsejson") =>
        {
            match call.arguments.as_slice() {
                [argument] => raw_text(argument),
                _ => None,
            }
        }
        _ => None,
    }
}

fn usable(needle: &str, kind: RawText) -> bool {
    verbatim_safe(needle)
        && (kind == RawText::Verbatim
            || needle.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')))
}

fn literal_text(expr: &TExpr) -> Option<String> {
    match &expr.kind {
        TExprKind::Literal(value @ Value::String(_)) => Some(value.to_text().to_string()),
        _ => None,
    }
}

/// The needles one condition requires (any of them), and whether their case matters.
fn needles(expr: &TExpr) -> Option<(Vec<String>, bool)> {
    let (needles, case_sensitive, kind) = match &expr.kind {
        TExprKind::Binary(op @ (BinaryOp::Equal | BinaryOp::EqualIgnoreCase), left, right) => {
            let (kind, literal) = match (raw_text(left), raw_text(right)) {
                (Some(kind), _) => (kind, right),
                (None, Some(kind)) => (kind, left),
                _ => return None,
            };
            (vec![literal_text(literal)?], *op == BinaryOp::Equal, kind)
        }
        // Every positive string test (`has`, `contains`, `startswith`, ...) implies that the needle is a
        // substring of the value.
        TExprKind::StringTest(op, left, right) if !op.negated => {
            (vec![literal_text(right)?], op.case_sensitive, raw_text(left)?)
        }
        TExprKind::In(list) if !list.negated && list.subqueries.is_empty() => {
            let kind = raw_text(&list.target)?;
            let all = list.items.iter().map(literal_text).collect::<Option<Vec<_>>>()?;
            (all, !list.ignore_case, kind)
        }
        TExprKind::HasAny { target, terms, subqueries, all: false } if subqueries.is_empty() => {
            let kind = raw_text(target)?;
            let mut all = Vec::new();
            for term in terms {
                match &term.kind {
                    TExprKind::Literal(Value::Dynamic(Dyn::Array(items))) => {
                        for item in items.iter() {
                            match item {
                                Dyn::String(s) => all.push(s.to_string()),
                                _ => return None,
                            }
                        }
                    }
                    _ => all.push(literal_text(term)?),
                }
            }
            (all, false, kind)
        }
        _ => return None,
    };
    (!needles.is_empty() && needles.iter().all(|n| usable(n, kind))).then_some((needles, case_sensitive))
}

/// A prefilter from the conjuncts of a `where` predicate, or `None` when no conjunct gives a safe needle.
pub fn prefilter(predicate: &TExpr) -> Option<Prefilter> {
    let mut conjuncts = Vec::new();
    collect_conjuncts(predicate, &mut conjuncts);
    let mut groups = Vec::new();
    let mut first = None;
    for conjunct in conjuncts {
        let Some((needles, case_sensitive)) = needles(conjunct) else { continue };
        if first.is_none() {
            first = Some((needles.clone(), case_sensitive));
        }
        // Only `is_match` is asked, which every match kind answers alike; the standard kind's build is
        // quadratic in the number of needles (an `in` list of 100,000 IOCs took 17 s), leftmost-first's linear.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .ascii_case_insensitive(!case_sensitive)
            .build(&needles)
            .ok()?;
        groups.push((automaton, !case_sensitive));
    }
    let (needles, case_sensitive) = first?;
    Prefilter::new(groups, &needles, case_sensitive)
}

fn collect_conjuncts<'a>(expr: &'a TExpr, out: &mut Vec<&'a TExpr>) {
    match &expr.kind {
        TExprKind::And(left, right) => {
            collect_conjuncts(left, out);
            collect_conjuncts(right, out);
        }
        _ => out.push(expr),
    }
}

/// How a query uses a dynamic column of its source: only through members (`RawEventData.Workload`,
/// `parse_json(RawEventData).X`, `d["X"]` where `d = parse_json(RawEventData)`), or as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Use {
    Members(Vec<String>),
    Whole,
}

impl Use {
    fn add(&mut self, name: &str) {
        if let Use::Members(names) = self
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }
}

/// The source column an expression is, unchanged (`RawEventData`, `parse_json(RawEventData)`), if any.
fn aliased(expr: &TExpr, alias: &[Option<usize>]) -> Option<usize> {
    match &expr.kind {
        TExprKind::Column(slot) => alias.get(*slot).copied().flatten(),
        TExprKind::Call(call) if matches!(call.function.name, "parse_json" | "todynamic" | "parsejson") => {
            call.arguments.first().and_then(|argument| aliased(argument, alias))
        }
        _ => None,
    }
}

fn record(expr: &TExpr, alias: &[Option<usize>], uses: &mut [Use]) {
    match &expr.kind {
        TExprKind::Member(target, name) => match aliased(target, alias) {
            Some(column) => uses[column].add(name),
            None => record(target, alias, uses),
        },
        TExprKind::Index(target, index) => match (aliased(target, alias), &index.kind) {
            (Some(column), TExprKind::Literal(Value::String(key))) => uses[column].add(key),
            _ => {
                record(target, alias, uses);
                record(index, alias, uses);
            }
        },
        TExprKind::Column(slot) => {
            if let Some(column) = alias.get(*slot).copied().flatten() {
                uses[column] = Use::Whole;
            }
        }
        _ => expr.children().into_iter().for_each(|child| record(child, alias, uses)),
    }
}

/// For each column of the node's source: the only members of it that the query reads, when it reads the
/// column through members alone; `None` when it needs the whole value (or the column is not dynamic).
pub fn dynamic_members(node: &Node) -> Vec<Option<Vec<String>>> {
    let source = &node.schemas[0];
    let mut uses: Vec<Use> = source.iter().map(|_| Use::Members(Vec::new())).collect();
    let mut alias: Vec<Option<usize>> =
        source.iter().enumerate().map(|(i, c)| (c.ty == Type::Dynamic).then_some(i)).collect();
    for (index, operator) in node.operators.iter().enumerate() {
        let width = node.schemas[index + 1].len();
        match operator {
            Operator::Where(predicate) => record(predicate, &alias, &mut uses),
            Operator::Extend(assigned) | Operator::Serialize(assigned) => {
                for (slot, expr) in assigned {
                    record(expr, &alias, &mut uses);
                    let value = aliased(expr, &alias);
                    if *slot >= alias.len() {
                        alias.resize(slot + 1, None);
                    }
                    alias[*slot] = value;
                }
            }
            Operator::Project(exprs) => {
                exprs.iter().for_each(|e| record(e, &alias, &mut uses));
                alias = exprs.iter().map(|e| aliased(e, &alias)).collect();
            }
            Operator::Take(_) => {}
            Operator::Window(_) => {
                operator.expressions(&mut |expr| record(expr, &alias, &mut uses));
                alias.resize(width, None);
            }
            Operator::Top { keys, .. } | Operator::Sort(keys) => {
                keys.iter().for_each(|k| record(&k.expr, &alias, &mut uses))
            }
            Operator::Join(join) => {
                for key in &join.left_keys {
                    if let Some(column) = alias.get(*key).copied().flatten() {
                        uses[column] = Use::Whole;
                    }
                }
                if matches!(join.kind, JoinKind::RightSemi | JoinKind::RightAnti) {
                    alias = vec![None; width];
                }
            }
            Operator::FileProfile(plan) => {
                if let Some(column) = alias.get(plan.id_column).copied().flatten() {
                    uses[column] = Use::Whole;
                }
            }
            Operator::MvExpand(plan) => {
                plan.columns.iter().for_each(|(_, e, _)| record(e, &alias, &mut uses));
                for (slot, _, _) in &plan.columns {
                    if let Some(entry) = alias.get_mut(*slot) {
                        *entry = None;
                    }
                }
            }
            Operator::Parse(plan) => {
                record(&plan.source, &alias, &mut uses);
                for (slot, _, _) in &plan.columns {
                    if let Some(entry) = alias.get_mut(*slot) {
                        *entry = None;
                    }
                }
            }
            Operator::Summarize { keys, aggregates } => {
                keys.iter().for_each(|k| record(k, &alias, &mut uses));
                for aggregate in aggregates {
                    let parts =
                        aggregate.value.iter().chain(aggregate.predicate.iter()).chain(aggregate.returned.iter());
                    parts.for_each(|e| record(e, &alias, &mut uses));
                }
                alias = vec![None; width];
            }
            Operator::Distinct(keys) => {
                keys.iter().for_each(|k| record(k, &alias, &mut uses));
                alias = vec![None; width];
            }
            Operator::Count => alias = vec![None; width],
            Operator::Series(_) | Operator::TopNested(_) => {
                operator.expressions(&mut |expr| record(expr, &alias, &mut uses));
                alias = vec![None; width];
            }
            // The subquery may read any member of any column it is given.
            Operator::MvApply(_) | Operator::Partition(_) | Operator::Scan(_) => {
                for column in alias.iter().flatten() {
                    uses[*column] = Use::Whole;
                }
                alias = vec![None; width];
            }
        }
        alias.resize(width, None);
    }
    // What reaches the output is seen whole.
    for column in alias.into_iter().flatten() {
        uses[column] = Use::Whole;
    }
    uses.into_iter()
        .zip(source.iter())
        .map(|(used, column)| match used {
            Use::Members(names) if column.ty == Type::Dynamic => Some(names),
            _ => None,
        })
        .collect()
}
