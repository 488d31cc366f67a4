//! A pre-parse guard against pathological nesting.
//!
//! hcl-edit's parser backtracks exponentially on deeply nested expressions (fuzzing found
//! 200-byte inputs that take seconds: `on = {b/l /{b/l /{...`). Jobspecs arrive over the
//! HTTP API, so before parsing we measure how deeply expressions nest — brackets opened
//! inside attribute values, not block bodies, which parse in linear time — and refuse
//! anything deeper than any real jobspec needs. Strings, heredocs and comments are
//! skipped so template text such as `{{ range }}` does not count.

/// Deepest expression nesting accepted. Real jobspecs stay under 8; the known
/// exponential inputs stay in the milliseconds at this depth.
pub const MAX_EXPRESSION_DEPTH: usize = 12;

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    /// A block body `name "label" { ... }`.
    Block,
    /// A bracket inside an expression.
    Expr,
    /// A quoted template string.
    Str,
    /// `${ ... }` or `%{ ... }` inside a string.
    Interp,
}

/// Returns the byte offset where expressions nest deeper than
/// [`MAX_EXPRESSION_DEPTH`], if they do.
pub fn too_deep(src: &str) -> Option<usize> {
    let b = src.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut depth = 0usize;
    let mut prev = b'\n'; // Last significant byte outside strings and comments.
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if stack.last() == Some(&Frame::Str) {
            match c {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                    prev = b'"';
                }
                b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                    if b.get(i.wrapping_sub(1)) != Some(&c) {
                        stack.push(Frame::Interp);
                        depth += 1;
                        if depth > MAX_EXPRESSION_DEPTH {
                            return Some(i);
                        }
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'#' => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = src[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            b'<' if b.get(i + 1) == Some(&b'<') && prev == b'=' => {
                i = skip_heredoc(src, i);
                prev = b'"';
                continue;
            }
            b'"' => stack.push(Frame::Str),
            b'{' | b'[' | b'(' => {
                let in_expr = matches!(stack.last(), Some(Frame::Expr | Frame::Interp));
                let block_open = c == b'{'
                    && !in_expr
                    && (prev.is_ascii_alphanumeric()
                        || matches!(prev, b'"' | b'_' | b'-' | b'\n' | b'}'));
                if block_open {
                    stack.push(Frame::Block);
                } else {
                    stack.push(Frame::Expr);
                    depth += 1;
                    if depth > MAX_EXPRESSION_DEPTH {
                        return Some(i);
                    }
                }
            }
            b'}' | b']' | b')' => {
                if let Some(f) = stack.pop()
                    && matches!(f, Frame::Expr | Frame::Interp)
                {
                    depth = depth.saturating_sub(1);
                }
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() || c == b'\n' {
            prev = c;
        }
        i += 1;
    }
    None
}

fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

/// Skips `<<EOF ... EOF` (or `<<-EOF`), returning the offset after the closing marker.
fn skip_heredoc(src: &str, i: usize) -> usize {
    let rest = &src[i + 2..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let marker: &str = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    let Some(body_start) = src[i..].find('\n').map(|p| i + p + 1) else {
        return src.len();
    };
    if marker.is_empty() {
        return body_start;
    }
    let mut offset = body_start;
    for line in src[body_start..].split_inclusive('\n') {
        offset += line.len();
        if line.trim() == marker {
            return offset;
        }
    }
    src.len()
}

#[cfg(test)]
mod tests;
