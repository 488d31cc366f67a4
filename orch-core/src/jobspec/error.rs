//! Diagnostics for jobspec parsing.
//!
//! Every problem found while parsing is recorded as a [`Diagnostic`] carrying
//! the file name and a 1-based line/column, so that users can jump straight to
//! the offending token. All diagnostics are gathered into one
//! [`JobspecError`] so a single run reports as many problems as possible.

use std::fmt;
use std::ops::Range;

/// One problem found in a jobspec, located at a line and column.
///
/// Kept as plain data (not just a formatted string) so API layers can render
/// it as structured JSON or as a CLI message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Name of the file the jobspec came from (as given by the caller).
    pub filename: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number (in characters).
    pub column: usize,
    /// Human readable message naming the block or attribute at fault.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.filename, self.line, self.column, self.message
        )
    }
}

/// All diagnostics produced while parsing one jobspec.
///
/// Holding every diagnostic (rather than the first) lets a user fix a whole
/// file in one round trip. `Display` prints one diagnostic per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct JobspecError {
    /// The diagnostics, in source order where possible. Never empty.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for JobspecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Maps byte offsets in the source text to 1-based line/column positions.
///
/// hcl-edit reports spans as byte ranges; users want lines and columns.
#[derive(Debug)]
pub(crate) struct SourceMap<'a> {
    src: &'a str,
    filename: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    /// Indexes the line starts of `src`.
    pub(crate) fn new(src: &'a str, filename: &'a str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        SourceMap {
            src,
            filename,
            line_starts,
        }
    }

    /// Returns the source text covered by `span`, if it is valid.
    pub(crate) fn slice(&self, span: &Range<usize>) -> Option<&'a str> {
        self.src.get(span.clone())
    }

    /// Converts a byte offset to a 1-based (line, column) pair.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(idx).copied().unwrap_or(0);
        let col = self
            .src
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (idx + 1, col + 1)
    }

    /// Builds a diagnostic at the start of `span` (or at 1:1 if unknown).
    pub(crate) fn diag(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = span.map_or((1, 1), |s| self.position(s.start));
        Diagnostic {
            filename: self.filename.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
