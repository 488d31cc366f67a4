//! `orch tls cert create -server|-client|-cli`: a certificate signed by the CA, named
//! as Nomad names them (`global-server-nomad.pem`, `global-server-nomad-key.pem`) and
//! carrying the role in its SANs: `server.<region>.<domain>`, `client.<region>.<domain>`
//! or `cli.<region>.<domain>`, plus `localhost` (and 127.0.0.1 for agents).

use std::net::IpAddr;
use std::process::ExitCode;

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::cli::flags::{FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch tls cert create [options]

  Creates a server, client or CLI certificate signed by the CA, in the current
  directory: <region>-<role>-<domain>.pem and <region>-<role>-<domain>-key.pem.
  Existing files are never overwritten.

Create Options:

  -server
    A server certificate (server.<region>.<domain>)

  -client
    A client certificate (client.<region>.<domain>)

  -cli
    A CLI certificate (cli.<region>.<domain>)

  -region=<region>
    Region of the agent (default global)

  -domain=<domain>
    Domain (default nomad)

  -days=<n>
    Validity in days (default 365)

  -ca=<file>
    The CA certificate (default <domain>-agent-ca.pem)

  -key=<file>
    The CA key (default <domain>-agent-ca-key.pem)

  -additional-dnsname=<name>
    Another DNS name in the SANs (repeatable)

  -additional-ipaddress=<ip>
    Another IP address in the SANs (repeatable)";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("server"),
    FlagSpec::switch("client"),
    FlagSpec::switch("cli"),
    FlagSpec::value("region"),
    FlagSpec::value("domain"),
    FlagSpec::value("days"),
    FlagSpec::value("ca"),
    FlagSpec::value("key"),
    FlagSpec::value("additional-dnsname"),
    FlagSpec::value("additional-ipaddress"),
];

/// What one certificate is for.
struct Request {
    role: &'static str,
    region: String,
    domain: String,
    days: i64,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
}

/// Runs `orch tls cert create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(extra) = p.positional.first() {
        return Err(format!("unexpected argument {extra:?}\n\n{USAGE}"));
    }
    let roles: Vec<&'static str> = ["server", "client", "cli"]
        .into_iter()
        .filter(|r| p.has(r))
        .collect();
    let role = match roles.as_slice() {
        [one] => *one,
        _ => {
            return Err(format!(
                "pass exactly one of -server, -client or -cli\n\n{USAGE}"
            ));
        }
    };
    let last = |name: &str, default: &str| {
        p.all(name)
            .last()
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let domain = last("domain", "nomad");
    let ca_file = last("ca", &format!("{domain}-agent-ca.pem"));
    let key_file = last("key", &format!("{domain}-agent-ca-key.pem"));
    let ips = p
        .all("additional-ipaddress")
        .iter()
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| format!("-additional-ipaddress {s:?} is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let req = Request {
        role,
        region: last("region", "global"),
        domain,
        days: super::days(&p, 365)?,
        dns: p.all("additional-dnsname").to_vec(),
        ips,
    };
    let read = |path: &str, what: &str| {
        std::fs::read_to_string(path).map_err(|e| {
            format!("cannot read the CA {what} {path}: {e}; create one with `orch tls ca create` or name it with -ca/-key")
        })
    };
    let ca_pem = read(&ca_file, "certificate")?;
    let ca_key_pem = read(&key_file, "key")?;
    println!("==> Using CA file {ca_file} and CA key {key_file}");
    let (cert, key) = make_cert(&req, &ca_pem, &ca_key_pem)?;
    let base = format!("{}-{}-{}", req.region, req.role, req.domain);
    super::save_new(&format!("{base}.pem"), &cert, 0o644)?;
    super::save_new(&format!("{base}-key.pem"), &key, 0o600)?;
    Ok(ExitCode::SUCCESS)
}

/// The certificate and its new key, PEM, signed by the CA.
fn make_cert(req: &Request, ca_pem: &str, ca_key_pem: &str) -> Result<(String, String), String> {
    let ca_key = KeyPair::from_pem(ca_key_pem)
        .map_err(|e| format!("the CA key is not a PEM private key ({e})"))?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key)
        .map_err(|e| format!("the CA certificate is not usable PEM ({e})"))?;
    let name = format!("{}.{}.{}", req.role, req.region, req.domain);
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(DnType::CommonName, name.as_str());
    let mut dns = vec![name, "localhost".to_string()];
    dns.extend(req.dns.iter().cloned());
    let mut ips = req.ips.clone();
    if req.role != "cli" {
        ips.push(IpAddr::from([127, 0, 0, 1]));
    }
    for d in dns {
        let d = d
            .clone()
            .try_into()
            .map_err(|_| format!("{d:?} is not a DNS name (use -additional-ipaddress for IPs)"))?;
        params.subject_alt_names.push(SanType::DnsName(d));
    }
    params
        .subject_alt_names
        .extend(ips.into_iter().map(SanType::IpAddress));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = if req.role == "cli" {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    } else {
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ]
    };
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::days(req.days);
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| format!("cannot sign the certificate: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}
