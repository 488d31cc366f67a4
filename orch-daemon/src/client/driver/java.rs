//! `java`: runs a jar or a class on the host's JVM. Builds
//! `java <jvm_options> [-Xmx<memory>m] [-cp class_path] (-jar jar_path | class) args` and
//! runs it with exec's isolation when the agent can isolate (root, cgroups, namespaces:
//! the chroot binds `/usr` and `/etc`, so `/usr/bin/java → /etc/alternatives/java →
//! /usr/lib/jvm/...` resolves inside it), else like raw_exec. Detected only where
//! `java -version` works.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::config::{CapRequest, object, opt_string, string_list};
use super::exec::ExecDriver;
use super::raw_exec::{RawExecDriver, resolve_host};
use super::{Driver, DriverError, DriverFingerprint, TaskHandle, TaskSpec};

/// The java driver.
#[derive(Debug, Clone)]
pub struct JavaDriver {
    /// Isolated runs (as root).
    pub exec: ExecDriver,
    /// Plain runs (not root, or no cgroups).
    pub raw: RawExecDriver,
    /// The `java` launcher to fingerprint and run (default `java`, found through PATH).
    pub java: String,
}

/// A parsed java config block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaConfig {
    /// `-jar` target.
    pub jar_path: Option<String>,
    /// Main class (when there is no jar).
    pub class: Option<String>,
    /// `-cp`.
    pub class_path: Option<String>,
    /// Options before the main class/jar.
    pub jvm_options: Vec<String>,
    /// Arguments of the program.
    pub args: Vec<String>,
    /// `cap_add` / `cap_drop` (isolated runs).
    pub caps: CapRequest,
}

impl JavaConfig {
    /// Parses a java config block: exactly one of `jar_path` and `class`.
    pub fn parse(config: &Value) -> Result<JavaConfig, DriverError> {
        let obj = object(
            config,
            &[
                "jar_path",
                "class",
                "class_path",
                "jvm_options",
                "args",
                "cap_add",
                "cap_drop",
            ],
        )?;
        let cfg = JavaConfig {
            jar_path: opt_string(obj, "jar_path")?.filter(|s| !s.is_empty()),
            class: opt_string(obj, "class")?.filter(|s| !s.is_empty()),
            class_path: opt_string(obj, "class_path")?.filter(|s| !s.is_empty()),
            jvm_options: string_list(obj, "jvm_options")?,
            args: string_list(obj, "args")?,
            caps: CapRequest::from_object(obj)?,
        };
        match (&cfg.jar_path, &cfg.class) {
            (None, None) => Err(DriverError::Config {
                field: "jar_path".into(),
                message: "set jar_path (a jar to run) or class (a main class)".into(),
            }),
            (Some(_), Some(_)) => Err(DriverError::Config {
                field: "class".into(),
                message: "set only one of jar_path and class".into(),
            }),
            _ => Ok(cfg),
        }
    }

    /// The JVM's arguments (without the `java` program itself). `-Xmx<memory_mb>m` is
    /// added unless the options already set `-Xmx` (or `memory_mb` is 0).
    pub fn jvm_args(&self, memory_mb: u64) -> Vec<String> {
        let mut a = self.jvm_options.clone();
        if memory_mb > 0 && !a.iter().any(|o| o.starts_with("-Xmx")) {
            a.push(format!("-Xmx{memory_mb}m"));
        }
        if let Some(cp) = &self.class_path {
            a.extend(["-cp".to_string(), cp.clone()]);
        }
        match (&self.jar_path, &self.class) {
            (Some(jar), _) => a.extend(["-jar".to_string(), jar.clone()]),
            (None, Some(class)) => a.push(class.clone()),
            (None, None) => {}
        }
        a.extend(self.args.iter().cloned());
        a
    }
}

/// `java -version` output → (`java.version`, `java.runtime`, `java.vm`).
pub fn parse_java_version(output: &str) -> Option<(String, String, String)> {
    // Skip lines like `Picked up JAVA_TOOL_OPTIONS: ...` before the version line.
    let mut lines = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .skip_while(|l| !l.contains(" version \""));
    let first = lines.next()?;
    let version = first.split('"').nth(1)?.to_string();
    let runtime = lines.next().unwrap_or_default().to_string();
    let vm = lines.next().unwrap_or_default().to_string();
    Some((version, runtime, vm))
}

impl JavaDriver {
    /// A java driver supervising tasks with `shim_path task-shim`.
    pub fn new(shim_path: PathBuf) -> JavaDriver {
        JavaDriver {
            exec: ExecDriver::new(shim_path.clone()),
            raw: RawExecDriver {
                denied_users: vec!["root".into()],
                ..RawExecDriver::new(shim_path)
            },
            java: "java".into(),
        }
    }
}

impl Driver for JavaDriver {
    fn name(&self) -> &str {
        "java"
    }

    fn fingerprint(&self) -> DriverFingerprint {
        let out = Command::new(&self.java)
            .arg("-version")
            .stdin(Stdio::null())
            .output();
        let parsed = match &out {
            Ok(o) if o.status.success() => {
                // The JVM prints its version on stderr (stdout on some builds).
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stderr),
                    String::from_utf8_lossy(&o.stdout)
                );
                parse_java_version(&text)
            }
            _ => None,
        };
        let Some((version, runtime, vm)) = parsed else {
            return DriverFingerprint {
                detected: false,
                healthy: false,
                health_description: format!(
                    "`{} -version` failed: install a JVM on the node",
                    self.java
                ),
                attributes: Default::default(),
            };
        };
        let isolated = ExecDriver::unavailable_reason().is_none();
        DriverFingerprint {
            detected: true,
            healthy: true,
            health_description: if isolated {
                "Healthy".into()
            } else {
                "Healthy (not isolated: the agent is not root or has no cgroups)".into()
            },
            attributes: [
                ("java".to_string(), "1".to_string()),
                ("java.version".to_string(), version),
                ("java.runtime".to_string(), runtime),
                ("java.vm".to_string(), vm),
            ]
            .into(),
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), DriverError> {
        JavaConfig::parse(config).map(|_| ())
    }

    fn start(&self, spec: &TaskSpec) -> Result<TaskHandle, DriverError> {
        let cfg = JavaConfig::parse(&spec.config)?;
        let memory = if spec.memory_max_mb > 0 {
            spec.memory_max_mb
        } else {
            spec.memory_mb
        };
        let jvm = cfg.jvm_args(memory);
        if ExecDriver::unavailable_reason().is_none() {
            let argv = std::iter::once(self.java.clone()).chain(jvm).collect();
            self.exec.start_argv(self.name(), spec, argv, cfg.caps)
        } else {
            let java = resolve_host(&self.java, spec)?;
            let argv = std::iter::once(java).chain(jvm).collect();
            self.raw.start_argv(self.name(), spec, argv)
        }
    }

    // recover, try_wait, signal, stop, stats, destroy: through the task's shim files.
    crate::shim_task_control!();
}

#[cfg(test)]
mod tests;
