//! Nomad's `?filter=` expressions (go-bexpr syntax), evaluated on the JSON of each
//! listed object, so `nomad job status -filter '...'` and API scripts work unchanged.
//!
//! ```text
//! expr     := or
//! or       := and ("or" and)*
//! and      := unary ("and" unary)*
//! unary    := "not" unary | "(" expr ")" | match
//! match    := selector ("==" | "!=" | "contains" | "not contains" | "matches" | "not matches") value
//!           | selector "is" ["not"] "empty"
//!           | value ["not"] "in" selector
//! selector := ident ("." ident | "[" string "]")*      e.g. Meta.foo, Meta["a.b"], TaskGroups.0.Name
//! value    := "quoted" | `raw` | number | bare word (true, false, running, ...)
//! ```
//! Comparisons follow go-bexpr on JSON: strings compare as strings, numbers and booleans
//! by parsing the value; `in`/`contains` test array membership, substring of a string or
//! key of an object; a missing selector is empty and equals nothing.

use serde_json::Value;

/// Parentheses and `not`s nested inside each other, at most: parsing and matching
/// recurse once per level, so a request could otherwise overflow a worker's stack.
pub const MAX_NESTING: usize = 32;

/// Comparisons in one expression, at most (`and`/`or` chains are evaluated and dropped
/// recursively too).
pub const MAX_CONDITIONS: usize = 256;

/// Characters in one expression, at most.
pub const MAX_LENGTH: usize = 16 * 1024;

/// Why a filter expression was refused; the message names the column and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter expression at column {column}: {message}")]
pub struct FilterError {
    /// 1-based character column where the problem starts.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
    /// One comparison.
    Match {
        /// Path into the object.
        selector: Vec<String>,
        /// The comparison.
        op: Op,
        /// The literal compared against (empty for `is empty`).
        value: String,
    },
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `value in selector` / `selector contains value`
    In,
    /// `not in` / `not contains`
    NotIn,
    /// `is empty`
    IsEmpty,
    /// `is not empty`
    IsNotEmpty,
    /// `matches` (regular expression)
    Matches,
    /// `not matches`
    NotMatches,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Identifier or bare word (selectors, keywords, unquoted values).
    Word(String),
    /// Quoted string.
    Str(String),
    Eq,
    Ne,
    LParen,
    RParen,
    Dot,
    LBracket,
    RBracket,
}

fn err(column: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        column,
        message: message.into(),
    }
}

fn lex(input: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '.' | '[' | ']' => {
                out.push((
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        '.' => Tok::Dot,
                        '[' => Tok::LBracket,
                        _ => Tok::RBracket,
                    },
                    col,
                ));
                i += 1;
            }
            '=' | '!' => {
                if chars.get(i + 1) != Some(&'=') {
                    return Err(err(
                        col,
                        format!("{c:?} must be followed by '=' (== or !=)"),
                    ));
                }
                out.push((if c == '=' { Tok::Eq } else { Tok::Ne }, col));
                i += 2;
            }
            '"' | '`' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err(err(col, "unterminated string: add the closing quote"));
                    };
                    i += 1;
                    if ch == c {
                        break;
                    }
                    if ch == '\\' && c == '"' {
                        let Some(&esc) = chars.get(i) else {
                            return Err(err(col, "unterminated string: add the closing quote"));
                        };
                        i += 1;
                        s.push(match esc {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    } else {
                        s.push(ch);
                    }
                }
                out.push((Tok::Str(s), col));
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '/' => {
                let start = i;
                // Numbers may hold a decimal point; words stop at '.' (selector paths).
                let numeric = c.is_ascii_digit() || c == '-';
                while i < chars.len()
                    && (chars[i].is_alphanumeric()
                        || matches!(chars[i], '_' | '-' | '/' | ':')
                        || (numeric
                            && chars[i] == '.'
                            && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
                {
                    i += 1;
                }
                out.push((Tok::Word(chars[start..i].iter().collect()), col));
            }
            other => return Err(err(col, format!("unexpected character {other:?}"))),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    /// Parentheses and `not`s open around the current position.
    depth: usize,
    /// Comparisons parsed so far.
    conditions: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, c)| *c)
    }

    fn word_is(&self, offset: usize, w: &str) -> bool {
        matches!(self.toks.get(self.pos + offset), Some((Tok::Word(x), _)) if x == w)
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.word_is(0, "or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.word_is(0, "and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.word_is(0, "not") && !self.word_is(1, "in") {
            self.enter()?;
            self.pos += 1;
            let e = Expr::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(e);
        }
        if self.peek() == Some(&Tok::LParen) {
            self.enter()?;
            self.pos += 1;
            let e = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(err(self.col(), "expected ')' to close '('"));
            }
            self.pos += 1;
            self.depth -= 1;
            return Ok(e);
        }
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(err(
                self.col(),
                format!(
                    "more than {MAX_CONDITIONS} conditions; narrow the filter or list and filter on the client"
                ),
            ));
        }
        self.matcher()
    }

    /// One more level of parentheses or `not`, refused past [`MAX_NESTING`].
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(err(
                self.col(),
                format!(
                    "parentheses and `not` nest more than {MAX_NESTING} deep; flatten the expression"
                ),
            ));
        }
        Ok(())
    }

    /// A literal value: quoted string, number or bare word.
    fn value(&mut self) -> Result<String, FilterError> {
        match self.toks.get(self.pos).cloned() {
            Some((Tok::Str(s), _)) | Some((Tok::Word(s), _)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(err(
                self.col(),
                "expected a value (a quoted string, number or word)",
            )),
        }
    }

    fn selector(&mut self) -> Result<Vec<String>, FilterError> {
        let mut path = match self.toks.get(self.pos).cloned() {
            Some((Tok::Word(w), _)) => {
                self.pos += 1;
                if let Some(p) = w.strip_prefix('/') {
                    // JSON-pointer form: "/Meta/foo".
                    return Ok(p.split('/').map(str::to_string).collect());
                }
                vec![w]
            }
            _ => {
                return Err(err(
                    self.col(),
                    "expected a selector such as Status or Meta.foo",
                ));
            }
        };
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    match self.toks.get(self.pos).cloned() {
                        Some((Tok::Word(w), _)) => {
                            self.pos += 1;
                            path.push(w);
                        }
                        _ => return Err(err(self.col(), "expected a field name after '.'")),
                    }
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let k = self.value()?;
                    if self.peek() != Some(&Tok::RBracket) {
                        return Err(err(self.col(), "expected ']'"));
                    }
                    self.pos += 1;
                    path.push(k);
                }
                _ => return Ok(path),
            }
        }
    }

    fn matcher(&mut self) -> Result<Expr, FilterError> {
        // `value in selector` / `value not in selector`.
        let in_at = if self.word_is(1, "in") {
            Some(1)
        } else if self.word_is(1, "not") && self.word_is(2, "in") {
            Some(2)
        } else {
            None
        };
        if let Some(skip) = in_at {
            let value = self.value()?;
            self.pos += skip;
            let selector = self.selector()?;
            let op = if skip == 2 { Op::NotIn } else { Op::In };
            return Ok(Expr::Match {
                selector,
                op,
                value,
            });
        }
        let selector = self.selector()?;
        let col = self.col();
        let op = match self.toks.get(self.pos).map(|(t, _)| t.clone()) {
            Some(Tok::Eq) => Op::Equal,
            Some(Tok::Ne) => Op::NotEqual,
            Some(Tok::Word(w)) => match w.as_str() {
                "contains" => Op::In,
                "matches" => Op::Matches,
                "is" if self.word_is(1, "empty") => Op::IsEmpty,
                "is" if self.word_is(1, "not") && self.word_is(2, "empty") => Op::IsNotEmpty,
                "not" if self.word_is(1, "contains") => Op::NotIn,
                "not" if self.word_is(1, "matches") => Op::NotMatches,
                other => {
                    return Err(err(
                        col,
                        format!(
                            "unknown operator {other:?}; use ==, !=, contains, not contains, in, not in, matches, not matches, is empty or is not empty"
                        ),
                    ));
                }
            },
            _ => {
                return Err(err(
                    col,
                    "expected an operator (==, !=, contains, matches, is empty, ...) after the selector",
                ));
            }
        };
        self.pos += match op {
            Op::Equal | Op::NotEqual | Op::In | Op::Matches => 1,
            Op::IsEmpty | Op::NotIn | Op::NotMatches => 2,
            Op::IsNotEmpty => 3,
        };
        let value = match op {
            Op::IsEmpty | Op::IsNotEmpty => String::new(),
            _ => self.value()?,
        };
        if matches!(op, Op::Matches | Op::NotMatches)
            && let Err(e) = regex::Regex::new(&value)
        {
            return Err(err(
                col,
                format!("invalid regular expression {value:?}: {e}"),
            ));
        }
        Ok(Expr::Match {
            selector,
            op,
            value,
        })
    }
}

impl Expr {
    /// Parses an expression; the error names the column and what was expected.
    pub fn parse(input: &str) -> Result<Expr, FilterError> {
        if input.chars().count() > MAX_LENGTH {
            return Err(err(
                MAX_LENGTH + 1,
                format!("the expression is longer than {MAX_LENGTH} characters"),
            ));
        }
        let toks = lex(input)?;
        let end = input.chars().count() + 1;
        if toks.is_empty() {
            return Err(err(1, "the expression is empty"));
        }
        let mut p = Parser {
            toks,
            pos: 0,
            end,
            depth: 0,
            conditions: 0,
        };
        let e = p.or()?;
        if p.pos < p.toks.len() {
            return Err(err(
                p.col(),
                "unexpected input after a complete expression; join conditions with and/or",
            ));
        }
        Ok(e)
    }

    /// Whether `object` satisfies the expression.
    pub fn matches(&self, object: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.matches(object) && b.matches(object),
            Expr::Or(a, b) => a.matches(object) || b.matches(object),
            Expr::Not(e) => !e.matches(object),
            Expr::Match {
                selector,
                op,
                value,
            } => {
                let v = lookup(object, selector);
                match op {
                    Op::Equal => v.is_some_and(|v| equals(v, value)),
                    Op::NotEqual => !v.is_some_and(|v| equals(v, value)),
                    Op::In => v.is_some_and(|v| contains(v, value)),
                    Op::NotIn => !v.is_some_and(|v| contains(v, value)),
                    Op::IsEmpty => v.is_none_or(is_empty),
                    Op::IsNotEmpty => !v.is_none_or(is_empty),
                    Op::Matches => v.is_some_and(|v| regex_match(v, value)),
                    Op::NotMatches => !v.is_some_and(|v| regex_match(v, value)),
                }
            }
        }
    }
}

fn lookup<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut v = object;
    for seg in path {
        v = match v {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn equals(v: &Value, lit: &str) -> bool {
    match v {
        Value::String(s) => s == lit,
        Value::Number(n) => match (n.as_f64(), lit.parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        Value::Bool(b) => lit.parse::<bool>().is_ok_and(|l| l == *b),
        Value::Null => lit.is_empty(),
        _ => false,
    }
}

fn contains(v: &Value, lit: &str) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| equals(i, lit)),
        Value::String(s) => s.contains(lit),
        Value::Object(m) => m.contains_key(lit),
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn regex_match(v: &Value, pattern: &str) -> bool {
    let Value::String(s) = v else { return false };
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(s))
}

#[cfg(test)]
mod tests;
