//! `orch tls ca create`: a self-signed CA, `<domain>-agent-ca.pem` and its key
//! `<domain>-agent-ca-key.pem` in the current directory.

use std::process::ExitCode;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

use crate::cli::flags::{FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch tls ca create [options]

  Creates a certificate authority in the current directory: <domain>-agent-ca.pem
  and <domain>-agent-ca-key.pem (nomad-agent-ca.pem by default). Existing files are
  never overwritten.

Options:
  -domain=<domain>     Domain of the agents' names (default nomad)
  -days=<n>            Validity in days (default 1825)
  -common-name=<name>  The CA's common name (default \"Nomad Agent CA\")";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("domain"),
    FlagSpec::value("days"),
    FlagSpec::value("common-name"),
];

/// Runs `orch tls ca create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(extra) = p.positional.first() {
        return Err(format!("unexpected argument {extra:?}\n\n{USAGE}"));
    }
    let domain = p.all("domain").last().map_or("nomad", String::as_str);
    let days = super::days(&p, 1825)?;
    let common_name = p
        .all("common-name")
        .last()
        .cloned()
        .unwrap_or_else(|| "Nomad Agent CA".into());
    let (cert, key) =
        make_ca(&common_name, days).map_err(|e| format!("cannot create the CA: {e}"))?;
    super::save_new(&format!("{domain}-agent-ca.pem"), &cert, 0o644)?;
    super::save_new(&format!("{domain}-agent-ca-key.pem"), &key, 0o600)?;
    Ok(ExitCode::SUCCESS)
}

/// A CA certificate and its key, PEM, valid from now for `days`.
fn make_ca(common_name: &str, days: i64) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "orch");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::days(days);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}
