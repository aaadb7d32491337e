//! `find`: the rows of several tables that satisfy a predicate, each under the name of its table, with the
//! columns Kusto's binder gives them. `project-smart` (the default): the columns common to the tables searched,
//! then those the predicate names, then `pack_`, a bag of the rest; `project`: the columns listed (typed when a
//! type is given), and `pack_` of the rest after `pack_all()`. Only the tables that have a column the predicate
//! names are searched (all of them for a test of every column, `"term"` or `* has`); a named column that a table
//! lacks reads there as null.

use super::super::ast::{self, Expr, ExprKind, NamePattern, UnionTable};
use super::super::functions;
use super::super::plan::{Call, Column, Node, Operator, Source, TExpr, TExprKind, UnionPlan};
use super::super::span::Span;
use super::super::types::Type;
use super::super::value::{Str, Value};
use super::expr::typed;
use super::{CResult, Checker, Reported};

/// The names an expression reads, in order, without repeats (not those inside subqueries).
fn names(expr: &Expr, out: &mut Vec<String>) {
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        if let ExprKind::Name(name) = &expr.kind
            && !out.contains(name)
        {
            out.push(name.clone());
        }
        pending.extend(expr.children().into_iter().rev());
    }
}

/// Whether the predicate tests every column (`"term"`, `* has "x"`).
fn tests_every_column(expr: &Expr) -> bool {
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        if matches!(&expr.kind, ExprKind::Binary { left, .. } if matches!(left.kind, ExprKind::Star)) {
            return true;
        }
        pending.extend(expr.children());
    }
    false
}

/// The function that converts to a type, for a column `project`ed with another type than its table's.
fn conversion(ty: Type) -> &'static str {
    match ty {
        Type::Bool => "tobool",
        Type::Int => "toint",
        Type::Long => "tolong",
        Type::Real | Type::Decimal => "toreal",
        Type::DateTime => "todatetime",
        Type::TimeSpan => "totimespan",
        Type::Dynamic => "todynamic",
        Type::Guid => "toguid",
        _ => "tostring",
    }
}

impl Checker<'_> {
    pub(super) fn find(&mut self, find: &ast::Find) -> CResult<Node> {
        let everything = [UnionTable::Pattern(NamePattern { text: "*".to_string(), span: find.span })];
        let tables = find.tables.as_deref().unwrap_or(&everything);
        if let Some(UnionTable::Expr(expr)) = tables.iter().find(|t| matches!(t, UnionTable::Expr(_))) {
            return Err(self.unsupported(
                expr.span,
                "find in a query (not a table) names its rows' source as Kusto makes it up; not supported by the \
                 local engine",
            ));
        }
        let mut inputs = Vec::new();
        if self.union_inputs(tables, false, &mut inputs) {
            return Err(Reported);
        }
        let type_in = |node: &Node, name: &str| node.schema().iter().find(|c| c.name == name).map(|c| c.ty);
        let types_of = |inputs: &[&(Node, Str)], name: &str| -> Vec<Type> {
            let mut types: Vec<Type> = Vec::new();
            for ty in inputs.iter().filter_map(|(node, _)| type_in(node, name)) {
                if !types.contains(&ty) {
                    types.push(ty);
                }
            }
            types
        };
        let mut read = Vec::new();
        names(&find.predicate, &mut read);
        let referenced: Vec<(String, Type)> = read
            .into_iter()
            .filter_map(|name| inputs.iter().find_map(|(node, _)| type_in(node, &name)).map(|ty| (name, ty)))
            .collect();
        let chosen: Vec<&(Node, Str)> = if inputs.len() == 1 || tests_every_column(&find.predicate) {
            inputs.iter().collect()
        } else {
            inputs.iter().filter(|(node, _)| referenced.iter().any(|(name, _)| type_in(node, name).is_some())).collect()
        };

        let mut output: Vec<Column> = Vec::new();
        let several = |checker: &mut Self, span: Span, name: &str| {
            checker.unsupported(
                span,
                format!(
                    "find over tables where '{name}' has several types (Kusto makes a column per type) is not \
                     supported by the local engine"
                ),
            )
        };
        let pack = match &find.project {
            None => {
                if let Some((first, _)) = chosen.first() {
                    for column in first.schema() {
                        if chosen.iter().all(|(node, _)| type_in(node, &column.name) == Some(column.ty)) {
                            output.push(column.clone());
                        }
                    }
                }
                for (name, _) in &referenced {
                    if output.iter().any(|c| &c.name == name) {
                        continue;
                    }
                    match types_of(&chosen, name)[..] {
                        [ty] => output.push(Column::new(name.clone(), ty)),
                        [] => {}
                        _ => return Err(several(self, find.predicate.span, name)),
                    }
                }
                chosen.iter().any(|(node, _)| node.schema().iter().any(|c| !output.iter().any(|o| o.name == c.name)))
            }
            Some(ast::FindProject { columns, pack_all }) => {
                for (name, ty) in columns {
                    let ty = match (ty, &types_of(&chosen, &name.text)[..]) {
                        (Some(ty), _) => *ty,
                        (None, [ty]) => *ty,
                        (None, []) => {
                            let known: Vec<String> =
                                chosen.iter().flat_map(|(n, _)| n.schema().iter().map(|c| c.name.clone())).collect();
                            // Kusto makes such a column null; which type it gets is not documented.
                            let hint = self.suggestion(&name.text, &known);
                            return Err(self.unknown(
                                name.span,
                                format!(
                                    "no table of the find has a column '{}': give its type (Name: type)",
                                    name.text
                                ),
                                hint,
                            ));
                        }
                        (None, _) => return Err(several(self, name.span, &name.text)),
                    };
                    output.push(Column::new(name.text.clone(), ty));
                }
                *pack_all
            }
        };

        let mut legs = Vec::new();
        let mut sources = Vec::new();
        let mut failed = false;
        for (node, name) in chosen {
            match self.find_leg(node.clone(), find, &referenced, &output, pack) {
                Ok(leg) => {
                    legs.push(leg);
                    sources.push(name.clone());
                }
                Err(Reported) => failed = true,
            }
        }
        if failed {
            return Err(Reported);
        }
        let source = find.with_source.as_ref().map_or("source_", |n| n.text.as_str());
        let mut schema = vec![Column::new(source, Type::String)];
        schema.extend(output);
        if pack {
            schema.push(Column::new("pack_", Type::Dynamic));
        }
        if legs.is_empty() {
            return Ok(Node::new(Source::Rows(std::sync::Arc::new(Vec::new())), schema));
        }
        let width = schema.len() - 1;
        let inputs = legs.into_iter().map(|leg| (leg, (0..width).map(Some).collect())).collect();
        Ok(Node::new(Source::Union(Box::new(UnionPlan { inputs, source_names: Some(sources) })), schema))
    }

    /// One table of a `find`: the named columns it lacks as nulls, the predicate, then the output columns.
    fn find_leg(
        &mut self,
        mut node: Node,
        find: &ast::Find,
        referenced: &[(String, Type)],
        output: &[Column],
        pack: bool,
    ) -> CResult<Node> {
        let schema = node.schema().to_vec();
        let mut widened = schema.clone();
        let mut assigned = Vec::new();
        for (name, ty) in referenced {
            if !schema.iter().any(|c| &c.name == name) {
                assigned.push((widened.len(), typed(TExprKind::Literal(Value::null_of(*ty)), *ty)));
                widened.push(Column::new(name.clone(), *ty));
            }
        }
        if !assigned.is_empty() {
            node.push(Operator::Extend(assigned), widened.clone());
        }
        let predicate = self.scalar(&find.predicate, &widened)?;
        self.require_bool(&predicate, find.predicate.span)?;
        node.push(Operator::Where(predicate), widened);
        let mut projected: Vec<TExpr> = Vec::new();
        for column in output {
            projected.push(match schema.iter().position(|c| c.name == column.name) {
                Some(index) if schema[index].ty == column.ty => typed(TExprKind::Column(index), column.ty),
                Some(_) => {
                    let span = find.span;
                    let function = ast::Name { text: conversion(column.ty).to_string(), span };
                    let argument = Expr { kind: ExprKind::Name(column.name.clone()), span };
                    self.scalar(&Expr { kind: ExprKind::Call { function, arguments: vec![argument] }, span }, &schema)?
                }
                None => typed(TExprKind::Literal(Value::null_of(column.ty)), column.ty),
            });
        }
        let mut projected_schema = output.to_vec();
        if pack {
            let mut pairs = Vec::new();
            for (index, column) in schema.iter().enumerate() {
                if !output.iter().any(|o| o.name == column.name) {
                    pairs.push(typed(TExprKind::Literal(Value::string(column.name.as_str())), Type::String));
                    pairs.push(typed(TExprKind::Column(index), column.ty));
                }
            }
            let function = functions::lookup("bag_pack").unwrap_or(&functions::PACK_NON_EMPTY);
            projected.push(typed(TExprKind::Call(Call { function, arguments: pairs, regex: None }), Type::Dynamic));
            projected_schema.push(Column::new("pack_", Type::Dynamic));
        }
        node.push(Operator::Project(projected), projected_schema);
        Ok(node)
    }
}
