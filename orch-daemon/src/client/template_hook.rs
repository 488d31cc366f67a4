//! Renders a task's `template` blocks into its directory before it starts.
//!
//! Templates read the task environment and the node (`{{ env "NOMAD_ALLOC_ID" }}`,
//! `{{ env "attr.kernel.name" }}`), which do not change while the allocation lives, so
//! rendering once before each start is complete today; `change_mode` matters once
//! templates read the service catalog (`nomadService`), which re-renders on change.

use std::collections::BTreeMap;
use std::path::Path;

use orch_core::lifecycle::InterpolationVars;
use orch_core::model::Task;

use super::alloc_dir::TaskDir;
use super::template::{
    ServiceEntry, TemplateContext, render, template_destination, template_source,
};

/// What templates of one task can see.
pub struct TaskTemplateContext<'a> {
    /// The task's environment and node values.
    pub vars: &'a InterpolationVars,
}

impl TemplateContext for TaskTemplateContext<'_> {
    fn env(&self, key: &str) -> Option<String> {
        self.vars.template_env_lookup(key)
    }

    fn services(&self, _name: &str) -> Option<Vec<ServiceEntry>> {
        None
    }
}

/// Renders every template of `task`; returns the variables of `env = true` templates,
/// which join the task's environment. Errors name the template's destination.
pub fn render_all(
    task: &Task,
    dir: &TaskDir,
    alloc_root: &Path,
    vars: &InterpolationVars,
) -> Result<BTreeMap<String, String>, String> {
    let ctx = TaskTemplateContext { vars };
    let mut env = BTreeMap::new();
    for t in &task.templates {
        let name = if t.dest_path.is_empty() {
            "<no destination>"
        } else {
            &t.dest_path
        };
        let fail = |e: &dyn std::fmt::Display| format!("template {name:?}: {e}");
        let source = template_source(t, &dir.dir).map_err(|e| fail(&e))?;
        let text = render(&source, &t.left_delim, &t.right_delim, &ctx).map_err(|e| fail(&e))?;
        let dest = template_destination(t, &dir.dir, alloc_root).map_err(|e| fail(&e))?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(&e))?;
        }
        std::fs::write(&dest, &text).map_err(|e| fail(&e))?;
        let perms = if t.perms.is_empty() { "0644" } else { &t.perms };
        let mode = u32::from_str_radix(perms, 8).map_err(|_| {
            fail(&format!(
                "perms {perms:?} is not an octal mode like \"0644\""
            ))
        })?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail(&e))?;
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
                let v = v.trim().trim_matches('"');
                env.insert(k.trim().to_string(), v.to_string());
            }
        }
    }
    Ok(env)
}
