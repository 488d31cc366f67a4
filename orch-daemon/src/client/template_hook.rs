//! Renders a task's `template` blocks into its directory: before it starts, and again
//! whenever a service it reads with `nomadService` changes in the catalog or a variable
//! it reads with `nomadVar` (with the task's workload identity) changes, then applies
//! each changed template's `change_mode` (`restart`, `signal`, `noop`).
//!
//! Templates read the task environment and the node (`{{ env "NOMAD_ALLOC_ID" }}`,
//! `{{ env "attr.kernel.name" }}`), which do not change while the allocation lives, and
//! the service catalog, which does.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use orch_core::lifecycle::InterpolationVars;
use orch_core::model::{ServiceRegistration, Task};

use super::alloc_dir::TaskDir;
use super::server_conn::ServerConn;
use super::template::{
    ServiceEntry, TemplateContext, render, template_destination, template_source,
};

/// Service instances by name, as last read from the servers.
pub type Catalog = BTreeMap<String, Vec<ServiceEntry>>;

/// The data sources templates read, as last fetched: the service catalog and the
/// variables read with the task's workload identity.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Services by name.
    pub catalog: Catalog,
    /// The task's workload identity (fetched on first use of a variable).
    token: Option<String>,
    /// Variables by path: items, `None` when missing, or why they cannot be read.
    vars: BTreeMap<String, Result<Option<BTreeMap<String, String>>, String>>,
    /// Variable paths listed under a prefix.
    lists: BTreeMap<String, Result<Vec<String>, String>>,
}

/// What templates of one task can see.
struct TaskTemplateContext<'a> {
    vars: &'a InterpolationVars,
    sources: &'a Sources,
    /// Service names templates asked for that the catalog copy lacks.
    missing: RefCell<BTreeSet<String>>,
    /// Variable paths and list prefixes not fetched yet.
    missing_vars: RefCell<BTreeSet<String>>,
    missing_lists: RefCell<BTreeSet<String>>,
}

const NOT_FETCHED: &str = "not fetched yet";

impl Sources {
    /// Whether templates read no data source (nothing to watch for changes).
    pub fn is_empty(&self) -> bool {
        self.catalog.is_empty() && self.vars.is_empty() && self.lists.is_empty()
    }
}

impl TemplateContext for TaskTemplateContext<'_> {
    fn env(&self, key: &str) -> Option<String> {
        self.vars.template_env_lookup(key)
    }

    fn variable(&self, path: &str) -> Result<Option<BTreeMap<String, String>>, String> {
        match self.sources.vars.get(path) {
            Some(v) => v.clone(),
            None => {
                self.missing_vars.borrow_mut().insert(path.to_string());
                Err(NOT_FETCHED.into())
            }
        }
    }

    fn variable_list(&self, prefix: &str) -> Result<Vec<String>, String> {
        match self.sources.lists.get(prefix) {
            Some(v) => v.clone(),
            None => {
                self.missing_lists.borrow_mut().insert(prefix.to_string());
                Err(NOT_FETCHED.into())
            }
        }
    }

    fn services(&self, name: &str) -> Option<Vec<ServiceEntry>> {
        match self.sources.catalog.get(name) {
            Some(entries) => Some(entries.clone()),
            None => {
                self.missing.borrow_mut().insert(name.to_string());
                Some(Vec::new())
            }
        }
    }
}

/// The result of rendering a task's templates.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Variables of `env = true` templates.
    pub env: BTreeMap<String, String>,
    /// `(change_mode, change_signal)` of templates whose file content changed.
    pub changed: Vec<(String, String)>,
    /// Service names the templates read.
    pub services: BTreeSet<String>,
}

fn entry(r: ServiceRegistration) -> ServiceEntry {
    ServiceEntry {
        id: r.id,
        name: r.service_name,
        namespace: r.namespace,
        datacenter: r.datacenter,
        address: r.address,
        port: r.port,
        tags: r.tags,
        alloc_id: r.alloc_id,
        node_id: r.node_id,
        job_id: r.job_id,
    }
}

/// Reads the named services from the servers into `catalog`. Returns whether anything
/// changed. A failed read keeps the old copy (templates keep their last content).
pub async fn refresh(conn: &ServerConn, names: &BTreeSet<String>, catalog: &mut Catalog) -> bool {
    let mut changed = false;
    for name in names {
        if let Ok(regs) = conn.service(name).await {
            let entries: Vec<ServiceEntry> = regs.into_iter().map(entry).collect();
            if catalog.get(name) != Some(&entries) {
                catalog.insert(name.clone(), entries);
                changed = true;
            }
        }
    }
    changed
}

/// Reads `paths` and `lists` (all already read ones when empty) with the task's
/// identity into `sources`; whether anything changed. The identity is fetched once.
pub async fn refresh_vars(
    conn: &ServerConn,
    vars: &InterpolationVars,
    task: &str,
    sources: &mut Sources,
    paths: &BTreeSet<String>,
    lists: &BTreeSet<String>,
) -> bool {
    let env = |k: &str| vars.template_env_lookup(k).unwrap_or_default();
    if sources.token.is_none() {
        match conn.task_identities(&env("NOMAD_ALLOC_ID"), task).await {
            Ok(mut ids) => sources.token = ids.remove(orch_core::model::DEFAULT_IDENTITY),
            Err(e) => {
                let mut changed = false;
                for p in paths {
                    let v = Err(format!("no workload identity: {e}"));
                    changed |= sources.vars.get(p) != Some(&v);
                    sources.vars.insert(p.clone(), v);
                }
                return changed;
            }
        }
    }
    let token = sources.token.clone().unwrap_or_default();
    let ns = env("NOMAD_NAMESPACE");
    let mut changed = false;
    for p in paths {
        let v = conn
            .variable(&token, &ns, p)
            .await
            .map_err(|e| e.to_string());
        if sources.vars.get(p) != Some(&v) {
            sources.vars.insert(p.clone(), v);
            changed = true;
        }
    }
    for prefix in lists {
        let v = conn
            .variable_paths(&token, &ns, prefix)
            .await
            .map_err(|e| e.to_string());
        if sources.lists.get(prefix) != Some(&v) {
            sources.lists.insert(prefix.clone(), v);
            changed = true;
        }
    }
    changed
}

/// Re-reads every variable and list templates read; whether one changed.
pub async fn refresh_all_vars(
    conn: &ServerConn,
    vars: &InterpolationVars,
    task: &str,
    sources: &mut Sources,
) -> bool {
    let paths: BTreeSet<String> = sources.vars.keys().cloned().collect();
    let lists: BTreeSet<String> = sources.lists.keys().cloned().collect();
    if paths.is_empty() && lists.is_empty() {
        return false;
    }
    refresh_vars(conn, vars, task, sources, &paths, &lists).await
}

/// Renders every template of `task`, fetching the services they read first. Files are
/// only rewritten when their content changes.
pub async fn render_all(
    task: &Task,
    dir: &TaskDir,
    alloc_root: &Path,
    vars: &InterpolationVars,
    conn: Option<&ServerConn>,
    sources: &mut Sources,
) -> Result<Rendered, String> {
    // A template may read services or variables only known after a first pass: fetch
    // and redo.
    for _ in 0..8 {
        let ctx = context(vars, sources);
        let result = render_pass(task, dir, alloc_root, &ctx, false);
        let missing = ctx.missing.into_inner();
        let (paths, lists) = (
            ctx.missing_vars.into_inner(),
            ctx.missing_lists.into_inner(),
        );
        let Some(c) = conn else { break };
        if !paths.is_empty() || !lists.is_empty() {
            refresh_vars(c, vars, &task.name, sources, &paths, &lists).await;
            continue;
        }
        if !missing.is_empty() {
            refresh(c, &missing, &mut sources.catalog).await;
            for name in missing {
                sources.catalog.entry(name).or_default();
            }
            continue;
        }
        result?;
        break;
    }
    let ctx = context(vars, sources);
    render_pass(task, dir, alloc_root, &ctx, true)
}

fn context<'a>(vars: &'a InterpolationVars, sources: &'a Sources) -> TaskTemplateContext<'a> {
    TaskTemplateContext {
        vars,
        sources,
        missing: RefCell::new(BTreeSet::new()),
        missing_vars: RefCell::new(BTreeSet::new()),
        missing_lists: RefCell::new(BTreeSet::new()),
    }
}

/// Writes a rendered template to `dest` (inside `alloc_root`) unless it already holds
/// `text`; `false` when unchanged. The file is opened and replaced beneath the allocation
/// directory without following links, so a link the task planted at the destination (or
/// on the way) is refused or replaced, never written through.
fn write_template(alloc_root: &Path, dest: &Path, text: &[u8], mode: u32) -> Result<bool, String> {
    use super::safe_path::{Dir, is_refused};
    let why = |e: std::io::Error| {
        if is_refused(&e) {
            format!(
                "{}: a symlink is on the way; templates are not written through links",
                dest.display()
            )
        } else {
            format!("{}: {e}", dest.display())
        }
    };
    let rel = dest.strip_prefix(alloc_root).map_err(|_| {
        format!(
            "destination {} escapes the allocation directory",
            dest.display()
        )
    })?;
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Err(format!("destination {} names no file", dest.display()));
    };
    let root = Dir::open(alloc_root).map_err(why)?;
    if let Ok(mut f) = root.open_read(rel)
        && f.metadata().is_ok_and(|m| m.is_file())
    {
        let mut old = Vec::new();
        if std::io::Read::read_to_end(&mut f, &mut old).is_ok() && old == text {
            return Ok(false);
        }
    }
    let dir = root.create_dir_all(parent, 0o755).map_err(why)?;
    dir.write_atomic(name, text, mode).map_err(why)?;
    Ok(true)
}

fn render_pass(
    task: &Task,
    dir: &TaskDir,
    alloc_root: &Path,
    ctx: &TaskTemplateContext<'_>,
    write: bool,
) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    for t in &task.templates {
        let name = if t.dest_path.is_empty() {
            "<no destination>"
        } else {
            &t.dest_path
        };
        let fail = |e: &dyn std::fmt::Display| format!("template {name:?}: {e}");
        let source = template_source(t, &dir.dir).map_err(|e| fail(&e))?;
        let text = render(&source, &t.left_delim, &t.right_delim, ctx).map_err(|e| fail(&e))?;
        if t.envvars {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    return Err(fail(&format!(
                        "line {}: env templates must hold KEY=VALUE lines, got {line:?}",
                        i + 1
                    )));
                };
                out.env
                    .insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
        if !write {
            continue;
        }
        let dest = template_destination(t, &dir.dir, alloc_root).map_err(|e| fail(&e))?;
        let perms = if t.perms.is_empty() { "0644" } else { &t.perms };
        let mode = u32::from_str_radix(perms, 8).map_err(|_| {
            fail(&format!(
                "perms {perms:?} is not an octal mode like \"0644\""
            ))
        })?;
        if !write_template(alloc_root, &dest, text.as_bytes(), mode).map_err(|e| fail(&e))? {
            continue;
        }
        out.changed
            .push((t.change_mode.clone(), t.change_signal.clone()));
    }
    out.services = ctx.sources.catalog.keys().cloned().collect();
    out.services.extend(ctx.missing.borrow().iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests;
