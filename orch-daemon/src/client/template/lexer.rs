//! Template lexing: text and actions between delimiters, then the tokens of an action.

use super::*;

// ---------------------------------------------------------------------------------
// Lexing: text and actions.

#[derive(Debug)]
pub(super) enum Piece {
    Text(String),
    Action { body: String, line: usize },
}

pub(super) fn lex(src: &str, left: &str, right: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(start) = rest.find(left) else {
            push_text(&mut pieces, rest, trim_next);
            break;
        };
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + left.len()..];
        let trim_left = after.starts_with("- ")
            || after.starts_with("-\t")
            || after.starts_with("-\n")
            || after.starts_with("-\r");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        line += rest[..start].matches('\n').count();
        let inner_start = if trim_left { 1 } else { 0 };
        let inner = &after[inner_start..];
        // Comments may contain the right delimiter's characters only at their end.
        let close = if inner.trim_start().starts_with("/*") {
            inner.find("*/").and_then(|i| {
                let tail = &inner[i + 2..];
                let t = tail.trim_start_matches([' ', '\t', '\r', '\n']);
                let t = t
                    .strip_prefix('-')
                    .map_or(t, |x| x.trim_start_matches([' ', '\t', '\r', '\n']));
                tail.len()
                    .checked_sub(t.len())
                    .and_then(|skip| t.starts_with(right).then_some(i + 2 + skip))
            })
        } else {
            find_close(inner, right)
        };
        let Some(close) = close else {
            return Err(TemplateError::Parse {
                line,
                message: format!("unclosed action (missing {right:?})"),
            });
        };
        let mut body = &inner[..close];
        trim_next = false;
        if let Some(b) = body.strip_suffix('-')
            && b.ends_with([' ', '\t', '\r', '\n'])
        {
            trim_next = true;
            body = b;
        }
        let body_line = line;
        line += inner[..close].matches('\n').count();
        let b = body.trim();
        if !(b.starts_with("/*") && b.ends_with("*/")) {
            pieces.push(Piece::Action {
                body: body.to_string(),
                line: body_line,
            });
        }
        rest = &inner[close + right.len()..];
        if rest.is_empty() {
            break;
        }
    }
    Ok(pieces)
}

pub(super) fn push_text(pieces: &mut Vec<Piece>, text: &str, trim: bool) {
    let text = if trim { text.trim_start() } else { text };
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
}

/// The right delimiter's position, skipping string literals.
pub(super) fn find_close(s: &str, right: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            _ if bytes[i..].starts_with(right.as_bytes()) => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

// ---------------------------------------------------------------------------------
// Parsing.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Str(String),
    Int(i64),
    Bool(bool),
    Nil,
    /// `.`, `.A.B` (fields after the dot).
    Dot(Vec<String>),
    /// `$`, `$x`, `$x.A`.
    Var(String, Vec<String>),
    Ident(String),
    /// `(pipeline).A` is not supported; plain parentheses are.
    Open,
    Close,
    Pipe,
    Declare,
    Assign,
    Comma,
}

pub(super) fn tokenize(s: &str, line: usize) -> Result<Vec<Tok>, TemplateError> {
    let err = |message: String| TemplateError::Parse { line, message };
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let fields = |chars: &[char], i: &mut usize| -> Vec<String> {
        let mut out = Vec::new();
        while *i < chars.len() && chars[*i] == '.' {
            let start = *i + 1;
            let mut j = start;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if j == start {
                break;
            }
            out.push(chars[start..j].iter().collect());
            *i = j;
        }
        out
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            ')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '"' => {
                let mut out = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(err("unterminated string".into()));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = chars.get(i).copied().unwrap_or('\\');
                            i += 1;
                            out.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '0' => '\0',
                                other => other,
                            });
                        }
                        c => out.push(c),
                    }
                }
                toks.push(Tok::Str(out));
            }
            '`' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|&c| c == '`') else {
                    return Err(err("unterminated raw string".into()));
                };
                toks.push(Tok::Str(chars[start..start + len].iter().collect()));
                i = start + len + 1;
            }
            '.' => {
                let f = fields(&chars, &mut i);
                if f.is_empty() {
                    i += 1;
                }
                toks.push(Tok::Dot(f));
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = std::iter::once('$')
                    .chain(chars[start..j].iter().copied())
                    .collect();
                i = j;
                let f = fields(&chars, &mut i);
                toks.push(Tok::Var(name, f));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse()
                    .map_err(|_| err(format!("bad number {text:?}")))?;
                toks.push(Tok::Int(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                toks.push(match word.as_str() {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word),
                });
            }
            other => return Err(err(format!("unexpected {other:?} in action"))),
        }
    }
    Ok(toks)
}
