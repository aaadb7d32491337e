//! The tabular operators after a `|`, and the sources that are not plain expressions (`datatable`, `print`,
//! `range`, `union`).

use super::super::ast::{
    Assignment, BinaryOperator, Expr, ExprKind, Find, FindProject, JoinCondition, MakeSeries, MvExpandItem, Name,
    NamePattern, Operator, OperatorKind, ParseKind, ParsePart, Scan, ScanStep, SortKey, Source, StringOperator,
    StringTest, TopNestedClause, Union, UnionTable,
};
use super::super::error::{KqlError, closest};
use super::super::lexer::TokenKind;
use super::super::span::Span;
use super::super::types::Type;
use super::super::value::{Str, Value};
use super::super::visualization::Visualization;
use super::{PResult, Parser};

/// The operators the local engine implements, for "did you mean" on a misspelt one.
pub const SUPPORTED: &[&str] = &[
    "where",
    "filter",
    "extend",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "summarize",
    "make-series",
    "distinct",
    "count",
    "take",
    "limit",
    "sample",
    "top",
    "top-nested",
    "search",
    "scan",
    "sort",
    "order",
    "join",
    "lookup",
    "union",
    "mv-expand",
    "mvexpand",
    "mv-apply",
    "partition",
    "parse",
    "parse-where",
    "invoke",
    "evaluate",
    "getschema",
    "as",
    "serialize",
    "render",
];

/// Real Kusto operators that this engine does not implement.
pub const UNSUPPORTED: &[&str] = &[
    "top-hitters",
    "find",
    "sample-distinct",
    "facet",
    "fork",
    "parse-kv",
    "project-smart",
    "reduce",
    "consume",
    "make-graph",
    "graph-match",
    "graph-to-table",
    "graph-merge",
    "graph-mark-components",
    "graph-shortest-paths",
    "macro-expand",
    "assert-schema",
    "lookup-",
    "execute-and-cache",
];

impl Parser<'_> {
    pub(super) fn operator(&mut self) -> PResult<Operator> {
        let token = self.peek().clone();
        if !matches!(token.kind, TokenKind::Ident | TokenKind::Word) {
            return Err(self.unexpected("a tabular operator after '|'"));
        }
        let word = self.text_of(&token).to_string();
        let keyword = Name { text: word.clone(), span: token.span };
        self.advance();
        let kind = match word.as_str() {
            "where" | "filter" => OperatorKind::Where(self.expr()?),
            "extend" => OperatorKind::Extend(self.assignments()?),
            "project" => OperatorKind::Project(self.assignments()?),
            "project-away" => OperatorKind::ProjectAway(self.name_patterns()?),
            "project-keep" => OperatorKind::ProjectKeep(self.name_patterns()?),
            "project-rename" => OperatorKind::ProjectRename(self.renames()?),
            "project-reorder" => OperatorKind::ProjectReorder(self.reorder_patterns()?),
            "summarize" => self.summarize()?,
            "make-series" => self.make_series()?,
            "distinct" => {
                if self.eat(&TokenKind::Star) {
                    OperatorKind::Distinct(Vec::new())
                } else {
                    OperatorKind::Distinct(self.assignments()?)
                }
            }
            "count" => OperatorKind::Count,
            "take" | "limit" => {
                self.skip_hints();
                OperatorKind::Take(self.expr()?)
            }
            // Kusto's rows are drawn at random; any N rows are such a draw, and here they are the first N.
            "sample" => OperatorKind::Take(self.expr()?),
            "top" => {
                let count = self.expr()?;
                self.expect_word("by")?;
                OperatorKind::Top { count, by: self.sort_keys()? }
            }
            "sort" | "order" => {
                self.skip_hints();
                self.expect_word("by")?;
                OperatorKind::Sort(self.sort_keys()?)
            }
            "join" => {
                let kind = self.kind_option()?;
                let right = self.join_right()?;
                let on = self.join_conditions()?;
                OperatorKind::Join { kind, right, on }
            }
            "lookup" => {
                let kind = self.kind_option()?;
                let right = self.join_right()?;
                let on = self.join_conditions()?;
                OperatorKind::Lookup { kind, right, on }
            }
            "union" => OperatorKind::Union(self.union_body()?),
            // `mvexpand` is the older spelling, still accepted by Kusto.
            "mv-expand" | "mvexpand" => self.mv_expand()?,
            "mv-apply" | "mvapply" => self.mv_apply()?,
            "partition" => self.partition()?,
            "search" => OperatorKind::Search { predicate: self.search_body(false)?.0, piped: true },
            "top-nested" => self.top_nested(token.span)?,
            "scan" => self.scan()?,
            "parse" => self.parse_operator(false)?,
            "parse-where" => self.parse_operator(true)?,
            "invoke" => {
                let function = self.name("a function name after 'invoke'")?;
                self.expect(&TokenKind::LeftParen, "'(' after the function name")?;
                let mut arguments = Vec::new();
                if !self.at(&TokenKind::RightParen) {
                    arguments = self.expr_list()?;
                }
                self.expect(&TokenKind::RightParen, "')' after the arguments")?;
                OperatorKind::Invoke { function, arguments }
            }
            "evaluate" => {
                self.skip_hints();
                let plugin = self.name("a plugin name after 'evaluate'")?;
                self.expect(&TokenKind::LeftParen, "'(' after the plugin name")?;
                let mut arguments = Vec::new();
                if !self.at(&TokenKind::RightParen) {
                    loop {
                        arguments.push(self.argument()?);
                        if !self.eat(&TokenKind::Comma) {
                            break;
                        }
                    }
                }
                self.expect(&TokenKind::RightParen, "')' after the arguments")?;
                let schema = if self.eat(&TokenKind::Colon) { Some(self.output_schema()?) } else { None };
                OperatorKind::Evaluate { plugin, arguments, schema }
            }
            "getschema" => OperatorKind::GetSchema,
            "as" => {
                self.skip_hints();
                OperatorKind::As(self.name("a name after 'as'")?)
            }
            "serialize" => {
                if self.at(&TokenKind::Pipe)
                    || self.at(&TokenKind::Eof)
                    || self.at(&TokenKind::RightParen)
                    || self.at(&TokenKind::Semicolon)
                {
                    OperatorKind::Serialize(Vec::new())
                } else {
                    OperatorKind::Serialize(self.assignments()?)
                }
            }
            "render" => OperatorKind::Render(self.render_arguments(token.span)),
            other if UNSUPPORTED.contains(&other) => {
                return Err(KqlError::unsupported(
                    token.span,
                    format!("'{other}' operator is not supported by the local engine"),
                ));
            }
            other => {
                let mut error =
                    KqlError::syntax(token.span, format!("Syntax error: '{other}' is not a tabular operator"));
                if let Some(suggestion) = closest(other, SUPPORTED.iter().copied()) {
                    error = error.with_hint(format!("did you mean '{suggestion}'?"));
                }
                return Err(error);
            }
        };
        Ok(Operator { kind, keyword, span: self.span_from(token.span) })
    }

    /// `render` after its keyword: the visualization and the properties known (`title`, `ycolumns`, ...).
    /// Nothing here is an error: what is not understood is skipped to the end of the operator, as Kusto leaves
    /// drawing to the client.
    pub(super) fn render_arguments(&mut self, keyword: Span) -> Visualization {
        let mut visualization = Visualization::default();
        if matches!(self.peek().kind, TokenKind::Ident) {
            visualization.kind = self.text_of(self.peek()).to_string();
            self.advance();
        }
        if self.at_word("with") && matches!(self.peek_at(1).kind, TokenKind::LeftParen) {
            self.advance();
            self.advance();
            self.render_properties(&mut visualization);
            self.eat(&TokenKind::RightParen);
        } else {
            // The older form without `with (...)`: `render timechart title="Logons"`.
            self.render_properties(&mut visualization);
        }
        self.skip_operator_rest();
        visualization.span = self.span_from(keyword);
        visualization
    }

    fn render_properties(&mut self, visualization: &mut Visualization) {
        while let Some(property) = self.word_at(0)
            && matches!(self.peek_at(1).kind, TokenKind::Assign)
        {
            self.advance();
            self.advance();
            match property {
                "title" => visualization.title = self.render_text(),
                "xtitle" => visualization.xtitle = self.render_text(),
                "ytitle" => visualization.ytitle = self.render_text(),
                "kind" => visualization.stacking = self.render_text(),
                "legend" => visualization.legend_hidden = self.render_text().as_deref() == Some("hidden"),
                "xcolumn" => visualization.xcolumn = self.render_names().into_iter().next(),
                "ycolumns" => visualization.ycolumns = self.render_names(),
                "series" => visualization.series = self.render_names(),
                "ymin" => visualization.ymin = self.render_number(),
                "ymax" => visualization.ymax = self.render_number(),
                other => {
                    visualization.ignored.push(other.to_string());
                    if self.render_text().is_none() && self.render_number().is_none() {
                        self.render_names();
                    }
                }
            }
            self.eat(&TokenKind::Comma);
        }
    }

    /// A property's value: a string (adjacent strings joined, as in any KQL string) or a word.
    fn render_text(&mut self) -> Option<String> {
        match self.peek().kind.clone() {
            TokenKind::String(first) => {
                let mut text = first;
                self.advance();
                while let TokenKind::String(next) = &self.peek().kind {
                    text.push_str(next);
                    self.advance();
                }
                Some(text)
            }
            TokenKind::Ident => Some(self.advance()).map(|token| self.text_of(&token).to_string()),
            _ => None,
        }
    }

    /// `ycolumns=Logons, Failures`: names separated by commas, up to the next `property=`.
    fn render_names(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(name) = self.bracketed_name().or_else(|| {
            matches!(self.peek().kind, TokenKind::Ident).then(|| {
                let token = self.advance();
                Name { text: self.text_of(&token).to_string(), span: token.span }
            })
        }) {
            names.push(name.text);
            let next_is_name = matches!(self.peek_at(1).kind, TokenKind::Ident | TokenKind::LeftBracket)
                && !matches!(self.peek_at(2).kind, TokenKind::Assign);
            if !(self.at(&TokenKind::Comma) && next_is_name) {
                break;
            }
            self.advance();
        }
        names
    }

    /// `ymax=100`, `ymin=-5.5`.
    fn render_number(&mut self) -> Option<f64> {
        let negative = matches!(self.peek().kind, TokenKind::Minus);
        let offset = usize::from(negative);
        #[allow(clippy::cast_precision_loss)] // an axis bound: a few significant digits are plenty
        let value = match self.peek_at(offset).kind {
            TokenKind::Long(value) => value as f64,
            TokenKind::Real(value) => value,
            _ => return None,
        };
        self.position += offset + 1;
        Some(if negative { -value } else { value })
    }

    /// Consumes the rest of an operator whose arguments are ignored.
    fn skip_operator_rest(&mut self) {
        let mut nesting = 0usize;
        loop {
            match self.peek().kind {
                TokenKind::Eof => return,
                TokenKind::Pipe | TokenKind::Semicolon if nesting == 0 => return,
                // A closer that this operator did not open ends it; the caller reports it if it is stray.
                TokenKind::RightParen | TokenKind::RightBracket | TokenKind::RightBrace if nesting == 0 => return,
                TokenKind::LeftParen | TokenKind::LeftBracket | TokenKind::LeftBrace => nesting += 1,
                TokenKind::RightParen | TokenKind::RightBracket | TokenKind::RightBrace => nesting -= 1,
                _ => {}
            }
            self.advance();
        }
    }

    /// Skips `hint.strategy=shuffle`-style options, which change nothing locally.
    fn skip_hints(&mut self) {
        while self.at_word("hint") && matches!(self.peek_at(1).kind, TokenKind::Dot) {
            self.advance();
            self.advance();
            self.advance();
            if self.eat(&TokenKind::Assign) {
                self.advance();
            }
        }
    }

    /// `kind=inner` (with hints skipped before and after).
    fn kind_option(&mut self) -> PResult<Option<Name>> {
        let mut kind = None;
        loop {
            self.skip_hints();
            if self.at_word("kind") && matches!(self.peek_at(1).kind, TokenKind::Assign) {
                self.advance();
                self.advance();
                kind = Some(self.name("a join kind")?);
            } else {
                return Ok(kind);
            }
        }
    }

    fn join_right(&mut self) -> PResult<Expr> {
        if self.at(&TokenKind::LeftParen) {
            let open = self.advance().span;
            let inner = self.tabular_or_expr()?;
            let close = self.expect(&TokenKind::RightParen, "')' after the right side of the join")?;
            return Ok(Expr { kind: inner.kind, span: open.to(close.span) });
        }
        // A table, a `let`, or a function call (`join kind=leftanti recent(7d) on AppId`).
        if matches!(self.peek_at(1).kind, TokenKind::LeftParen) && matches!(self.peek().kind, TokenKind::Ident) {
            return self.postfix();
        }
        let name = self.name("the right side of the join: a table name or '(' query ')'")?;
        Ok(Expr { kind: ExprKind::Name(name.text), span: name.span })
    }

    fn join_conditions(&mut self) -> PResult<Vec<JoinCondition>> {
        self.expect_word("on")?;
        let mut conditions = Vec::new();
        loop {
            conditions.push(self.join_condition()?);
            if !(self.eat(&TokenKind::Comma) || self.eat_word("and")) {
                return Ok(conditions);
            }
        }
    }

    fn join_condition(&mut self) -> PResult<JoinCondition> {
        let first = self.side_column()?;
        let Some((first_side, first_name)) = first.0.map(|side| (side, first.1.clone())) else {
            return Ok(JoinCondition::Same(first.1));
        };
        self.expect(&TokenKind::Equal, "'==' between the $left and $right columns")?;
        let (second_side, second_name) = self.side_column()?;
        match (first_side.as_str(), second_side.as_deref()) {
            ("$left", Some("$right")) => Ok(JoinCondition::Pair { left: first_name, right: second_name }),
            ("$right", Some("$left")) => Ok(JoinCondition::Pair { left: second_name, right: first_name }),
            _ => Err(KqlError::syntax(
                first_name.span.to(second_name.span),
                "Syntax error: a join condition compares a $left column with a $right column",
            )),
        }
    }

    /// `Col`, `$left.Col` or `$right.Col`.
    fn side_column(&mut self) -> PResult<(Option<String>, Name)> {
        let word = self.word_at(0);
        if let Some(side @ ("$left" | "$right")) = word {
            let side = side.to_string();
            self.advance();
            self.expect(&TokenKind::Dot, "'.' after the side")?;
            let name = self.name("a column name")?;
            return Ok((Some(side), name));
        }
        Ok((None, self.name("a join column")?))
    }

    pub(super) fn union_body(&mut self) -> PResult<Union> {
        let mut union = Union { inner: false, fuzzy: false, with_source: None, tables: Vec::new() };
        loop {
            match (self.word_at(0), &self.peek_at(1).kind) {
                (Some("kind"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    let kind = self.name("'inner' or 'outer'")?;
                    match kind.text.as_str() {
                        "inner" => union.inner = true,
                        "outer" => union.inner = false,
                        _ => return Err(KqlError::syntax(kind.span, "Syntax error: union kind is 'inner' or 'outer'")),
                    }
                }
                (Some("withsource"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    union.with_source = Some(self.name("a column name")?);
                }
                (Some("isfuzzy"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    union.fuzzy = self.word_at(0).is_some_and(|w| w.eq_ignore_ascii_case("true"));
                    self.advance();
                }
                (Some("hint"), TokenKind::Dot) => self.skip_hints(),
                _ => break,
            }
        }
        loop {
            if self.at(&TokenKind::LeftParen) {
                let open = self.advance().span;
                let inner = self.tabular_or_expr()?;
                let close = self.expect(&TokenKind::RightParen, "')'")?;
                union.tables.push(UnionTable::Expr(Expr { kind: inner.kind, span: open.to(close.span) }));
            } else {
                union.tables.push(UnionTable::Pattern(self.name_pattern()?));
            }
            if !self.eat(&TokenKind::Comma) {
                return Ok(union);
            }
        }
    }

    fn summarize(&mut self) -> PResult<OperatorKind> {
        self.skip_hints();
        let aggregates = if self.at_word("by") { Vec::new() } else { self.assignments()? };
        let by = if self.eat_word("by") { self.assignments()? } else { Vec::new() };
        Ok(OperatorKind::Summarize { aggregates, by })
    }

    /// `make-series [kind=nonempty] [Name =] Aggregation [default = Value], ... on Axis from A to B step S
    /// [by ...]`, or `on Axis in range(A, B, S)`.
    fn make_series(&mut self) -> PResult<OperatorKind> {
        let nonempty = match self.kind_option()? {
            None => false,
            Some(kind) if kind.text == "nonempty" => true,
            Some(kind) => {
                return Err(KqlError::syntax(kind.span, "Syntax error: the make-series kind is 'nonempty'"));
            }
        };
        let mut aggregates = Vec::new();
        loop {
            let names = self.assignment_target().into_iter().collect();
            let expr = self.expr()?;
            let default = if self.at_word("default") && matches!(self.peek_at(1).kind, TokenKind::Assign) {
                self.advance();
                self.advance();
                Some(self.expr()?)
            } else {
                None
            };
            aggregates.push((Assignment { names, expr }, default));
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect_word("on")?;
        // `Axis in range(...)` would read as the `in` operator: the axis is then a plain name.
        let in_range = self.word_at(1) == Some("in")
            && self.word_at(2) == Some("range")
            && matches!(self.peek_at(3).kind, TokenKind::LeftParen);
        let (axis, from, to, step) = if in_range {
            let name = self.name("the axis column")?;
            let axis = Expr { kind: ExprKind::Name(name.text), span: name.span };
            self.expect_word("in")?;
            self.expect_word("range")?;
            self.expect(&TokenKind::LeftParen, "'(' after 'range'")?;
            let start = self.expr()?;
            self.expect(&TokenKind::Comma, "',' after the start of the range")?;
            let stop = self.expr()?;
            self.expect(&TokenKind::Comma, "',' after the end of the range")?;
            let step = self.expr()?;
            self.expect(&TokenKind::RightParen, "')' after the step")?;
            (axis, Some(start), Some(stop), step)
        } else {
            let axis = self.expr()?;
            let from = if self.eat_word("from") { Some(self.expr()?) } else { None };
            let to = if self.eat_word("to") { Some(self.expr()?) } else { None };
            self.expect_word("step")?;
            (axis, from, to, self.expr()?)
        };
        let by = if self.eat_word("by") { self.assignments()? } else { Vec::new() };
        Ok(OperatorKind::MakeSeries(Box::new(MakeSeries { nonempty, aggregates, axis, from, to, step, in_range, by })))
    }

    /// `scan [with_match_id=Id] [declare (Name: type [= default], ...)] with (step Name [output=...]: Condition
    /// [=> Column = Expr, ...]; ...)`.
    fn scan(&mut self) -> PResult<OperatorKind> {
        let mut match_id = None;
        if self.at_word("with_match_id") && matches!(self.peek_at(1).kind, TokenKind::Assign) {
            self.advance();
            self.advance();
            match_id = Some(self.name("a column name after 'with_match_id='")?);
        }
        let mut declare = Vec::new();
        if self.eat_word("declare") {
            self.expect(&TokenKind::LeftParen, "'(' after 'declare'")?;
            loop {
                let name = self.name("a column name to declare")?;
                self.expect(&TokenKind::Colon, "':' and a type after the declared column")?;
                let ty = self.type_name()?;
                let default = if self.eat(&TokenKind::Assign) { Some(self.expr()?) } else { None };
                declare.push((name, ty, default));
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            self.expect(&TokenKind::RightParen, "')' after the declared columns")?;
        }
        self.expect_word("with")?;
        self.expect(&TokenKind::LeftParen, "'(' before the steps of scan")?;
        let mut steps = Vec::new();
        while self.at_word("step") {
            self.advance();
            let name = self.name("a step name")?;
            let mut output = Name { text: "all".to_string(), span: name.span };
            if self.at_word("output") && matches!(self.peek_at(1).kind, TokenKind::Assign) {
                self.advance();
                self.advance();
                output = self.name("'all', 'last' or 'none'")?;
                if !matches!(output.text.as_str(), "all" | "last" | "none") {
                    return Err(KqlError::syntax(
                        output.span,
                        "Syntax error: a step's output is 'all', 'last' or 'none'",
                    ));
                }
            }
            self.expect(&TokenKind::Colon, "':' before the step's condition")?;
            let condition = self.expr()?;
            let mut assignments = Vec::new();
            // `=>`, lexed as `=` and `>`.
            if self.at(&TokenKind::Assign) && matches!(self.peek_at(1).kind, TokenKind::Greater) {
                self.advance();
                self.advance();
                loop {
                    let column = self.name("a declared column to assign")?;
                    self.expect(&TokenKind::Assign, "'=' after the column")?;
                    assignments.push((column, self.expr()?));
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
            }
            self.expect(&TokenKind::Semicolon, "';' after the step")?;
            steps.push(ScanStep { name, output, condition, assignments });
        }
        if steps.is_empty() {
            return Err(self.unexpected("'step' in the steps of scan"));
        }
        self.expect(&TokenKind::RightParen, "')' after the steps of scan")?;
        Ok(OperatorKind::Scan(Box::new(Scan { match_id, declare, steps })))
    }

    /// What follows `find`.
    pub(super) fn find_body(&mut self, start: Span) -> PResult<Find> {
        let mut with_source = None;
        if self.at_word("withsource") && matches!(self.peek_at(1).kind, TokenKind::Assign) {
            self.advance();
            self.advance();
            with_source = Some(self.name("a column name after 'withsource='")?);
        }
        let mut tables = None;
        if self.at_word("in") && matches!(self.peek_at(1).kind, TokenKind::LeftParen) {
            self.advance();
            self.advance();
            tables = Some(self.table_list()?);
            self.expect(&TokenKind::RightParen, "')' after the tables to find in")?;
        }
        self.eat_word("where");
        let predicate = search_terms(self.expr()?, false);
        let project = if self.eat_word("project-smart") {
            None
        } else if self.eat_word("project") {
            let mut columns = Vec::new();
            let mut pack = false;
            loop {
                if self.at_word("pack_all") && matches!(self.peek_at(1).kind, TokenKind::LeftParen) {
                    self.advance();
                    self.advance();
                    self.expect(&TokenKind::RightParen, "')' after 'pack_all('")?;
                    pack = true;
                    break;
                }
                let name = self.name("a column name")?;
                let ty = if self.eat(&TokenKind::Colon) { Some(self.type_name()?) } else { None };
                columns.push((name, ty));
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            Some(FindProject { columns, pack_all: pack })
        } else {
            None
        };
        Ok(Find { with_source, tables, predicate, project, span: self.span_from(start) })
    }

    /// `T1, T2*, (query)`: the tables of `search in (...)` and `find in (...)`.
    fn table_list(&mut self) -> PResult<Vec<UnionTable>> {
        let mut list = Vec::new();
        loop {
            if self.at(&TokenKind::LeftParen) {
                let open = self.advance().span;
                let inner = self.tabular_or_expr()?;
                let close = self.expect(&TokenKind::RightParen, "')'")?;
                list.push(UnionTable::Expr(Expr { kind: inner.kind, span: open.to(close.span) }));
            } else {
                list.push(UnionTable::Pattern(self.name_pattern()?));
            }
            if !self.eat(&TokenKind::Comma) {
                return Ok(list);
            }
        }
    }

    /// What follows `search`: `[kind=case_sensitive] [in (Tables)] Predicate` (`in` only at the start of a
    /// query). The predicate's bare terms become tests of every column: `"err"` is `* has "err"`, `"err*"`
    /// `* hasprefix`, `"*err"` `* hassuffix`, `"*err*"` `* contains`, `"a*b"` a regular expression; and
    /// `Column:"err"` tests one column alike.
    pub(super) fn search_body(&mut self, at_start: bool) -> PResult<(Expr, Option<Vec<UnionTable>>)> {
        let mut case_sensitive = false;
        if self.at_word("kind") && matches!(self.peek_at(1).kind, TokenKind::Assign) {
            self.advance();
            self.advance();
            let kind = self.name("'case_sensitive' or 'case_insensitive'")?;
            case_sensitive = match kind.text.as_str() {
                "case_sensitive" => true,
                "case_insensitive" | "default" => false,
                _ => {
                    return Err(KqlError::syntax(
                        kind.span,
                        "Syntax error: the search kind is 'default', 'case_insensitive' or 'case_sensitive'",
                    ));
                }
            };
        }
        let mut tables = None;
        if self.at_word("in") && matches!(self.peek_at(1).kind, TokenKind::LeftParen) {
            let token = self.advance();
            if !at_start {
                return Err(KqlError::syntax(
                    token.span,
                    "Syntax error: a search after '|' searches its input; 'in (...)' is for a search that starts a query",
                ));
            }
            self.advance();
            tables = Some(self.table_list()?);
            self.expect(&TokenKind::RightParen, "')' after the tables to search")?;
        }
        let outer = std::mem::replace(&mut self.in_search, true);
        let predicate = self.expr();
        self.in_search = outer;
        Ok((search_terms(predicate?, case_sensitive), tables))
    }

    /// `top-nested [N] of [Name =] Expr [with others = Value] by [Name =] Aggregation [asc | desc], top-nested ...`
    fn top_nested(&mut self, first: Span) -> PResult<OperatorKind> {
        let mut clauses = Vec::new();
        let mut start = first;
        loop {
            let count = if self.at_word("of") { None } else { Some(self.expr()?) };
            self.expect_word("of")?;
            let names = self.assignment_target().into_iter().collect();
            let of = Assignment { names, expr: self.expr()? };
            let others = if self.at_word("with") && self.word_at(1) == Some("others") {
                self.advance();
                self.advance();
                self.expect(&TokenKind::Assign, "'=' after 'with others'")?;
                Some(self.expr()?)
            } else {
                None
            };
            self.expect_word("by")?;
            let names = self.assignment_target().into_iter().collect();
            let by = Assignment { names, expr: self.expr()? };
            let ascending = if self.eat_word("asc") {
                true
            } else {
                self.eat_word("desc");
                false
            };
            clauses.push(TopNestedClause { count, of, others, by, ascending, span: self.span_from(start) });
            if !(self.at(&TokenKind::Comma) && self.word_at(1) == Some("top-nested")) {
                return Ok(OperatorKind::TopNested(clauses));
            }
            self.advance();
            start = self.advance().span;
        }
    }

    /// `partition [hint.strategy=S] [hint.x=v ...] by Column (operators)`; the legacy form with its own
    /// source in braces (`{ T | where x == toscalar(Column) }`) is beyond the local engine.
    fn partition(&mut self) -> PResult<OperatorKind> {
        let mut legacy = true;
        while self.at_word("hint") && matches!(self.peek_at(1).kind, TokenKind::Dot) {
            let is_strategy = self.word_at(2) == Some("strategy");
            self.advance();
            self.advance();
            self.advance();
            if self.eat(&TokenKind::Assign) {
                let value = self.advance();
                if is_strategy {
                    legacy = !matches!(self.text_of(&value), "native" | "shuffle");
                }
            }
        }
        self.expect_word("by")?;
        let by = self.name("the column to partition by")?;
        if self.at(&TokenKind::LeftBrace) {
            return Err(KqlError::unsupported(
                self.peek().span,
                "'partition' with a subquery of its own source ({ ... }) is not supported by the local engine",
            ));
        }
        let subquery = self.implicit_subquery("partition")?;
        Ok(OperatorKind::Partition { by, legacy, subquery })
    }

    /// `(operator | operator ...)`: a subquery whose source is implicit (`partition`, `mv-apply`), counted as a
    /// level of nesting.
    fn implicit_subquery(&mut self, owner: &str) -> PResult<Vec<Operator>> {
        self.expect(&TokenKind::LeftParen, &format!("'(' before the subquery of {owner}"))?;
        self.enter()?;
        let mut subquery = vec![self.operator()?];
        while self.eat(&TokenKind::Pipe) {
            subquery.push(self.operator()?);
        }
        self.leave();
        self.expect(&TokenKind::RightParen, &format!("')' after the subquery of {owner}"))?;
        Ok(subquery)
    }

    /// `mv-apply [with_itemindex=I] [Name =] Array [to typeof(T)], ... [limit N] on (operators)`.
    fn mv_apply(&mut self) -> PResult<OperatorKind> {
        let OperatorKind::MvExpand { items, item_index, limit, .. } = self.mv_expand()? else {
            return Err(self.unexpected("the columns to expand"));
        };
        self.expect_word("on")?;
        let subquery = self.implicit_subquery("mv-apply")?;
        Ok(OperatorKind::MvApply { items, item_index, limit, subquery })
    }

    fn mv_expand(&mut self) -> PResult<OperatorKind> {
        let mut item_index = None;
        let mut bag_expansion_array = false;
        loop {
            match (self.word_at(0), &self.peek_at(1).kind) {
                (Some("bagexpansion" | "kind"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    let kind = self.name("'bag' or 'array'")?;
                    bag_expansion_array = kind.text == "array";
                }
                (Some("with_itemindex"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    item_index = Some(self.name("a column name")?);
                }
                _ => break,
            }
        }
        let mut items = Vec::new();
        loop {
            let name = self.assignment_target();
            let expr = self.expr()?;
            let to_type = if self.eat_word("to") {
                self.expect_word("typeof")?;
                self.expect(&TokenKind::LeftParen, "'('")?;
                let ty = self.type_name()?;
                self.expect(&TokenKind::RightParen, "')'")?;
                Some(ty)
            } else {
                None
            };
            items.push(MvExpandItem { name, expr, to_type });
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        let limit = if self.eat_word("limit") { Some(self.expr()?) } else { None };
        Ok(OperatorKind::MvExpand { items, item_index, bag_expansion_array, limit })
    }

    fn parse_operator(&mut self, keep_only_matches: bool) -> PResult<OperatorKind> {
        let mut kind = ParseKind::Simple;
        let mut flags = String::new();
        loop {
            match (self.word_at(0), &self.peek_at(1).kind) {
                (Some("kind"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    let name = self.name("'simple', 'regex' or 'relaxed'")?;
                    kind = match name.text.as_str() {
                        "simple" => ParseKind::Simple,
                        "regex" => ParseKind::Regex,
                        "relaxed" => ParseKind::Relaxed,
                        _ => {
                            return Err(KqlError::syntax(
                                name.span,
                                "Syntax error: parse kind is 'simple', 'regex' or 'relaxed'",
                            ));
                        }
                    };
                }
                (Some("flags"), TokenKind::Assign) => {
                    self.advance();
                    self.advance();
                    let token = self.advance();
                    flags = self.text_of(&token).to_string();
                    if !flags.chars().all(|c| matches!(c, 'U' | 'i' | 'm' | 's')) {
                        return Err(KqlError::syntax(token.span, "Syntax error: parse flags are U, i, m and s"));
                    }
                }
                _ => break,
            }
        }
        let source = self.expr()?;
        self.expect_word("with")?;
        let mut pattern = Vec::new();
        loop {
            let token = self.peek().clone();
            match &token.kind {
                TokenKind::Star => {
                    self.advance();
                    pattern.push(ParsePart::Star(token.span));
                }
                TokenKind::String(text) => {
                    self.advance();
                    pattern.push(ParsePart::Literal(text.clone(), token.span));
                }
                TokenKind::Ident | TokenKind::LeftBracket => {
                    let name = self.name("a column name")?;
                    let ty = if self.eat(&TokenKind::Colon) { Some(self.type_name()?) } else { None };
                    pattern.push(ParsePart::Column { name, ty });
                }
                _ => break,
            }
        }
        if pattern.is_empty() {
            return Err(self.unexpected("a parse pattern after 'with'"));
        }
        Ok(OperatorKind::Parse { kind, flags, source, pattern, keep_only_matches })
    }

    /// `Name =` before an expression (consumed when present).
    fn assignment_target(&mut self) -> Option<Name> {
        let is_target = matches!(self.peek().kind, TokenKind::Ident)
            && matches!(self.peek_at(1).kind, TokenKind::Assign)
            || matches!(self.peek().kind, TokenKind::LeftBracket)
                && matches!(self.peek_at(1).kind, TokenKind::String(_))
                && matches!(self.peek_at(2).kind, TokenKind::RightBracket)
                && matches!(self.peek_at(3).kind, TokenKind::Assign);
        if !is_target {
            return None;
        }
        let name = self.name("a column name").ok()?;
        self.advance();
        Some(name)
    }

    /// `A = expr, expr, (B, C) = expr`
    pub(super) fn assignments(&mut self) -> PResult<Vec<Assignment>> {
        let mut assignments = Vec::new();
        loop {
            let names = if self.at(&TokenKind::LeftParen) && self.at_tuple_target() {
                self.advance();
                let mut names = Vec::new();
                loop {
                    names.push(self.name("a column name")?);
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(&TokenKind::RightParen, "')'")?;
                self.expect(&TokenKind::Assign, "'='")?;
                names
            } else {
                self.assignment_target().into_iter().collect()
            };
            let expr = self.expr()?;
            assignments.push(Assignment { names, expr });
            if !self.eat(&TokenKind::Comma) {
                return Ok(assignments);
            }
        }
    }

    /// `(A, B) =`: a parenthesized list of names followed by `=`.
    fn at_tuple_target(&self) -> bool {
        let mut offset = 1;
        loop {
            if !matches!(self.peek_at(offset).kind, TokenKind::Ident) {
                return false;
            }
            match self.peek_at(offset + 1).kind {
                TokenKind::Comma => offset += 2,
                TokenKind::RightParen => return matches!(self.peek_at(offset + 2).kind, TokenKind::Assign),
                _ => return false,
            }
        }
    }

    fn expr_list(&mut self) -> PResult<Vec<Expr>> {
        let mut list = Vec::new();
        loop {
            list.push(self.expr()?);
            if !self.eat(&TokenKind::Comma) {
                return Ok(list);
            }
        }
    }

    fn sort_keys(&mut self) -> PResult<Vec<SortKey>> {
        let mut keys = Vec::new();
        loop {
            let expr = self.expr()?;
            let descending = if self.eat_word("asc") {
                false
            } else {
                self.eat_word("desc");
                true
            };
            let nulls_first = if self.eat_word("nulls") {
                if self.eat_word("first") {
                    Some(true)
                } else {
                    self.expect_word("last")?;
                    Some(false)
                }
            } else {
                None
            };
            keys.push(SortKey { expr, descending, nulls_first });
            if !self.eat(&TokenKind::Comma) {
                return Ok(keys);
            }
        }
    }

    /// A column name with optional `*` wildcards: `Acc*`, `*Name`, `*`.
    fn name_pattern(&mut self) -> PResult<NamePattern> {
        let start = self.peek().span;
        let mut text = String::new();
        let mut end = start;
        loop {
            let token = self.peek().clone();
            let adjacent = text.is_empty() || token.span.start == end.end;
            if !adjacent {
                break;
            }
            match &token.kind {
                TokenKind::Star => text.push('*'),
                TokenKind::Ident => text.push_str(self.text_of(&token)),
                TokenKind::LeftBracket => match self.bracketed_name() {
                    Some(name) => {
                        text.push_str(&name.text);
                        end = name.span;
                        continue;
                    }
                    None => break,
                },
                _ => break,
            }
            end = token.span;
            self.advance();
        }
        if text.is_empty() {
            return Err(self.unexpected("a column name"));
        }
        Ok(NamePattern { text, span: Span::new(start.start, end.end) })
    }

    fn name_patterns(&mut self) -> PResult<Vec<NamePattern>> {
        let mut patterns = Vec::new();
        loop {
            patterns.push(self.name_pattern()?);
            if !self.eat(&TokenKind::Comma) {
                return Ok(patterns);
            }
        }
    }

    fn reorder_patterns(&mut self) -> PResult<Vec<(NamePattern, Option<bool>)>> {
        let mut patterns = Vec::new();
        loop {
            let pattern = self.name_pattern()?;
            let order = match self.word_at(0) {
                Some("asc" | "granny-asc") => Some(false),
                Some("desc" | "granny-desc") => Some(true),
                _ => None,
            };
            if order.is_some() {
                self.advance();
            }
            patterns.push((pattern, order));
            if !self.eat(&TokenKind::Comma) {
                return Ok(patterns);
            }
        }
    }

    fn renames(&mut self) -> PResult<Vec<(Name, Name)>> {
        let mut renames = Vec::new();
        loop {
            let new = self.name("the new column name")?;
            self.expect(&TokenKind::Assign, "'=' after the new name")?;
            let old = self.name("the column to rename")?;
            renames.push((new, old));
            if !self.eat(&TokenKind::Comma) {
                return Ok(renames);
            }
        }
    }

    pub(super) fn datatable(&mut self) -> PResult<Source> {
        let start = self.advance().span;
        let columns = self.declared_columns("'(' after 'datatable'")?;
        let values = self.bracketed("'[' and the values", "']' after the values")?;
        Ok(Source::Datatable { columns, values, span: self.span_from(start) })
    }

    /// `(Name: type, ...)`, as `datatable` and `externaldata` declare their columns.
    fn declared_columns(&mut self, opening: &str) -> PResult<Vec<(Name, Type)>> {
        self.expect(&TokenKind::LeftParen, opening)?;
        let mut columns = Vec::new();
        loop {
            let name = self.name("a column name")?;
            self.expect(&TokenKind::Colon, "':' and the column's type")?;
            let ty = self.type_name()?;
            columns.push((name, ty));
            // A comma may end the list (Kusto reads `(a: string, b: string,)`).
            if !self.eat(&TokenKind::Comma) || self.at(&TokenKind::RightParen) {
                break;
            }
        }
        self.expect(&TokenKind::RightParen, "')' after the columns")?;
        Ok(columns)
    }

    /// `[expr, ...]`.
    fn bracketed(&mut self, opening: &str, closing: &str) -> PResult<Vec<Expr>> {
        self.expect(&TokenKind::LeftBracket, opening)?;
        let mut items = Vec::new();
        while !self.at(&TokenKind::RightBracket) {
            items.push(self.expr()?);
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RightBracket, closing)?;
        Ok(items)
    }

    /// `externaldata(Name: type, ...) [uri, ...] [with (property = value, ...)]`. The properties (format,
    /// ignoreFirstRecord, ...) only say how to read what is fetched: they are read past.
    pub(super) fn externaldata(&mut self) -> PResult<Source> {
        let start = self.advance().span;
        let columns = self.declared_columns("'(' after 'externaldata'")?;
        let uris = self.bracketed("'[' and the address of the data", "']' after the addresses")?;
        if self.eat_word("with") {
            self.expect(&TokenKind::LeftParen, "'(' after 'with'")?;
            let mut depth = 1usize;
            while depth > 0 {
                match self.peek().kind {
                    TokenKind::LeftParen => depth += 1,
                    TokenKind::RightParen => depth -= 1,
                    TokenKind::Eof => {
                        self.expect(&TokenKind::RightParen, "')' after the properties")?;
                    }
                    _ => {}
                }
                self.advance();
            }
        }
        Ok(Source::ExternalData { columns, uris, span: self.span_from(start) })
    }

    /// A plugin's output schema after `:`: `(*, Name: type, ...)`.
    fn output_schema(&mut self) -> PResult<super::super::ast::OutputSchema> {
        let start = self.expect(&TokenKind::LeftParen, "'(' and the output columns after ':'")?.span;
        let mut star = false;
        let mut columns = Vec::new();
        if self.eat(&TokenKind::Star) {
            star = true;
            self.eat(&TokenKind::Comma);
        }
        while !self.at(&TokenKind::RightParen) {
            let name = self.name("a column name")?;
            self.expect(&TokenKind::Colon, "':' and the column's type")?;
            let ty = self.type_name()?;
            columns.push((name, ty));
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RightParen, "')' after the output columns")?;
        Ok(super::super::ast::OutputSchema { star, columns, span: self.span_from(start) })
    }

    pub(super) fn print(&mut self) -> PResult<Source> {
        self.advance();
        Ok(Source::Print(self.assignments()?))
    }

    pub(super) fn range(&mut self) -> PResult<Source> {
        self.advance();
        let column = self.name("a column name after 'range'")?;
        self.expect_word("from")?;
        let from = self.expr()?;
        self.expect_word("to")?;
        let to = self.expr()?;
        self.expect_word("step")?;
        let step = self.expr()?;
        Ok(Source::Range { column, from, to, step })
    }
}

/// `Column:"term"` in a search predicate: the term tested in that column, as a bare term is in every column.
pub(super) fn column_term(column: Expr, term: &str, span: Span) -> Expr {
    term_test(column, term, span, false)
}

/// The test a search term stands for, by where its `*` wildcards are.
fn term_test(target: Expr, term: &str, span: Span, case_sensitive: bool) -> Expr {
    let string =
        |text: &str| Expr { kind: ExprKind::Literal { value: Value::String(Str::from(text)), ty: Type::String }, span };
    let test = |test: StringTest, text: &str| Expr {
        kind: ExprKind::Binary {
            operator: BinaryOperator::String(StringOperator { test, negated: false, case_sensitive }),
            left: Box::new(target.clone()),
            right: Box::new(string(text)),
        },
        span,
    };
    let inner = term.trim_matches('*');
    if inner.is_empty() {
        return Expr { kind: ExprKind::Literal { value: Value::Bool(true), ty: Type::Bool }, span };
    }
    if inner.contains('*') {
        // `"Lab*PC"` is `matches regex @"\bLab.*PC\b"`.
        let parts: Vec<String> = term.split('*').map(regex::escape).collect();
        let flags = if case_sensitive { "" } else { "(?i)" };
        let pattern = format!(r"{flags}\b{}\b", parts.join(".*"));
        return Expr {
            kind: ExprKind::Binary {
                operator: BinaryOperator::MatchesRegex,
                left: Box::new(target),
                right: Box::new(string(&pattern)),
            },
            span,
        };
    }
    match (term.starts_with('*'), term.ends_with('*')) {
        (true, true) => test(StringTest::Contains, inner),
        (false, true) => test(StringTest::HasPrefix, inner),
        (true, false) => test(StringTest::HasSuffix, inner),
        (false, false) => test(StringTest::Has, inner),
    }
}

/// A search predicate with its bare terms (a string, or `*`, where a condition stands) made tests of every
/// column: `*` on the left of the test, which the checker spreads over the columns.
fn search_terms(expr: Expr, case_sensitive: bool) -> Expr {
    let span = expr.span;
    match expr.kind {
        ExprKind::Literal { value: Value::String(term), .. } => {
            term_test(Expr { kind: ExprKind::Star, span }, &term, span, case_sensitive)
        }
        ExprKind::Star => Expr { kind: ExprKind::Literal { value: Value::Bool(true), ty: Type::Bool }, span },
        ExprKind::Binary { operator: operator @ (BinaryOperator::And | BinaryOperator::Or), left, right } => Expr {
            kind: ExprKind::Binary {
                operator,
                left: Box::new(search_terms(*left, case_sensitive)),
                right: Box::new(search_terms(*right, case_sensitive)),
            },
            span,
        },
        ExprKind::Call { function, arguments } if function.text == "not" && arguments.len() == 1 => {
            let arguments = arguments.into_iter().map(|a| search_terms(a, case_sensitive)).collect();
            Expr { kind: ExprKind::Call { function, arguments }, span }
        }
        // `kind=case_sensitive` makes every string test of the predicate case-sensitive.
        ExprKind::Binary { operator: BinaryOperator::String(mut test), left, right } => {
            test.case_sensitive |= case_sensitive;
            Expr { kind: ExprKind::Binary { operator: BinaryOperator::String(test), left, right }, span }
        }
        kind => Expr { kind, span },
    }
}
