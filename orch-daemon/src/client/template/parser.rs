//! Template parsing: actions into pipelines and the node tree (`if`, `range`, `with`).

use super::*;

#[derive(Debug, Clone)]
pub(super) enum Arg {
    Lit(Val),
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Sub(Box<Pipeline>),
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    pub(super) decl: Vec<String>,
    /// `=` rather than `:=`.
    pub(super) assign: bool,
    pub(super) cmds: Vec<Vec<Arg>>,
    pub(super) line: usize,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

pub(super) struct Parser {
    pub(super) pieces: Vec<Piece>,
    pub(super) pos: usize,
    /// Blocks open around the current position, at most [`super::MAX_NESTING`].
    pub(super) depth: usize,
}

/// How a list ended: `end`, `else`, or `else <rest>` (for `else if`), with its line.
pub(super) type ListEnd = Option<(String, usize)>;

impl Parser {
    /// Nodes until `end`/`else ...` (returned) or the end of input (`None`).
    pub(super) fn list(&mut self) -> Result<(Vec<Node>, ListEnd), TemplateError> {
        let mut nodes = Vec::new();
        while self.pos < self.pieces.len() {
            let piece = &self.pieces[self.pos];
            self.pos += 1;
            let (body, line) = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t.clone()));
                    continue;
                }
                Piece::Action { body, line } => (body.trim().to_string(), *line),
            };
            let (kw, rest) = match body.split_once(|c: char| c.is_whitespace()) {
                Some((k, r)) => (k, r.trim()),
                None => (body.as_str(), ""),
            };
            match kw {
                "end" | "else" => return Ok((nodes, Some((body.clone(), line)))),
                "if" | "range" | "with" => {
                    let pipe = self.pipeline(rest, line)?;
                    let node = self.control(kw, pipe, line)?;
                    nodes.push(node);
                }
                "define" | "template" | "block" | "break" | "continue" => {
                    return Err(TemplateError::Parse {
                        line,
                        message: format!("{{{{{kw}}}}} is not supported"),
                    });
                }
                _ => nodes.push(Node::Action(self.pipeline(&body, line)?)),
            }
        }
        Ok((nodes, None))
    }

    /// The body (and `else`) of an `if`/`range`/`with` whose pipeline is parsed.
    pub(super) fn control(
        &mut self,
        kw: &str,
        pipe: Pipeline,
        line: usize,
    ) -> Result<Node, TemplateError> {
        if self.depth >= super::MAX_NESTING {
            return Err(TemplateError::Parse {
                line,
                message: format!(
                    "blocks nest more than {} deep; flatten the template",
                    super::MAX_NESTING
                ),
            });
        }
        self.depth += 1;
        let node = self.control_body(kw, pipe, line);
        self.depth -= 1;
        node
    }

    fn control_body(
        &mut self,
        kw: &str,
        pipe: Pipeline,
        line: usize,
    ) -> Result<Node, TemplateError> {
        let (body, end) = self.list()?;
        let unclosed = || TemplateError::Parse {
            line,
            message: format!("unexpected end of template in {{{{{kw}}}}}"),
        };
        let (end, end_line) = end.ok_or_else(unclosed)?;
        let els = if end == "end" {
            Vec::new()
        } else {
            let rest = end.strip_prefix("else").unwrap_or("").trim();
            if rest.is_empty() {
                let (els, end2) = self.list()?;
                match end2 {
                    Some((e, _)) if e == "end" => els,
                    Some((e, l)) => {
                        return Err(TemplateError::Parse {
                            line: l,
                            message: format!("unexpected {{{{{e}}}}} after else"),
                        });
                    }
                    None => return Err(unclosed()),
                }
            } else if let Some(cond) = rest.strip_prefix("if ") {
                // `else if` shares the outer `end`.
                let p = self.pipeline(cond.trim(), end_line)?;
                vec![self.control("if", p, end_line)?]
            } else if let Some(cond) = rest.strip_prefix("with ") {
                let p = self.pipeline(cond.trim(), end_line)?;
                vec![self.control("with", p, end_line)?]
            } else {
                return Err(TemplateError::Parse {
                    line: end_line,
                    message: format!("unexpected {{{{{end}}}}}"),
                });
            }
        };
        Ok(match kw {
            "if" => Node::If(pipe, body, els),
            "range" => Node::Range(pipe, body, els),
            _ => Node::With(pipe, body, els),
        })
    }

    pub(super) fn pipeline(&self, src: &str, line: usize) -> Result<Pipeline, TemplateError> {
        let toks = tokenize(src, line)?;
        let mut pos = 0;
        let p = parse_pipeline(&toks, &mut pos, line, true)?;
        if pos != toks.len() {
            return Err(TemplateError::Parse {
                line,
                message: format!("unexpected {:?} in action", toks[pos]),
            });
        }
        Ok(p)
    }
}

pub(super) fn parse_pipeline(
    toks: &[Tok],
    pos: &mut usize,
    line: usize,
    top: bool,
) -> Result<Pipeline, TemplateError> {
    let err = |message: String| TemplateError::Parse { line, message };
    let mut decl = Vec::new();
    let mut assign = false;
    // `$x :=`, `$i, $e :=`, `$x =`
    if top {
        let mut look = *pos;
        let mut names = Vec::new();
        while let Some(Tok::Var(name, f)) = toks.get(look) {
            if !f.is_empty() {
                break;
            }
            names.push(name.clone());
            look += 1;
            if toks.get(look) == Some(&Tok::Comma) {
                look += 1;
                continue;
            }
            break;
        }
        match toks.get(look) {
            Some(Tok::Declare) if !names.is_empty() => {
                decl = names;
                *pos = look + 1;
            }
            Some(Tok::Assign) if names.len() == 1 => {
                decl = names;
                assign = true;
                *pos = look + 1;
            }
            _ => {}
        }
    }
    let mut cmds = Vec::new();
    let mut cmd = Vec::new();
    while let Some(t) = toks.get(*pos) {
        match t {
            Tok::Close if !top => break,
            Tok::Pipe => {
                if cmd.is_empty() {
                    return Err(err("missing command before |".into()));
                }
                cmds.push(std::mem::take(&mut cmd));
                *pos += 1;
                continue;
            }
            Tok::Open => {
                *pos += 1;
                let sub = parse_pipeline(toks, pos, line, false)?;
                if toks.get(*pos) != Some(&Tok::Close) {
                    return Err(err("unclosed (".into()));
                }
                cmd.push(Arg::Sub(Box::new(sub)));
            }
            Tok::Str(s) => cmd.push(Arg::Lit(Val::Str(s.clone()))),
            Tok::Int(n) => cmd.push(Arg::Lit(Val::Int(*n))),
            Tok::Bool(b) => cmd.push(Arg::Lit(Val::Bool(*b))),
            Tok::Nil => cmd.push(Arg::Lit(Val::Nil)),
            Tok::Dot(f) => cmd.push(Arg::Dot(f.clone())),
            Tok::Var(n, f) => cmd.push(Arg::Var(n.clone(), f.clone())),
            Tok::Ident(n) => cmd.push(Arg::Func(n.clone())),
            other => return Err(err(format!("unexpected {other:?} in action"))),
        }
        *pos += 1;
    }
    if cmd.is_empty() && !cmds.is_empty() {
        return Err(err("missing command after |".into()));
    }
    if !cmd.is_empty() {
        cmds.push(cmd);
    }
    if cmds.is_empty() {
        return Err(err("missing value for command".into()));
    }
    // Functions are checked at parse time, as Go does.
    for cmd in &cmds {
        for a in cmd {
            if let Arg::Func(name) = a {
                check_function(name, line)?;
            }
        }
    }
    Ok(Pipeline {
        decl,
        assign,
        cmds,
        line,
    })
}

pub(super) fn check_function(name: &str, line: usize) -> Result<(), TemplateError> {
    if FUNCTIONS.contains(&name) || super::sprig::knows(name) {
        Ok(())
    } else if UNSUPPORTED.contains(&name) {
        Err(TemplateError::Unsupported {
            line,
            function: name.to_string(),
        })
    } else {
        Err(TemplateError::UnknownFunction {
            line,
            function: name.to_string(),
        })
    }
}
