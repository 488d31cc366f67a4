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
    /// Why orch refuses this Nomad flag, if it does: given (a switch turned on), it is
    /// an error naming it, never silently ignored.
    pub refused: Option<&'static str>,
}

impl FlagSpec {
    /// A switch (`-detach`).
    pub const fn switch(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            takes_value: false,
            refused: None,
        }
    }

    /// A flag that takes a value (`-job web`, `-job=web`).
    pub const fn value(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            takes_value: true,
            refused: None,
        }
    }

    /// A Nomad switch orch cannot honour yet: `-name` is an error saying `why`.
    pub const fn refused_switch(name: &'static str, why: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            takes_value: false,
            refused: Some(why),
        }
    }

    /// A Nomad flag with a value orch cannot honour yet: an error saying `why`.
    pub const fn refused_value(name: &'static str, why: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            takes_value: true,
            refused: Some(why),
        }
    }
}

/// Nomad's general options (its `FlagSetClient`): every verb that talks to an agent
/// takes them. `-no-color` and `-force-color` are accepted and change nothing (orch
/// never colors its output); `-insecure` is `-tls-skip-verify`'s old name.
pub const COMMON: &[FlagSpec] = &[
    FlagSpec::value("address"),
    FlagSpec::value("region"),
    FlagSpec::value("namespace"),
    FlagSpec::switch("no-color"),
    FlagSpec::switch("force-color"),
    FlagSpec::value("ca-cert"),
    FlagSpec::value("ca-path"),
    FlagSpec::value("client-cert"),
    FlagSpec::value("client-key"),
    FlagSpec::switch("insecure"),
    FlagSpec::value("tls-server-name"),
    FlagSpec::switch("tls-skip-verify"),
    FlagSpec::value("token"),
];

/// `-json` and `-t <template>`: the verbs that print an API object declare them (a verb
/// without them refuses both, never ignores them); printed by `output::print`.
pub const OUTPUT: &[FlagSpec] = &[FlagSpec::switch("json"), FlagSpec::value("t")];

/// `-json` of the verbs that read a specification file: parse it as JSON.
pub const JSON_INPUT: &[FlagSpec] = &[FlagSpec::switch("json")];

/// `-verbose` alone (full IDs), for verbs with no other flags.
pub const VERBOSE: &[FlagSpec] = &[FlagSpec::switch("verbose")];

/// Nomad's list flags: `-filter`, `-per-page`, `-page-token` (see
/// `api::list_query`, which sends them).
pub const PAGING: &[FlagSpec] = &[
    FlagSpec::value("filter"),
    FlagSpec::value("per-page"),
    FlagSpec::value("page-token"),
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

/// A noun given without its verb (`orch job`): its usage on standard error and exit
/// code 1, Nomad's `RunResultHelp`.
pub fn usage_exit(usage: &str) -> Result<ExitCode, String> {
    eprintln!("{}", usage.trim_end());
    Ok(ExitCode::from(1))
}

/// Parses a verb's arguments against its flag groups (e.g. `&[COMMON, FLAGS]`). Help
/// among the leading flags prints `usage` (with Nomad's `General Options` when the verb
/// takes [`COMMON`]) and returns `None`; a parse error carries `usage` after the
/// message. `-verbose` turns on full IDs for the rest of the process
/// ([`super::table::short`]), as it does in every Nomad verb that has it.
pub fn parse_verb(
    args: &[String],
    groups: &[&[FlagSpec]],
    usage: &str,
) -> Result<Option<Parsed>, String> {
    // A verb takes the general options when it takes `-address` (consts have no
    // stable address to compare groups by).
    let general = groups
        .iter()
        .flat_map(|g| g.iter())
        .any(|s| s.name == "address");
    if help_asked(args) {
        let output = groups.iter().any(|g| g.iter().any(|s| s.name == "t"));
        print_usage(&help_text(&with_output_options(usage, output), general))?;
        return Ok(None);
    }
    let specs: Vec<&FlagSpec> = groups.iter().flat_map(|g| g.iter()).collect();
    let parsed = parse_specs(args, &specs).map_err(|e| format!("{e}\n\n{}", usage.trim_end()))?;
    if parsed.has("verbose") {
        super::table::set_full_ids();
    }
    Ok(Some(parsed))
}

/// Nomad's general options, as its `-help` lists them (`orch` in place of `nomad`).
pub const GENERAL_OPTIONS: &str = "General Options:

  -address=<addr>
    The address of the orch (Nomad API) server.
    Overrides the ORCH_ADDR and NOMAD_ADDR environment variables if set.
    Default = http://127.0.0.1:4646

  -region=<region>
    The region of the servers to forward commands to.
    Overrides the NOMAD_REGION environment variable if set.
    Defaults to the Agent's local region.

  -namespace=<namespace>
    The target namespace for queries and actions bound to a namespace.
    Overrides the NOMAD_NAMESPACE environment variable if set.
    If set to '*', subcommands which support this functionality query
    all namespaces authorized to user.
    Defaults to the \"default\" namespace.

  -no-color
    Disables colored command output (orch prints none).

  -force-color
    Accepted for compatibility; orch prints no colors.

  -ca-cert=<path>
    Path to a PEM encoded CA cert file to use to verify the server's TLS
    certificate. Overrides the NOMAD_CACERT environment variable if set.

  -ca-path=<path>
    A directory of PEM encoded CA cert files: not supported by orch (give one
    bundle with -ca-cert). Ignored when -ca-cert is given, as in Nomad.

  -client-cert=<path>
    Path to a PEM encoded client certificate for TLS authentication to the
    server. Must also specify -client-key. Overrides the NOMAD_CLIENT_CERT
    environment variable if set.

  -client-key=<path>
    Path to an unencrypted PEM encoded private key matching the client
    certificate from -client-cert. Overrides the NOMAD_CLIENT_KEY environment
    variable if set.

  -tls-server-name=<value>
    The server name to use as the SNI host when connecting via TLS.
    Overrides the NOMAD_TLS_SERVER_NAME environment variable if set.

  -tls-skip-verify
    Do not verify TLS certificate. This is highly not recommended. Verification
    will also be skipped if NOMAD_SKIP_VERIFY is set. -insecure is the same.

  -token
    The SecretID of an ACL token to use to authenticate API requests with.
    Overrides the ORCH_TOKEN and NOMAD_TOKEN environment variables if set.";

/// `usage` with `-json` and `-t` described where a verb of [`OUTPUT`] does not itself.
fn with_output_options(usage: &str, output: bool) -> String {
    let usage = usage.trim_end();
    if !output || usage.contains("\n  -t") {
        return usage.to_string();
    }
    let json = if usage.contains("\n  -json") {
        ""
    } else {
        "\n\n  -json\n    Output the API object in its JSON format."
    };
    format!("{usage}{json}\n\n  -t\n    Format and display the API object using a Go template.")
}

/// A verb's help in Nomad's layout: the usage line and description, then `General
/// Options` (when `general`), then the verb's own options.
pub fn help_text(usage: &str, general: bool) -> String {
    let usage = usage.trim_end();
    if !general || usage.contains("General Options:") {
        return usage.to_string();
    }
    // The verb's own options start at its first `...Options:` heading line.
    let split = usage.match_indices('\n').map(|(i, _)| i + 1).find(|&i| {
        let line = usage[i..].lines().next().unwrap_or_default();
        !line.starts_with(' ') && line.ends_with("Options:")
    });
    match split {
        Some(i) => format!(
            "{}\n\n{GENERAL_OPTIONS}\n\n{}",
            usage[..i].trim_end(),
            &usage[i..]
        ),
        None => format!("{usage}\n\n{GENERAL_OPTIONS}"),
    }
}

/// Parsed flags and positional arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Every value given per flag, in order (switches get `"true"`).
    pub flags: BTreeMap<String, Vec<String>>,
    /// Arguments after the flags.
    pub positional: Vec<String>,
    /// The switches given (their last value decides: `-detach=false` is off).
    pub switches: std::collections::BTreeSet<String>,
}

impl Parsed {
    /// Whether a switch is on (given, and not last as `-name=false`), or a flag with a
    /// value was given.
    pub fn has(&self, name: &str) -> bool {
        match self.flags.get(name) {
            Some(v) if self.switches.contains(name) => v.last().is_some_and(|v| v == "true"),
            Some(_) => true,
            None => false,
        }
    }

    /// The last value of a flag, if given.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.all(name).last().map(String::as_str)
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
            (false, Some(v)) => go_bool(name, &v)?.to_string(),
            (false, None) => "true".to_string(),
        };
        if let Some(why) = spec.refused
            && (spec.takes_value || value == "true")
        {
            return Err(format!("-{name} is not supported by orch: {why}"));
        }
        if !spec.takes_value {
            out.switches.insert(name.to_string());
        }
        out.flags.entry(name.to_string()).or_default().push(value);
        i += 1;
    }
    Ok(out)
}

/// A switch's `=value` read as Go's `strconv.ParseBool` reads it (Nomad's flags do).
fn go_bool(name: &str, v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "invalid boolean value {v:?} for -{name}: expected true or false"
        )),
    }
}

#[cfg(test)]
mod tests;
