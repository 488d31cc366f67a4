//! Nomad-style flags: a single dash, `-flag`, `-flag=value` or `-flag value`, flags before
//! positional arguments. clap cannot parse single-dash long flags, and Nomad users type
//! them from muscle memory, so this small parser keeps the CLI compatible.
//!
//! Every verb declares its flags one way, a `const` slice of [`FlagSpec::switch`] and
//! [`FlagSpec::value`], and parses them with [`parse_verb`] (after [`COMMON`] when it
//! talks to an agent), which also answers `-h`/`-help`/`--help` among the leading flags
//! ([`help_asked`]) by printing the verb's usage ([`print_usage`]). [`Parsed::one_arg`]
//! takes a verb's single positional argument.

use std::collections::BTreeMap;
use std::process::ExitCode;

/// A flag a command accepts.
pub struct FlagSpec {
    /// Name without the dash.
    pub name: &'static str,
    /// Takes a value (`-var k=v`), as opposed to a switch (`-output`).
    pub takes_value: bool,
}

impl FlagSpec {
    /// A switch (`-detach`).
    pub const fn switch(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            takes_value: false,
        }
    }

    /// A flag that takes a value (`-job web`, `-job=web`).
    pub const fn value(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            takes_value: true,
        }
    }
}

/// The flags of every verb that talks to an agent.
pub const COMMON: &[FlagSpec] = &[
    FlagSpec::value("address"),
    FlagSpec::value("namespace"),
    FlagSpec::value("region"),
    FlagSpec::value("token"),
    FlagSpec::switch("json"),
    FlagSpec::value("ca-cert"),
    FlagSpec::value("client-cert"),
    FlagSpec::value("client-key"),
    FlagSpec::value("tls-server-name"),
    FlagSpec::switch("tls-skip-verify"),
];

/// Whether `arg` asks for help: `-h`, `-help` or `--help`.
pub fn is_help(arg: &str) -> bool {
    matches!(arg, "-h" | "-help" | "--help")
}

/// Whether help is asked for among the leading flags of `args` (after them come the
/// positional arguments, which may start with a dash).
pub fn help_asked(args: &[String]) -> bool {
    args.iter()
        .take_while(|a| a.starts_with('-'))
        .any(|a| is_help(a))
}

/// Answers a request for help: prints `usage`, exits 0.
pub fn print_usage(usage: &str) -> Result<ExitCode, String> {
    println!("{}", usage.trim_end());
    Ok(ExitCode::SUCCESS)
}

/// Parses a verb's arguments against its flag groups (e.g. `&[COMMON, FLAGS]`). Help
/// among the leading flags prints `usage` and returns `None`; a parse error carries
/// `usage` after the message.
pub fn parse_verb(
    args: &[String],
    groups: &[&[FlagSpec]],
    usage: &str,
) -> Result<Option<Parsed>, String> {
    if help_asked(args) {
        print_usage(usage)?;
        return Ok(None);
    }
    let specs: Vec<&FlagSpec> = groups.iter().flat_map(|g| g.iter()).collect();
    parse_specs(args, &specs)
        .map(Some)
        .map_err(|e| format!("{e}\n\n{}", usage.trim_end()))
}

/// Parsed flags and positional arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Every value given per flag, in order (switches get `"true"`).
    pub flags: BTreeMap<String, Vec<String>>,
    /// Arguments after the flags.
    pub positional: Vec<String>,
}

impl Parsed {
    /// Whether a switch was given.
    pub fn has(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }

    /// Every value of a repeatable flag.
    pub fn all(&self, name: &str) -> &[String] {
        self.flags.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The one positional argument, `<what>`; otherwise an error followed by `usage`.
    pub fn one_arg(&self, what: &str, usage: &str) -> Result<&str, String> {
        match self.positional.as_slice() {
            [one] => Ok(one),
            _ => Err(format!(
                "this command takes one argument: <{what}>\n\n{usage}"
            )),
        }
    }
}

/// Parses `args` against `specs`; an unknown flag is an error that lists the known ones.
pub fn parse(args: &[String], specs: &[FlagSpec]) -> Result<Parsed, String> {
    parse_specs(args, &specs.iter().collect::<Vec<_>>())
}

fn parse_specs(args: &[String], specs: &[&FlagSpec]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            out.positional.extend(args[i + 1..].iter().cloned());
            break;
        }
        let Some(body) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|b| !b.is_empty())
        else {
            out.positional.extend(args[i..].iter().cloned());
            break;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(spec) = specs.iter().find(|s| s.name == name) else {
            let known: Vec<String> = specs.iter().map(|s| format!("-{}", s.name)).collect();
            return Err(format!(
                "unknown flag -{name}; this command accepts: {}",
                known.join(", ")
            ));
        };
        let value = match (spec.takes_value, inline) {
            (true, Some(v)) => v,
            (true, None) => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("flag -{name} needs a value"))?
            }
            (false, Some(v)) => v,
            (false, None) => "true".to_string(),
        };
        out.flags.entry(name.to_string()).or_default().push(value);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
