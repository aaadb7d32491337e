//! A hand-written recursive-descent parser from tokens to the AST. It collects errors instead of stopping at
//! the first: after a bad operator it skips to the next `|` (or `;`) and goes on, so one run of `validate`
//! reports every problem. Nesting is bounded (`MAX_DEPTH`), so no input can overflow the stack.

mod expr;
pub mod operators;

use super::ast::{
    Expr, ExprKind, Function, Let, LetValue, Name, NamePattern, Operator, OperatorKind, Parameter, Pipeline, Query,
    Source, Union, UnionTable,
};
use super::error::{KqlError, KqlErrors};
use super::lexer::{Token, TokenKind, lex};
use super::span::Span;
use super::types::Type;

/// How deeply expressions and pipelines may nest. Far beyond what anyone writes; small enough that the
/// recursive parser, checker and evaluator stay well inside a thread's stack.
pub const MAX_DEPTH: usize = 64;

type PResult<T> = Result<T, KqlError>;

/// Parses a whole query: `let` statements and a tabular expression.
pub fn parse_query(text: &str) -> Result<Query, KqlErrors> {
    let mut parser = Parser::new(text);
    let query = parser.query();
    parser.finish(query)
}

/// The `render` that ends a query (see `crate::visualization::visualization`): found from the tokens alone, so
/// that a query the engine cannot parse still has one.
pub fn parse_visualization(text: &str) -> Option<crate::visualization::Visualization> {
    let mut parser = Parser::new(text);
    let mut depth = 0usize;
    let mut last_pipe = None;
    for (index, token) in parser.tokens.iter().enumerate() {
        match token.kind {
            TokenKind::LeftParen | TokenKind::LeftBracket | TokenKind::LeftBrace => depth += 1,
            TokenKind::RightParen | TokenKind::RightBracket | TokenKind::RightBrace => depth = depth.saturating_sub(1),
            TokenKind::Pipe if depth == 0 => last_pipe = Some(index),
            _ => {}
        }
    }
    parser.position = last_pipe? + 1;
    if !parser.at_word("render") {
        return None;
    }
    let keyword = parser.advance();
    let visualization = parser.render_arguments(keyword.span);
    while parser.eat(&TokenKind::Semicolon) {}
    parser.at(&TokenKind::Eof).then_some(visualization)
}

/// Parses a single scalar expression (a playbook's `when:` condition).
pub fn parse_expression(text: &str) -> Result<Expr, KqlErrors> {
    let mut parser = Parser::new(text);
    let result = parser.expr().and_then(|expr| {
        if parser.at(&TokenKind::Eof) { Ok(expr) } else { Err(parser.unexpected("the end of the expression")) }
    });
    match result {
        Ok(expr) => parser.finish(expr),
        Err(error) => {
            parser.errors.push(error);
            Err(parser.into_errors())
        }
    }
}

pub(super) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    position: usize,
    errors: Vec<KqlError>,
    depth: usize,
    /// How many pipelines enclose the current point; only the outermost recovers from a bad operator.
    pipeline_depth: usize,
    /// In the predicate of `search`, where `Column:"term"` is a term test of one column.
    in_search: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let lexed = lex(text);
        Parser {
            text,
            tokens: lexed.tokens,
            position: 0,
            errors: lexed.errors,
            depth: 0,
            pipeline_depth: 0,
            in_search: false,
        }
    }

    fn finish<T>(self, value: T) -> Result<T, KqlErrors> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.into_errors()) }
    }

    fn into_errors(mut self) -> KqlErrors {
        self.errors.sort_by_key(|e| (e.span.start, e.span.end));
        self.errors.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        KqlErrors(self.errors)
    }

    // ----- token access -------------------------------------------------------------------------------

    fn peek(&self) -> &Token {
        &self.tokens[self.position.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, offset: usize) -> &Token {
        &self.tokens[(self.position + offset).min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::Eof {
            self.position += 1;
        }
        token
    }

    fn at(&self, kind: &TokenKind) -> bool {
        &self.peek().kind == kind
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.at(kind) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn text_of(&self, token: &Token) -> &'a str {
        &self.text[token.span.start..token.span.end]
    }

    /// Whether the next token is the identifier (or operator word) `word`. KQL words are case-sensitive.
    fn at_word(&self, word: &str) -> bool {
        self.word_at(0) == Some(word)
    }

    fn word_at(&self, offset: usize) -> Option<&'a str> {
        let token = self.peek_at(offset);
        matches!(token.kind, TokenKind::Ident | TokenKind::Word).then(|| self.text_of(token))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.at_word(word) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn describe(&self, token: &Token) -> String {
        match token.kind {
            TokenKind::Eof => "the end of the query".to_string(),
            _ => format!("'{}'", self.text_of(token)),
        }
    }

    /// "expected X, found Y" at the next token; at the end of the query, just after the last token (so the
    /// caret points at the line that is missing something, not at an empty line).
    fn unexpected(&self, expected: &str) -> KqlError {
        let token = self.peek();
        let span = match (&token.kind, self.position.checked_sub(1).and_then(|p| self.tokens.get(p))) {
            (TokenKind::Eof, Some(previous)) => Span::new(previous.span.end, previous.span.end),
            _ => token.span,
        };
        KqlError::syntax(span, format!("Syntax error: expected {expected}, found {}", self.describe(token)))
    }

    fn expect(&mut self, kind: &TokenKind, expected: &str) -> PResult<Token> {
        if self.at(kind) { Ok(self.advance()) } else { Err(self.unexpected(expected)) }
    }

    fn expect_word(&mut self, word: &str) -> PResult<Token> {
        if self.at_word(word) { Ok(self.advance()) } else { Err(self.unexpected(&format!("'{word}'"))) }
    }

    /// A name: an identifier, or a bracketed `['Column Name']`.
    fn name(&mut self, expected: &str) -> PResult<Name> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Ident => {
                self.advance();
                Ok(Name { text: self.text_of(&token).to_string(), span: token.span })
            }
            TokenKind::LeftBracket => self.bracketed_name().ok_or_else(|| self.unexpected(expected)),
            _ => Err(self.unexpected(expected)),
        }
    }

    /// `['name']` or `["name"]`; `None` (consuming nothing) if the tokens are not that.
    fn bracketed_name(&mut self) -> Option<Name> {
        let (open, content, close) = (self.peek_at(0), self.peek_at(1), self.peek_at(2));
        match (&open.kind, &content.kind, &close.kind) {
            (TokenKind::LeftBracket, TokenKind::String(text), TokenKind::RightBracket) => {
                let name = Name { text: text.clone(), span: open.span.to(close.span) };
                self.position += 3;
                Some(name)
            }
            _ => None,
        }
    }

    fn span_from(&self, start: Span) -> Span {
        let end = if self.position == 0 { start.end } else { self.tokens[self.position - 1].span.end };
        Span::new(start.start, end.max(start.end))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            // A limit of this engine, not of KQL: the query may well run in Kusto.
            return Err(KqlError::unsupported(
                self.peek().span,
                format!("the query is nested too deeply for the local engine (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    /// One more link of a chain that nests (`a + b + c`, `x.a.b`, `a == b == c`), counted like a level of
    /// nesting; `token` is the link's operator.
    fn enter_link(&mut self, token: &Token) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let operator = self.text_of(token).to_string();
            return Err(KqlError::unsupported(
                token.span,
                format!("the expression is nested too deeply for the local engine (more than {MAX_DEPTH} levels)"),
            )
            .with_hint(format!(
                "each '{operator}' of a chain such as `a {operator} b {operator} c` counts as a level"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Skips to the next `|` or `;` outside brackets opened while skipping, after a syntax error.
    fn recover(&mut self) {
        let mut nesting = 0usize;
        loop {
            match self.peek().kind {
                TokenKind::Eof => return,
                TokenKind::Pipe | TokenKind::Semicolon if nesting == 0 => return,
                TokenKind::LeftParen | TokenKind::LeftBracket | TokenKind::LeftBrace => nesting += 1,
                TokenKind::RightParen | TokenKind::RightBracket | TokenKind::RightBrace => {
                    if nesting == 0 && self.pipeline_depth <= 1 {
                        // An unmatched closer at the top level: skip it, it is part of the error.
                    } else if nesting == 0 {
                        return;
                    } else {
                        nesting -= 1;
                    }
                }
                _ => {}
            }
            self.advance();
        }
    }

    // ----- statements ---------------------------------------------------------------------------------

    fn query(&mut self) -> Query {
        let start = self.peek().span;
        let mut statements = Vec::new();
        let mut body: Option<Expr> = None;
        loop {
            while self.eat(&TokenKind::Semicolon) {}
            if self.at(&TokenKind::Eof) {
                break;
            }
            if self.at_word("let") {
                match self.let_statement() {
                    Ok(statement) => statements.push(statement),
                    Err(error) => {
                        self.errors.push(error);
                        self.skip_statement();
                    }
                }
            } else if self.at_word("set") && matches!(self.peek_at(1).kind, TokenKind::Ident) {
                // Request options (`set notruncation;`) change nothing locally.
                self.skip_statement();
            } else {
                match self.tabular_or_expr() {
                    Ok(expr) => {
                        if let Some(previous) = &body {
                            self.errors.push(KqlError::unsupported(
                                expr.span,
                                format!(
                                    "only one tabular expression statement is supported; the query already has one at offset {}",
                                    previous.span.start
                                ),
                            ));
                        } else {
                            body = Some(expr);
                        }
                        if !self.at(&TokenKind::Eof) && !self.at(&TokenKind::Semicolon) {
                            let error = self.unexpected("'|', ';' or the end of the query");
                            self.errors.push(error);
                            self.skip_statement();
                        }
                    }
                    Err(error) => {
                        self.errors.push(error);
                        self.skip_statement();
                    }
                }
            }
        }
        Query { statements, body, span: self.span_from(start) }
    }

    fn skip_statement(&mut self) {
        while !self.at(&TokenKind::Eof) && !self.at(&TokenKind::Semicolon) {
            self.advance();
        }
    }

    fn let_statement(&mut self) -> PResult<Let> {
        let start = self.advance().span;
        let name = self.name("a name after 'let'")?;
        self.expect(&TokenKind::Assign, "'=' after the name of the let statement")?;
        // `view () { ... }` is a function without parameters that stands for a table.
        if self.at_word("view") && matches!(self.peek_at(1).kind, TokenKind::LeftParen) {
            self.advance();
        }
        let value = if self.at_function_definition() {
            LetValue::Function(self.function()?)
        } else {
            LetValue::Expr(self.tabular_or_expr()?)
        };
        if !self.at(&TokenKind::Semicolon) && !self.at(&TokenKind::Eof) {
            return Err(self.unexpected("';' after the let statement"));
        }
        Ok(Let { name, value, span: self.span_from(start) })
    }

    /// `(` `)` `{`, or `(` name `:` — the start of `(a: string) { ... }`.
    fn at_function_definition(&self) -> bool {
        if !self.at(&TokenKind::LeftParen) {
            return false;
        }
        matches!(
            (&self.peek_at(1).kind, &self.peek_at(2).kind),
            (TokenKind::RightParen, TokenKind::LeftBrace) | (TokenKind::Ident, TokenKind::Colon)
        )
    }

    fn function(&mut self) -> PResult<Function> {
        let start = self.expect(&TokenKind::LeftParen, "'('")?.span;
        let mut parameters = Vec::new();
        while !self.at(&TokenKind::RightParen) {
            let name = self.name("a parameter name")?;
            self.expect(&TokenKind::Colon, "':' and the parameter's type")?;
            let mut columns = Vec::new();
            let ty = if self.eat(&TokenKind::LeftParen) {
                // A tabular parameter: `T:(*)`, or the columns its argument must have: `T:(Col:string, ...)`.
                while !self.at(&TokenKind::RightParen) {
                    if !self.eat(&TokenKind::Star) {
                        let column = self.name("a column name")?;
                        self.expect(&TokenKind::Colon, "':' and the column's type")?;
                        columns.push((column, self.type_name()?));
                    }
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(&TokenKind::RightParen, "')' after the table's columns")?;
                None
            } else {
                Some(self.type_name()?)
            };
            let default = if self.eat(&TokenKind::Assign) { Some(self.expr()?) } else { None };
            parameters.push(Parameter { name, ty, default, columns });
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RightParen, "')' after the parameters")?;
        self.expect(&TokenKind::LeftBrace, "'{' and the function body")?;
        let mut statements = Vec::new();
        while self.at_word("let") {
            statements.push(self.let_statement()?);
            self.expect(&TokenKind::Semicolon, "';'")?;
        }
        let body = self.tabular_or_expr()?;
        self.eat(&TokenKind::Semicolon);
        self.expect(&TokenKind::RightBrace, "'}' at the end of the function body")?;
        Ok(Function { parameters, statements, body, span: self.span_from(start) })
    }

    /// A scalar type name (`string`, `long`, `datetime`, ...).
    fn type_name(&mut self) -> PResult<Type> {
        let token = self.peek().clone();
        let text = match token.kind {
            TokenKind::Ident => self.text_of(&token),
            _ => return Err(self.unexpected("a type name")),
        };
        let ty = match text {
            "bool" | "boolean" => Type::Bool,
            "int" => Type::Int,
            "long" => Type::Long,
            "real" | "double" => Type::Real,
            "decimal" => Type::Decimal,
            "string" => Type::String,
            "datetime" | "date" => Type::DateTime,
            "timespan" | "time" => Type::TimeSpan,
            "guid" | "uniqueid" => Type::Guid,
            "dynamic" => Type::Dynamic,
            _ => {
                return Err(KqlError::syntax(token.span, format!("Syntax error: '{text}' is not a type")).with_hint(
                    "the types are bool, int, long, real, decimal, string, datetime, timespan, guid, dynamic",
                ));
            }
        };
        self.advance();
        Ok(ty)
    }

    // ----- pipelines ----------------------------------------------------------------------------------

    /// A tabular expression (`T | where ...`, `datatable(...)`, `union ...`) or a scalar expression; pipelines
    /// come back as `ExprKind::Tabular`.
    fn tabular_or_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let result = self.tabular_or_expr_inner();
        self.leave();
        result
    }

    fn tabular_or_expr_inner(&mut self) -> PResult<Expr> {
        let start = self.peek().span;
        let source = match self.word_at(0) {
            Some("datatable") if matches!(self.peek_at(1).kind, TokenKind::LeftParen) => Some(self.datatable()?),
            Some("print") => Some(self.print()?),
            Some("range") if matches!(self.peek_at(2).kind, TokenKind::Ident) && self.word_at(2) == Some("from") => {
                Some(self.range()?)
            }
            Some("union") => {
                self.advance();
                Some(Source::Union(self.union_body()?))
            }
            Some("search") => {
                let keyword = self.advance();
                let (predicate, tables) = self.search_body(true)?;
                let span = self.span_from(keyword.span);
                let everything =
                    || vec![UnionTable::Pattern(NamePattern { text: "*".to_string(), span: keyword.span })];
                let union = Union {
                    inner: false,
                    fuzzy: false,
                    with_source: Some(Name { text: "$table".to_string(), span: keyword.span }),
                    tables: tables.unwrap_or_else(everything),
                };
                let search = Operator {
                    kind: OperatorKind::Search { predicate, piped: false },
                    keyword: Name { text: "search".to_string(), span: keyword.span },
                    span,
                };
                let mut pipeline = self.pipeline(Source::Union(union), start)?;
                pipeline.operators.insert(0, search);
                let span = pipeline.span;
                return Ok(Expr { kind: ExprKind::Tabular(Box::new(pipeline)), span });
            }
            Some("find") => {
                let keyword = self.advance();
                Some(Source::Find(Box::new(self.find_body(keyword.span)?)))
            }
            Some("externaldata") if matches!(self.peek_at(1).kind, TokenKind::LeftParen) => Some(self.externaldata()?),
            Some(word @ ("evaluate" | "externaldata" | "materialized_view" | "external_table")) => {
                let span = self.peek().span;
                return Err(KqlError::unsupported(span, format!("'{word}' is not supported by the local engine")));
            }
            _ => None,
        };
        let source = match source {
            Some(source) => source,
            None => {
                let expr = self.expr()?;
                if !self.at(&TokenKind::Pipe) {
                    return Ok(expr);
                }
                Source::Expr(expr)
            }
        };
        let pipeline = self.pipeline(source, start)?;
        let span = pipeline.span;
        Ok(Expr { kind: ExprKind::Tabular(Box::new(pipeline)), span })
    }

    fn pipeline(&mut self, source: Source, start: Span) -> PResult<Pipeline> {
        self.pipeline_depth += 1;
        let result = self.pipeline_operators(source, start);
        self.pipeline_depth -= 1;
        result
    }

    fn pipeline_operators(&mut self, source: Source, start: Span) -> PResult<Pipeline> {
        let mut operators = Vec::new();
        while self.eat(&TokenKind::Pipe) {
            match self.operator() {
                Ok(operator) => operators.push(operator),
                Err(error) if self.pipeline_depth <= 1 => {
                    self.errors.push(error);
                    self.recover();
                }
                Err(error) => return Err(error),
            }
        }
        Ok(Pipeline { source, operators, span: self.span_from(start) })
    }
}

#[cfg(test)]
mod tests;
