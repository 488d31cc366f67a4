//! Certificate checks: the calling side's server-certificate verifier (which names a
//! peer must prove) and the answering side's role check of a verified client
//! certificate.
//!
//! Nomad checks names by role, not by the address dialled: servers are dialled by IP,
//! and their certificates name `server.<region>.nomad`. So under
//! `verify_server_hostname` the verifier checks the role name instead of the URL's host;
//! without it only the chain to the CA is checked (the host name is not), as Nomad does.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

use super::{PeerKind, TlsError, TlsSetup};

/// The rustls client config for calls to peers of `kind`: trusts only the CA, presents
/// this agent's certificate, checks role names under `verify_server_hostname`.
pub fn client_config(tls: &TlsSetup, kind: PeerKind) -> Result<rustls::ClientConfig, TlsError> {
    super::ensure_crypto_provider();
    let inner = WebPkiServerVerifier::builder(tls.roots())
        .build()
        .map_err(|e| TlsError::Rustls(format!("CA verifier: {e}")))?;
    let names = if !tls.settings.verify_server_hostname {
        Vec::new()
    } else {
        let mut names = vec![tls.server_name.clone()];
        if kind == PeerKind::Agent {
            names.push(tls.client_name.clone());
        }
        names
    };
    let verifier = Arc::new(RoleVerifier { inner, names });
    let p = tls.protocol();
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&p.provider))
        .with_protocol_versions(p.versions)
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(tls.identity());
    Ok(config)
}

/// A verifier trusting `roots` that checks `names` instead of the dialled host (any
/// name when empty): the CLI's `-tls-server-name`.
pub fn named_verifier(
    roots: Arc<rustls::RootCertStore>,
    names: Vec<String>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    super::ensure_crypto_provider();
    let inner = WebPkiServerVerifier::builder(roots)
        .build()
        .map_err(|e| TlsError::Rustls(format!("CA verifier: {e}")))?;
    Ok(Arc::new(RoleVerifier { inner, names }))
}

/// Accepts any server certificate (`-tls-skip-verify`), still checking that the
/// handshake is signed by the certificate's key.
#[derive(Debug)]
pub struct SkipVerify(pub Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the chain with webpki, then the names: one of `names` when set, none at all
/// when empty.
#[derive(Debug)]
struct RoleVerifier {
    inner: Arc<WebPkiServerVerifier>,
    names: Vec<String>,
}

fn name_error(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl ServerCertVerifier for RoleVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.names.is_empty() {
            // webpki checks the chain before the name, so a name error means the chain
            // is good.
            return match self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(e) if name_error(&e) => Ok(ServerCertVerified::assertion()),
                other => other,
            };
        }
        let mut last = Error::InvalidCertificate(CertificateError::NotValidForName);
        for name in &self.names {
            let Ok(name) = ServerName::try_from(name.as_str()) else {
                continue;
            };
            match self.inner.verify_server_cert(
                end_entity,
                intermediates,
                &name,
                ocsp_response,
                now,
            ) {
                Ok(ok) => return Ok(ok),
                Err(e) if name_error(&e) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Whether `cert` (already verified against the CA by the listener) is valid for the
/// DNS name `name`, e.g. `server.global.nomad`.
pub fn cert_has_name(cert: &CertificateDer<'_>, name: &str) -> bool {
    let Ok(parsed) = webpki::EndEntityCert::try_from(cert) else {
        return false;
    };
    let Ok(server_name) = ServerName::try_from(name) else {
        return false;
    };
    parsed
        .verify_is_valid_for_subject_name(&server_name)
        .is_ok()
}

/// The rustls config of a listener: this agent's certificate; callers must present one
/// signed by the CA when `require_client_cert`.
pub fn server_config(
    tls: &TlsSetup,
    require_client_cert: bool,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    super::ensure_crypto_provider();
    let p = tls.protocol();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&p.provider))
        .with_protocol_versions(p.versions)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = if require_client_cert {
        let verifier = rustls::server::WebPkiClientVerifier::builder(tls.roots())
            .build()
            .map_err(|e| TlsError::Rustls(format!("client verifier: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_cert_resolver(tls.identity());
    config.ignore_client_order = p.prefer_server;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
