//! Fetching an artifact over http(s): one shared hyper-rustls client, redirects, timeouts, and the checksum check.

use super::*;

pub(super) type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

pub(super) fn http_client() -> Result<&'static HttpsClient, String> {
    static CLIENT: OnceLock<HttpsClient> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    // The system's trust store (SSL_CERT_FILE/SSL_CERT_DIR honoured), as Go's
    // go-getter uses; Mozilla's roots when the system has none.
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(connector);
    Ok(CLIENT.get_or_init(|| client))
}

pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(60);
pub(super) const MAX_REDIRECTS: usize = 10;

/// Streams `url` into `out`, checking the checksum on the way.
pub(super) async fn download(req: &Request, url: &str, out: &Path) -> Result<(), ArtifactError> {
    let fail = |message: String| ArtifactError::Download {
        artifact: req.label.clone(),
        message,
    };
    let client = http_client().map_err(&fail)?;
    let mut url = url.to_string();
    let mut redirects = 0;
    let resp = loop {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| fail(format!("bad URL {url:?}: {e}")))?;
        let mut builder = hyper::Request::get(uri.clone()).header(
            hyper::header::USER_AGENT,
            concat!("orch/", env!("CARGO_PKG_VERSION")),
        );
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(format!("bad request: {e}")))?;
        let resp = tokio::time::timeout(CONNECT_TIMEOUT, client.request(request))
            .await
            .map_err(|_| fail(format!("no response from {url} within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| fail(format!("{url}: {}", error_chain(&e))))?;
        let status = resp.status();
        if status.is_redirection()
            && let Some(loc) = resp.headers().get(hyper::header::LOCATION)
        {
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(fail(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let loc = loc
                .to_str()
                .map_err(|_| fail("bad redirect location".into()))?;
            url = resolve_location(&url, loc).map_err(fail)?;
            continue;
        }
        if !status.is_success() {
            return Err(fail(format!("{url}: HTTP {status}")));
        }
        break resp;
    };

    let mut hasher = req.checksum.as_ref().map(|(k, _)| Hasher::new(*k));
    let mut file = tokio::fs::File::create(out)
        .await
        .map_err(|e| fail(format!("{}: {e}", out.display())))?;
    let mut body = resp.into_body();
    let mut received: u64 = 0;
    loop {
        let frame = tokio::time::timeout(READ_TIMEOUT, body.frame())
            .await
            .map_err(|_| fail(format!("no data from {url} within {READ_TIMEOUT:?}")))?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| fail(format!("{url}: {}", error_chain(&e))))?;
        if let Ok(data) = frame.into_data() {
            received = received.saturating_add(data.len() as u64);
            if received > req.limits.download_bytes {
                return Err(ArtifactError::TooLarge {
                    artifact: req.label.clone(),
                    what: format!(
                        "the download is larger than {} bytes (the client's artifact size limit)",
                        req.limits.download_bytes
                    ),
                });
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&data);
            }
            file.write_all(&data)
                .await
                .map_err(|e| fail(format!("{}: {e}", out.display())))?;
        }
    }
    file.flush()
        .await
        .map_err(|e| fail(format!("{}: {e}", out.display())))?;
    if let (Some(h), Some((kind, expected))) = (hasher, &req.checksum) {
        verify(req, *kind, expected, h.hex())?;
    }
    Ok(())
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// Where a redirect's `Location` points, resolved against the URL that answered it as
/// RFC 3986 says (`//host/x`, `?q`, `../x` and absolute URLs included).
pub(super) fn resolve_location(base: &str, loc: &str) -> Result<String, String> {
    let base = url::Url::parse(base).map_err(|e| format!("bad URL {base:?}: {e}"))?;
    base.join(loc)
        .map(String::from)
        .map_err(|e| format!("bad redirect location {loc:?}: {e}"))
}

pub(super) fn verify(
    req: &Request,
    kind: HashKind,
    expected: &str,
    actual: String,
) -> Result<(), ArtifactError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ArtifactError::ChecksumMismatch {
            artifact: req.label.clone(),
            kind: kind.name(),
            expected: expected.to_string(),
            actual,
        })
    }
}
