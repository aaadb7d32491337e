//! Scalar expressions, by precedence from loosest to tightest: `or`, `and`, comparisons and string
//! operators, `+ -`, `* / %`, unary minus, then member access, indexing and calls.

use std::sync::Arc;

use super::super::ast::{BinaryOperator, Expr, ExprKind, Name, StringOperator, StringTest};
use super::super::datetime::{parse_datetime, parse_timespan};
use super::super::error::KqlError;
use super::super::lexer::TokenKind;
use super::super::span::Span;
use super::super::types::Type;
use super::super::value::{Dyn, Str, Value};
use super::{PResult, Parser};

fn literal(value: Value, ty: Type, span: Span) -> Expr {
    Expr { kind: ExprKind::Literal { value, ty }, span }
}

fn binary(operator: BinaryOperator, left: Expr, right: Expr) -> Expr {
    let span = left.span.to(right.span);
    Expr { kind: ExprKind::Binary { operator, left: Box::new(left), right: Box::new(right) }, span }
}

/// `a or b or c or …` as a balanced tree, so that thousands of clauses nest only a few levels (a left-leaning
/// tree of 4,500 `or`s overflowed the stack of every recursive pass). `and` and `or` are associative in Kusto's
/// logic with nulls, and evaluating them has no side effects, so the grouping changes no answer.
fn balanced(operator: BinaryOperator, mut operands: Vec<Expr>) -> Expr {
    if operands.len() == 1 {
        return operands.pop().expect("one operand");
    }
    let right = operands.split_off(operands.len() / 2);
    binary(operator, balanced(operator, operands), balanced(operator, right))
}

/// The string operator a word names (`contains`, `!has_cs`, ... and the older `containscs`, `notcontains`,
/// `notcontainscs`).
fn string_operator(word: &str) -> Option<StringOperator> {
    let legacy = |negated, case_sensitive| Some(StringOperator { test: StringTest::Contains, negated, case_sensitive });
    match word {
        "containscs" => return legacy(false, true),
        "notcontains" => return legacy(true, false),
        "notcontainscs" => return legacy(true, true),
        _ => {}
    }
    let (negated, word) = match word.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let (case_sensitive, base) = match word.strip_suffix("_cs") {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let test = match base {
        "contains" => StringTest::Contains,
        "has" => StringTest::Has,
        "hasprefix" => StringTest::HasPrefix,
        "hassuffix" => StringTest::HasSuffix,
        "startswith" => StringTest::StartsWith,
        "endswith" => StringTest::EndsWith,
        _ => return None,
    };
    Some(StringOperator { test, negated, case_sensitive })
}

impl Parser<'_> {
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let result = self.or();
        self.leave();
        result
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut operands = vec![self.and()?];
        while self.eat_word("or") {
            operands.push(self.and()?);
        }
        Ok(balanced(BinaryOperator::Or, operands))
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut operands = vec![self.comparison()?];
        while self.eat_word("and") {
            operands.push(self.comparison()?);
        }
        Ok(balanced(BinaryOperator::And, operands))
    }

    /// Runs `parse`, which may `enter` once per link of a chain it builds (`a + b + c`, `x.a.b`), and leaves
    /// as many levels as it entered, however it ends.
    fn chain(&mut self, parse: impl FnOnce(&mut Self) -> PResult<Expr>) -> PResult<Expr> {
        let depth = self.depth;
        let result = parse(self);
        self.depth = depth;
        result
    }

    /// Comparisons, string operators, `in`, `between`: a chain of them (`a == b == c`) nests one level per link.
    fn comparison(&mut self) -> PResult<Expr> {
        self.chain(Self::comparison_chain)
    }

    fn comparison_chain(&mut self) -> PResult<Expr> {
        let mut left = self.additive()?;
        loop {
            let token = self.peek().clone();
            let symbol = match token.kind {
                TokenKind::Equal => Some(BinaryOperator::Equal),
                TokenKind::NotEqual => Some(BinaryOperator::NotEqual),
                TokenKind::EqualTilde => Some(BinaryOperator::EqualIgnoreCase),
                TokenKind::BangTilde => Some(BinaryOperator::NotEqualIgnoreCase),
                TokenKind::Less => Some(BinaryOperator::Less),
                TokenKind::LessEqual => Some(BinaryOperator::LessEqual),
                TokenKind::Greater => Some(BinaryOperator::Greater),
                TokenKind::GreaterEqual => Some(BinaryOperator::GreaterEqual),
                _ => None,
            };
            if let Some(operator) = symbol {
                self.enter_link(&token)?;
                self.advance();
                let right = self.additive()?;
                left = binary(operator, left, right);
                continue;
            }
            let Some(word) = self.word_at(0) else { break };
            if let Some(operator) = string_operator(word) {
                self.enter_link(&token)?;
                self.advance();
                let right = self.additive()?;
                left = binary(BinaryOperator::String(operator), left, right);
                continue;
            }
            match word {
                "in" | "in~" | "!in" | "!in~" => {
                    self.enter_link(&token)?;
                    self.advance();
                    let list = self.in_list()?;
                    let span = left.span.to(self.span_from(token.span));
                    left = Expr {
                        kind: ExprKind::In {
                            target: Box::new(left),
                            list,
                            negated: word.starts_with('!'),
                            ignore_case: word.ends_with('~'),
                        },
                        span,
                    };
                }
                "has_any" | "has_all" => {
                    self.enter_link(&token)?;
                    self.advance();
                    let list = self.in_list()?;
                    let span = left.span.to(self.span_from(token.span));
                    left =
                        Expr { kind: ExprKind::HasAny { target: Box::new(left), list, all: word == "has_all" }, span };
                }
                "between" | "!between" => {
                    self.enter_link(&token)?;
                    self.advance();
                    self.expect(&TokenKind::LeftParen, "'(' after 'between'")?;
                    let low = self.additive()?;
                    self.expect(&TokenKind::DotDot, "'..' between the bounds")?;
                    let high = self.additive()?;
                    self.expect(&TokenKind::RightParen, "')' after the bounds")?;
                    let span = left.span.to(self.span_from(token.span));
                    left = Expr {
                        kind: ExprKind::Between {
                            target: Box::new(left),
                            low: Box::new(low),
                            high: Box::new(high),
                            negated: word.starts_with('!'),
                        },
                        span,
                    };
                }
                "matches" | "!matches" => {
                    self.enter_link(&token)?;
                    self.advance();
                    self.expect_word("regex")?;
                    let right = self.additive()?;
                    let negated = word.starts_with('!');
                    let matched = binary(BinaryOperator::MatchesRegex, left, right);
                    left = if negated { self.negate_bool(matched) } else { matched };
                }
                _ => break,
            }
        }
        Ok(left)
    }

    /// `not(expr)`, for the negated form of an operator that has no negated evaluator.
    fn negate_bool(&self, expr: Expr) -> Expr {
        let span = expr.span;
        Expr { kind: ExprKind::Call { function: Name { text: "not".into(), span }, arguments: vec![expr] }, span }
    }

    /// `(a, b, c)` after `in` or `has_any`; elements may be dynamic arrays or a subquery. A bare name is
    /// accepted too (`x in list`).
    fn in_list(&mut self) -> PResult<Vec<Expr>> {
        if !self.eat(&TokenKind::LeftParen) {
            return Ok(vec![self.postfix()?]);
        }
        let mut list = Vec::new();
        if !self.at(&TokenKind::RightParen) {
            loop {
                list.push(self.tabular_or_expr()?);
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
        }
        self.expect(&TokenKind::RightParen, "')' after the list")?;
        Ok(list)
    }

    /// `a + b - c`: left to right, as Kusto computes it (a sum of reals is not regrouped: rounding would
    /// differ), so each link nests one level.
    fn additive(&mut self) -> PResult<Expr> {
        self.chain(Self::additive_chain)
    }

    fn additive_chain(&mut self) -> PResult<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let operator = match self.peek().kind {
                TokenKind::Plus => BinaryOperator::Add,
                TokenKind::Minus => BinaryOperator::Subtract,
                _ => break,
            };
            let token = self.peek().clone();
            self.enter_link(&token)?;
            self.advance();
            let right = self.multiplicative()?;
            left = binary(operator, left, right);
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        self.chain(Self::multiplicative_chain)
    }

    fn multiplicative_chain(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            let operator = match self.peek().kind {
                TokenKind::Star => BinaryOperator::Multiply,
                TokenKind::Slash => BinaryOperator::Divide,
                TokenKind::Percent => BinaryOperator::Modulo,
                _ => break,
            };
            let token = self.peek().clone();
            self.enter_link(&token)?;
            self.advance();
            let right = self.unary()?;
            left = binary(operator, left, right);
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.peek().span;
        if self.eat(&TokenKind::Minus) {
            self.enter()?;
            let operand = self.unary();
            self.leave();
            let operand = operand?;
            let span = start.to(operand.span);
            // Fold `-5` into a literal so that `take -1` and `datetime_add('day', -1, t)` see a constant.
            return Ok(match operand.kind {
                ExprKind::Literal { value: Value::Long(n), ty } => literal(Value::Long(n.wrapping_neg()), ty, span),
                ExprKind::Literal { value: Value::Real(x), ty } => literal(Value::Real(-x), ty, span),
                ExprKind::Literal { value: Value::TimeSpan(t), ty } => literal(Value::TimeSpan(-t), ty, span),
                kind => Expr { kind: ExprKind::Negate(Box::new(Expr { kind, span: operand.span })), span },
            });
        }
        // A unary plus changes nothing: `+ + 1` is 1, however many there are.
        if self.eat(&TokenKind::Plus) {
            while self.eat(&TokenKind::Plus) {}
            return self.unary();
        }
        self.postfix()
    }

    /// A primary, then members, indexes: `RawEventData.a[0].b`, each link one level deeper.
    pub(super) fn postfix(&mut self) -> PResult<Expr> {
        self.chain(Self::postfix_chain)
    }

    fn postfix_chain(&mut self) -> PResult<Expr> {
        let mut expr = self.primary()?;
        loop {
            if matches!(self.peek().kind, TokenKind::Dot | TokenKind::LeftBracket) {
                let token = self.peek().clone();
                self.enter_link(&token)?;
            }
            if self.at(&TokenKind::Dot) {
                self.advance();
                let name = match self.peek().kind {
                    TokenKind::LeftBracket => self.bracketed_name().ok_or_else(|| self.unexpected("a member name"))?,
                    _ => self.member_name()?,
                };
                let span = expr.span.to(name.span);
                expr = Expr { kind: ExprKind::Member { target: Box::new(expr), name }, span };
            } else if self.at(&TokenKind::LeftBracket) {
                self.advance();
                let index = self.expr()?;
                let close = self.expect(&TokenKind::RightBracket, "']' after the index")?;
                let span = expr.span.to(close.span);
                expr = Expr { kind: ExprKind::Index { target: Box::new(expr), index: Box::new(index) }, span };
            } else {
                return Ok(expr);
            }
        }
    }

    /// After a dot any word is a member name, keywords included (`RawEventData.Operation`, `d.type`).
    fn member_name(&mut self) -> PResult<Name> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Ident | TokenKind::Word => {
                self.advance();
                Ok(Name { text: self.text_of(&token).to_string(), span: token.span })
            }
            TokenKind::TypedRaw { .. } => Err(self.unexpected("a member name")),
            _ => Err(self.unexpected("a member name after '.'")),
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let token = self.peek().clone();
        match &token.kind {
            TokenKind::String(first) => {
                self.advance();
                // Adjacent string literals are one string: "a" "b" == "ab".
                let mut text = first.clone();
                let mut span = token.span;
                while let TokenKind::String(next) = &self.peek().kind {
                    text.push_str(next);
                    span = span.to(self.advance().span);
                }
                Ok(literal(Value::String(Str::from(text)), Type::String, span))
            }
            TokenKind::Long(n) => {
                self.advance();
                Ok(literal(Value::Long(*n), Type::Long, token.span))
            }
            TokenKind::Real(x) => {
                self.advance();
                Ok(literal(Value::Real(*x), Type::Real, token.span))
            }
            TokenKind::Timespan(t) => {
                self.advance();
                Ok(literal(Value::TimeSpan(*t), Type::TimeSpan, token.span))
            }
            TokenKind::TypedRaw { keyword, raw } => {
                self.advance();
                self.typed_raw(keyword, raw, token.span)
            }
            TokenKind::LeftParen => {
                self.advance();
                let inner = self.tabular_or_expr()?;
                let close = self.expect(&TokenKind::RightParen, "')'").map_err(|error| {
                    let found = error.message.rsplit(", found ").next().unwrap_or("something else").to_string();
                    KqlError::syntax(token.span, "Syntax error: this '(' is not closed")
                        .with_hint(format!("expected ')', found {found}"))
                })?;
                Ok(Expr { kind: inner.kind, span: token.span.to(close.span) })
            }
            TokenKind::LeftBracket => match self.bracketed_name() {
                Some(name) => Ok(Expr { kind: ExprKind::Name(name.text), span: name.span }),
                None => Err(self.unexpected("an expression")),
            },
            TokenKind::Star => {
                self.advance();
                Ok(Expr { kind: ExprKind::Star, span: token.span })
            }
            TokenKind::Ident => self.identifier_expr(),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn identifier_expr(&mut self) -> PResult<Expr> {
        let token = self.advance();
        let word = self.text_of(&token);
        let followed_by_paren = self.at(&TokenKind::LeftParen);
        match word {
            "true" | "True" | "TRUE" => return Ok(literal(Value::Bool(true), Type::Bool, token.span)),
            "false" | "False" | "FALSE" => return Ok(literal(Value::Bool(false), Type::Bool, token.span)),
            "dynamic" if followed_by_paren => {
                self.advance();
                let value = self.dynamic_literal()?;
                let close = self.expect(&TokenKind::RightParen, "')' after the dynamic literal")?;
                return Ok(literal(Value::Dynamic(value), Type::Dynamic, token.span.to(close.span)));
            }
            _ => {}
        }
        if followed_by_paren {
            if let Some(ty) = constructor_type(word)
                && let Some(expr) = self.typed_literal(ty, token.span)?
            {
                return Ok(expr);
            }
            self.advance();
            let mut arguments = Vec::new();
            if !self.at(&TokenKind::RightParen) {
                loop {
                    arguments.push(self.argument()?);
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
            }
            let close = self.expect(&TokenKind::RightParen, "')' after the arguments")?;
            let function = Name { text: word.to_string(), span: token.span };
            return Ok(Expr { kind: ExprKind::Call { function, arguments }, span: token.span.to(close.span) });
        }
        if self.in_search
            && matches!(self.peek().kind, TokenKind::Colon)
            && let TokenKind::String(term) = &self.peek_at(1).kind
        {
            // `Column:"term"` in a search predicate: the term tested in that column.
            let term = term.clone();
            self.advance();
            let end = self.advance().span;
            let column = Expr { kind: ExprKind::Name(word.to_string()), span: token.span };
            return Ok(super::operators::column_term(column, &term, token.span.to(end)));
        }
        Ok(Expr { kind: ExprKind::Name(word.to_string()), span: token.span })
    }

    /// A call's argument: an expression, a query, or `Name = expr` (named: `ExprKind::Named`).
    pub(super) fn argument(&mut self) -> PResult<Expr> {
        if matches!(self.peek().kind, TokenKind::Ident) && matches!(self.peek_at(1).kind, TokenKind::Assign) {
            let token = self.advance();
            let name = Name { text: self.text_of(&token).to_string(), span: token.span };
            self.advance();
            let value = self.tabular_or_expr()?;
            let span = name.span.to(value.span);
            return Ok(Expr { kind: ExprKind::Named { name, value: Box::new(value) }, span });
        }
        self.tabular_or_expr()
    }

    /// `long(5)`, `int(null)`, `datetime("2024-01-01")`, `bool(true)`: a typed literal when the content is a
    /// literal; `None` (consuming nothing) when it is an expression, which is then parsed as a call.
    fn typed_literal(&mut self, ty: Type, start: Span) -> PResult<Option<Expr>> {
        let (content, close) = (self.peek_at(1).clone(), self.peek_at(2).clone());
        let negative = matches!(content.kind, TokenKind::Minus);
        let (content, close) = if negative { (close, self.peek_at(3).clone()) } else { (content, close) };
        if close.kind != TokenKind::RightParen {
            return Ok(None);
        }
        let sign = if negative { -1 } else { 1 };
        let value = match (&content.kind, ty) {
            (TokenKind::Ident, _) if self.text_of(&content) == "null" => Value::null_of(ty),
            (TokenKind::Long(n), Type::Int) => match i32::try_from(*n * sign) {
                Ok(n) => Value::Int(n),
                Err(_) => return Err(KqlError::syntax(content.span, "the value does not fit an int")),
            },
            (TokenKind::Long(n), Type::Long) => Value::Long(*n * sign),
            (TokenKind::Long(n), Type::Real | Type::Decimal) => Value::Real((*n * sign) as f64),
            (TokenKind::Real(x), Type::Real | Type::Decimal) => Value::Real(*x * sign as f64),
            (TokenKind::Ident, Type::Real) if !negative => match self.text_of(&content) {
                "nan" => Value::Real(f64::NAN),
                "inf" => Value::Real(f64::INFINITY),
                _ => return Ok(None),
            },
            (TokenKind::Ident, Type::Bool) if !negative => match self.text_of(&content) {
                "true" | "True" => Value::Bool(true),
                "false" | "False" => Value::Bool(false),
                _ => return Ok(None),
            },
            (TokenKind::Timespan(t), Type::TimeSpan) => Value::TimeSpan(*t * sign),
            (TokenKind::String(text), Type::DateTime) if !negative => match parse_datetime(text) {
                Some(ticks) => Value::DateTime(ticks),
                None if iso_shaped(text) => {
                    return Err(KqlError::syntax(content.span, format!("'{text}' is not a valid datetime")));
                }
                None => {
                    return Err(KqlError::unsupported(
                        content.span,
                        format!(
                            "the local engine does not read the datetime '{text}' (Kusto may: it reads many formats)"
                        ),
                    ));
                }
            },
            (TokenKind::String(text), Type::TimeSpan) if !negative => match parse_timespan(text) {
                Some(ticks) => Value::TimeSpan(ticks),
                None => return Err(KqlError::syntax(content.span, format!("'{text}' is not a valid timespan"))),
            },
            (TokenKind::String(text), Type::Guid | Type::String) if !negative => {
                Value::String(Str::from(text.as_str()))
            }
            _ => return Ok(None),
        };
        self.position += if negative { 4 } else { 3 };
        Ok(Some(literal(value, ty, start.to(close.span))))
    }

    /// The raw content of `datetime(...)`, `timespan(...)`, `time(...)`, `guid(...)`.
    fn typed_raw(&mut self, keyword: &str, raw: &str, span: Span) -> PResult<Expr> {
        let null = raw.eq_ignore_ascii_case("null");
        match keyword {
            "datetime" => match (null, parse_datetime(raw).or_else(|| datetime_of_parts(raw))) {
                (true, _) => Ok(literal(Value::Null, Type::DateTime, span)),
                (false, Some(ticks)) => Ok(literal(Value::DateTime(ticks), Type::DateTime, span)),
                (false, None) if iso_shaped(raw) => {
                    Err(KqlError::syntax(span, format!("'{raw}' is not a valid datetime literal")))
                }
                // Kusto reads more formats than the local engine (`datetime("8:00:00 AM")` is today at 8).
                (false, None) => Err(KqlError::unsupported(
                    span,
                    format!("the local engine does not read the datetime '{raw}' (Kusto may: it reads many formats)"),
                )),
            },
            "guid" => Ok(if null {
                literal(Value::empty_string(), Type::Guid, span)
            } else {
                literal(Value::String(Str::from(raw.to_ascii_lowercase())), Type::Guid, span)
            }),
            _ => match (null, parse_timespan(raw)) {
                (true, _) => Ok(literal(Value::Null, Type::TimeSpan, span)),
                (false, Some(ticks)) => Ok(literal(Value::TimeSpan(ticks), Type::TimeSpan, span)),
                (false, None) => Err(KqlError::syntax(span, format!("'{raw}' is not a valid timespan literal"))),
            },
        }
    }

    /// The JSON-like content of `dynamic(...)`: arrays, bags, strings, numbers, booleans, null, and typed
    /// literals such as `datetime(...)` and timespans.
    fn dynamic_literal(&mut self) -> PResult<Dyn> {
        self.enter()?;
        let result = self.dynamic_literal_inner();
        self.leave();
        result
    }

    fn dynamic_literal_inner(&mut self) -> PResult<Dyn> {
        let token = self.peek().clone();
        match &token.kind {
            TokenKind::LeftBracket => {
                self.advance();
                let mut items = Vec::new();
                while !self.at(&TokenKind::RightBracket) {
                    items.push(self.dynamic_literal()?);
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(&TokenKind::RightBracket, "']' at the end of the array")?;
                Ok(Dyn::array(items))
            }
            TokenKind::LeftBrace => {
                self.advance();
                let mut pairs: Vec<(Str, Dyn)> = Vec::new();
                while !self.at(&TokenKind::RightBrace) {
                    let key = match &self.peek().kind {
                        TokenKind::String(text) => Str::from(text.as_str()),
                        TokenKind::Ident => Str::from(self.text_of(self.peek())),
                        _ => return Err(self.unexpected("a property name")),
                    };
                    self.advance();
                    self.expect(&TokenKind::Colon, "':' after the property name")?;
                    let value = self.dynamic_literal()?;
                    pairs.push((key, value));
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(&TokenKind::RightBrace, "'}' at the end of the property bag")?;
                Ok(Dyn::object(pairs))
            }
            TokenKind::String(first) => {
                self.advance();
                // Adjacent string literals are one string here too: `dynamic(["a" "b"])` holds "ab".
                let mut text = first.clone();
                while let TokenKind::String(next) = &self.peek().kind {
                    text.push_str(next);
                    self.advance();
                }
                Ok(Dyn::String(Arc::from(text.as_str())))
            }
            TokenKind::Minus => {
                self.advance();
                match self.dynamic_literal()? {
                    Dyn::Long(n) => Ok(Dyn::Long(-n)),
                    Dyn::Real(x) => Ok(Dyn::Real(-x)),
                    Dyn::TimeSpan(t) => Ok(Dyn::TimeSpan(-t)),
                    _ => Err(KqlError::syntax(token.span, "'-' must be followed by a number")),
                }
            }
            TokenKind::Long(n) => {
                self.advance();
                Ok(Dyn::Long(*n))
            }
            TokenKind::Real(x) => {
                self.advance();
                Ok(Dyn::Real(*x))
            }
            TokenKind::Timespan(t) => {
                self.advance();
                Ok(Dyn::TimeSpan(*t))
            }
            TokenKind::TypedRaw { keyword, raw } => {
                self.advance();
                let expr = self.typed_raw(keyword, raw, token.span)?;
                match expr.kind {
                    ExprKind::Literal { value, .. } => Ok(value.to_dyn()),
                    _ => Err(KqlError::syntax(token.span, "expected a literal")),
                }
            }
            TokenKind::Ident => {
                let word = self.text_of(&token);
                self.advance();
                match word {
                    "null" => Ok(Dyn::Null),
                    "true" | "True" => Ok(Dyn::Bool(true)),
                    "false" | "False" => Ok(Dyn::Bool(false)),
                    _ => Err(KqlError::syntax(
                        token.span,
                        format!("Syntax error: '{word}' is not allowed in a dynamic literal"),
                    )
                    .with_hint(
                        "a dynamic literal holds only constants: strings, numbers, true, false, null, arrays and bags",
                    )),
                }
            }
            _ => Err(self.unexpected("a constant in the dynamic literal")),
        }
    }
}

/// The type a constructor-style literal names: `long(...)`, `int(...)`, `real(...)`, ...
fn constructor_type(word: &str) -> Option<Type> {
    Some(match word {
        "bool" | "boolean" => Type::Bool,
        "int" => Type::Int,
        "long" => Type::Long,
        "real" | "double" => Type::Real,
        "decimal" => Type::Decimal,
        "string" => Type::String,
        "datetime" => Type::DateTime,
        "timespan" | "time" => Type::TimeSpan,
        "guid" => Type::Guid,
        _ => return None,
    })
}

/// `datetime(2025, 6, 14)` and `datetime(2025, 6, 14, 13, 5, 7)`: a year, month and day, then the hour,
/// minute and second if given (Kusto's `startofweek` examples write dates so).
fn datetime_of_parts(raw: &str) -> Option<i64> {
    let parts: Vec<u32> = raw.split(',').map(|part| part.trim().parse().ok()).collect::<Option<_>>()?;
    if !(3..=6).contains(&parts.len()) {
        return None;
    }
    let part = |i: usize| parts.get(i).copied().unwrap_or(0);
    crate::datetime::Civil {
        year: i64::from(part(0)),
        month: part(1),
        day: part(2),
        hour: part(3),
        minute: part(4),
        second: part(5),
        fraction: 0,
    }
    .to_ticks()
}

/// Whether a datetime text has the shape of an ISO date (`2026-13-45`): one the local engine reads whenever
/// Kusto does, so a value it cannot read is wrong for certain.
fn iso_shaped(text: &str) -> bool {
    let bytes = text.trim().as_bytes();
    bytes.len() >= 8
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5..].iter().take_while(|b| **b != b'-').all(u8::is_ascii_digit)
}
