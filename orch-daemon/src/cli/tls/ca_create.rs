//! `orch tls ca create`: a self-signed CA, `<domain>-agent-ca.pem` and its key
//! `<domain>-agent-ca-key.pem` in the current directory.

use std::process::ExitCode;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose,
    NameConstraints,
};

use crate::cli::flags::{FlagSpec, Parsed, parse_verb};

const USAGE: &str = "Usage: orch tls ca create [options]

  Create a new certificate authority in the current directory:
  <domain>-agent-ca.pem and <domain>-agent-ca-key.pem (nomad-agent-ca.pem by
  default). Existing files are never overwritten.

CA Create Options:

  -additional-domain
    Add additional DNS zones to the allowed list for the CA (repeatable); only
    with -domain and -name-constraint.

  -common-name
    Common Name of the CA (default \"Nomad Agent CA\").

  -country
    Country of the CA.

  -days=<int>
    Provide number of days the CA is valid for from now on. Defaults to 5 years.

  -domain
    Domain of the cluster. Only used in combination with -name-constraint.
    Defaults to nomad.

  -locality
    Locality of the CA.

  -name-constraint
    Enables the DNS name restriction functionality to the CA: certificates it
    signs are valid only for names in -domain, localhost, nomad and the
    -additional-domain zones. Defaults to false.

  -organization
    Organization of the CA.

  -organizational-unit
    Organizational Unit of the CA.

  -postal-code
    Postal Code of the CA.

  -province
    Province of the CA.

  -street-address
    Street Address of the CA.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("domain"),
    FlagSpec::value("days"),
    FlagSpec::value("common-name"),
    FlagSpec::value("additional-domain"),
    FlagSpec::switch("name-constraint"),
    FlagSpec::value("country"),
    FlagSpec::value("postal-code"),
    FlagSpec::value("province"),
    FlagSpec::value("locality"),
    FlagSpec::value("street-address"),
    FlagSpec::value("organization"),
    FlagSpec::value("organizational-unit"),
];

/// Runs `orch tls ca create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(extra) = p.positional.first() {
        return Err(format!("unexpected argument {extra:?}\n\n{USAGE}"));
    }
    let domain = p.last("domain").unwrap_or("nomad");
    let constraint = p.has("name-constraint");
    if domain != "nomad" && !constraint {
        return Err(
            "Please provide the -name-constraint flag to use a custom domain constraint".into(),
        );
    }
    if p.has("domain") && domain == "nomad" && constraint {
        return Err(
            "Please provide the -domain flag if you want to enable custom domain constraints"
                .into(),
        );
    }
    if !p.all("additional-domain").is_empty() && !constraint {
        return Err(
            "Please provide the -name-constraint flag to use a custom domain constraints".into(),
        );
    }
    let days = super::days(&p, 1825)?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| format!("cannot create the CA: {e}"))?;
    subject(&p, &mut params);
    if constraint {
        let mut zones = vec![domain.to_string(), "localhost".into(), "nomad".into()];
        zones.extend(p.all("additional-domain").iter().cloned());
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: zones.into_iter().map(GeneralSubtree::DnsName).collect(),
            excluded_subtrees: Vec::new(),
        });
    }
    let (cert, key) = make_ca(params, days).map_err(|e| format!("cannot create the CA: {e}"))?;
    super::save_new(&format!("{domain}-agent-ca.pem"), &cert, 0o644)?;
    super::save_new(&format!("{domain}-agent-ca-key.pem"), &key, 0o600)?;
    Ok(ExitCode::SUCCESS)
}

/// The CA's subject: its common name and the distinguished-name flags given.
fn subject(p: &Parsed, params: &mut CertificateParams) {
    let dn = &mut params.distinguished_name;
    dn.push(
        DnType::CommonName,
        p.last("common-name").unwrap_or("Nomad Agent CA"),
    );
    dn.push(
        DnType::OrganizationName,
        p.last("organization").unwrap_or("orch"),
    );
    let fields = [
        ("country", DnType::CountryName),
        ("province", DnType::StateOrProvinceName),
        ("locality", DnType::LocalityName),
        ("organizational-unit", DnType::OrganizationalUnitName),
        // X.520 postalCode (2.5.4.17) and streetAddress (2.5.4.9).
        ("postal-code", DnType::CustomDnType(vec![2, 5, 4, 17])),
        ("street-address", DnType::CustomDnType(vec![2, 5, 4, 9])),
    ];
    for (flag, ty) in fields {
        if let Some(v) = p.last(flag) {
            dn.push(ty, v);
        }
    }
}

/// A CA certificate and its key, PEM, valid from now for `days`.
fn make_ca(mut params: CertificateParams, days: i64) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
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
