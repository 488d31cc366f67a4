//! Reading the jobspec named on the command line, for `job run`, `job plan` and
//! `job validate`: the file (or standard input) and its `-var`/`-var-file` variables.

use std::collections::BTreeMap;

use crate::cli::flags::{FlagSpec, Parsed};

/// The jobspec flags of `job run`, `plan` and `validate`: HCL variables, `-json` (the
/// file is a JSON jobspec, as in Nomad: these verbs' output flags are others),
/// `-hcl2-strict` and `-vault-namespace`.
pub const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("var"),
    FlagSpec::value("var-file"),
    FlagSpec::switch("json"),
    FlagSpec::switch("hcl2-strict"),
    FlagSpec::refused_value("vault-namespace", "it has no Vault integration"),
];

/// Refuses the jobspec flags orch parses but cannot honour, by name.
fn refuse_unsupported(parsed: &Parsed) -> Result<(), String> {
    if parsed
        .all("hcl2-strict")
        .last()
        .is_some_and(|v| v == "false")
    {
        return Err(
            "-hcl2-strict=false is not supported by orch: a -var or -var-file value \
             for a variable the jobspec does not declare is always an error; remove it"
                .into(),
        );
    }
    Ok(())
}

/// Reads, parses, canonicalizes and validates the jobspec of already parsed flags
/// (`-var`, `-var-file`, one positional path; `-` is standard input).
pub fn load(parsed: &Parsed) -> Result<orch_core::model::Job, String> {
    load_submitted(parsed).map(|(job, _)| job)
}

/// [`load`], with the registration's `Submission` as Nomad's CLI sends it: the jobspec
/// text, its format, the `-var` flags and the `-var-file` texts one after the other.
pub fn load_submitted(
    parsed: &Parsed,
) -> Result<(orch_core::model::Job, orch_core::model::JobSubmission), String> {
    let [path] = parsed.positional.as_slice() else {
        return Err("This command takes one argument: <path> (use - for standard input)".into());
    };
    refuse_unsupported(parsed)?;
    let JobspecVariables {
        values: vars,
        flags,
        var_files,
    } = JobspecVariables::read(parsed)?;
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read jobspec {path}: {e}"))?
    };
    if parsed.has("json") && !text.trim_start().starts_with('{') {
        return Err(format!(
            "-json: {path} is not a JSON jobspec (drop -json to read HCL)"
        ));
    }
    let files = JobspecDir::of(path);
    let mut job = orch_core::jobspec::parse_jobspec_with_files(path, &text, &vars, Some(&files))
        .map_err(|e| e.to_string())?;
    apply_namespace_flag(parsed, (path, &text), &vars, &files, &mut job);
    Ok((job, submission_of(text, flags, var_files)))
}

/// The `Submission` a registration sends with jobspec `text` (kept by the servers for
/// `GET /v1/job/:id/submission`): the text, its format (JSON or HCL2), the `-var`
/// flags and the `-var-file` texts.
pub fn submission_of(
    text: String,
    variable_flags: std::collections::BTreeMap<String, String>,
    variables: String,
) -> orch_core::model::JobSubmission {
    let format = if text.trim_start().starts_with('{') {
        "json"
    } else {
        "hcl2"
    };
    orch_core::model::JobSubmission {
        source: text,
        format: format.into(),
        variable_flags,
        variables,
        ..Default::default()
    }
}

/// The HCL variables of the command line: their values for parsing, and the `-var`
/// flags and `-var-file` texts as the registration's `Submission` records them.
struct JobspecVariables {
    values: BTreeMap<String, serde_json::Value>,
    flags: BTreeMap<String, String>,
    var_files: String,
}

impl JobspecVariables {
    /// `-var-file` files in order, then `-var` flags (which win).
    fn read(parsed: &Parsed) -> Result<JobspecVariables, String> {
        let mut vars = BTreeMap::new();
        let mut var_files = String::new();
        for file in parsed.all("var-file") {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read -var-file {file}: {e}"))?;
            for (k, v) in
                orch_core::jobspec::parse_var_file(file, &text).map_err(|e| e.to_string())?
            {
                vars.insert(k, v);
            }
            var_files.push_str(&text);
            if !var_files.ends_with('\n') {
                var_files.push('\n');
            }
        }
        let mut flags = BTreeMap::new();
        for pair in parsed.all("var") {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("-var {pair:?}: expected name=value"))?;
            vars.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            flags.insert(k.to_string(), v.to_string());
        }
        Ok(JobspecVariables {
            values: vars,
            flags,
            var_files,
        })
    }
}

/// Largest file a jobspec's `file()` may read (templates and scripts are far smaller).
pub const MAX_JOBSPEC_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// `file()` and `fileexists()` of a jobspec on the command line: relative paths are
/// read beside the jobspec (the working directory for standard input).
struct JobspecDir(std::path::PathBuf);

impl JobspecDir {
    fn of(jobspec: &str) -> JobspecDir {
        let dir = match std::path::Path::new(jobspec).parent() {
            Some(p) if jobspec != "-" && !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        JobspecDir(dir)
    }

    fn resolve(&self, path: &str) -> std::path::PathBuf {
        self.0.join(path)
    }
}

impl orch_core::jobspec::FileSource for JobspecDir {
    fn read(&self, path: &str) -> Result<String, String> {
        use std::io::Read;
        let full = self.resolve(path);
        let file = std::fs::File::open(&full)
            .map_err(|e| format!("file({path:?}): cannot read {}: {e}", full.display()))?;
        let mut text = String::new();
        file.take(MAX_JOBSPEC_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("file({path:?}): cannot read {}: {e}", full.display()))?;
        if text.len() as u64 > MAX_JOBSPEC_FILE_BYTES {
            return Err(format!(
                "file({path:?}): {} is larger than the {MAX_JOBSPEC_FILE_BYTES} bytes a jobspec may read",
                full.display()
            ));
        }
        Ok(text)
    }

    fn exists(&self, path: &str) -> bool {
        self.resolve(path).is_file()
    }
}

/// Nomad's rule for `-namespace` (or `NOMAD_NAMESPACE`) on job commands: it places a
/// job whose spec names no namespace; a namespace in the spec wins. The canonical job
/// always has one (`default`), so the spec's text is consulted only in that case.
fn apply_namespace_flag(
    parsed: &Parsed,
    (path, text): (&str, &str),
    vars: &BTreeMap<String, serde_json::Value>,
    files: &JobspecDir,
    job: &mut orch_core::model::Job,
) {
    let flag = parsed
        .all("namespace")
        .last()
        .cloned()
        .or_else(|| std::env::var("NOMAD_NAMESPACE").ok())
        .filter(|n| !n.is_empty());
    let Some(ns) = flag else { return };
    if job.namespace != orch_core::model::DEFAULT_NAMESPACE || ns == job.namespace {
        return;
    }
    let raw = if text.trim_start().starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text).ok()
    } else {
        orch_core::jobspec::parse_hcl_with_files(text, path, vars, Some(files)).ok()
    };
    let named = |v: &serde_json::Value| v.get("Namespace").is_some_and(|n| !n.is_null());
    let spec_names_one = raw.is_some_and(|v| named(&v) || v.get("Job").is_some_and(named));
    if !spec_names_one {
        job.namespace = ns;
    }
}
