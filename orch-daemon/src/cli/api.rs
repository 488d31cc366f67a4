//! `ApiClient`, the HTTP client of the verbs that talk to an agent (not the client
//! agent, which is `crate::client`): address resolution (`-address`, `ORCH_ADDR`,
//! `NOMAD_ADDR`, default `http://127.0.0.1:4646`) from the flags every such verb shares
//! ([`super::flags::COMMON`]), TLS options (`-ca-cert`, `-client-cert`, `-client-key`,
//! `-tls-server-name`, `-tls-skip-verify` and Nomad's `NOMAD_*` variables), blocking calls to Nomad's `/v1` API, and unique-prefix ID
//! resolution.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::flags::Parsed;
use crate::tls::ClientTlsOptions;

/// Default agent address, Nomad's.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:4646";

/// The agent address: `-address`, else `ORCH_ADDR`, else `NOMAD_ADDR`, else the default.
pub fn resolve_address(flag: Option<&str>, orch: Option<String>, nomad: Option<String>) -> String {
    let raw = flag
        .map(str::to_string)
        .or(orch.filter(|s| !s.trim().is_empty()))
        .or(nomad.filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_ADDR.to_string());
    let raw = raw.trim().trim_end_matches('/').to_string();
    if raw.contains("://") {
        raw
    } else {
        format!("http://{raw}")
    }
}

/// A failed API call: the message, plus whether the agent answered 404.
#[derive(Debug)]
pub struct ApiFailure {
    /// HTTP status (0 when the agent could not be reached).
    pub status: u16,
    /// What went wrong and what to do.
    pub message: String,
}

impl From<ApiFailure> for String {
    fn from(f: ApiFailure) -> String {
        f.message
    }
}

/// A blocking client of one agent.
pub struct ApiClient {
    /// Base address, `http://host:port`.
    pub addr: String,
    namespace: Option<String>,
    region: Option<String>,
    /// The ACL token's secret, sent as `X-Nomad-Token`.
    token: Option<String>,
    http: reqwest::Client,
    tls: ClientTlsOptions,
    rt: tokio::runtime::Runtime,
}

/// The TLS options of the flags, else of Nomad's environment variables.
fn tls_options(p: &Parsed) -> ClientTlsOptions {
    let flag_or_env = |flag: &str, env: &str| {
        p.all(flag)
            .last()
            .cloned()
            .or_else(|| std::env::var(env).ok())
            .filter(|s| !s.is_empty())
    };
    let skip_env = std::env::var("NOMAD_SKIP_VERIFY")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "t" | "yes"));
    ClientTlsOptions {
        ca_cert: flag_or_env("ca-cert", "NOMAD_CACERT").map(PathBuf::from),
        client_cert: flag_or_env("client-cert", "NOMAD_CLIENT_CERT").map(PathBuf::from),
        client_key: flag_or_env("client-key", "NOMAD_CLIENT_KEY").map(PathBuf::from),
        server_name: flag_or_env("tls-server-name", "NOMAD_TLS_SERVER_NAME"),
        skip_verify: p.has("tls-skip-verify") || p.has("insecure") || skip_env,
    }
}

impl ApiClient {
    /// The namespace requests are sent for (`None`: the agent's default).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// A client for the address and namespace the parsed flags and environment name.
    pub fn from_flags(p: &Parsed) -> Result<ApiClient, String> {
        let addr = resolve_address(
            p.all("address").last().map(String::as_str),
            std::env::var("ORCH_ADDR").ok(),
            std::env::var("NOMAD_ADDR").ok(),
        );
        let namespace = p
            .all("namespace")
            .last()
            .cloned()
            .or_else(|| std::env::var("NOMAD_NAMESPACE").ok())
            .filter(|s| !s.is_empty());
        let region = p
            .all("region")
            .last()
            .cloned()
            .or_else(|| std::env::var("NOMAD_REGION").ok())
            .filter(|s| !s.is_empty());
        let token = p
            .all("token")
            .last()
            .cloned()
            .or_else(|| std::env::var("ORCH_TOKEN").ok())
            .or_else(|| std::env::var("NOMAD_TOKEN").ok())
            .filter(|s| !s.is_empty());
        let tls = tls_options(p);
        let ca_path = p
            .last("ca-path")
            .map(str::to_string)
            .or_else(|| std::env::var("NOMAD_CAPATH").ok())
            .filter(|s| !s.is_empty());
        if let (Some(dir), None) = (ca_path, &tls.ca_cert) {
            return Err(format!(
                "-ca-path {dir:?} (or NOMAD_CAPATH) is not supported by orch: give the CA \
                 certificates as one PEM bundle with -ca-cert (or NOMAD_CACERT)"
            ));
        }
        let mut client = ApiClient::new(addr, namespace, region, tls)?;
        client.token = token;
        Ok(client)
    }

    /// A client of `addr`, with the caller's TLS options (`-ca-cert` ...).
    pub fn new(
        addr: String,
        namespace: Option<String>,
        region: Option<String>,
        tls: ClientTlsOptions,
    ) -> Result<ApiClient, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP client runtime: {e}"))?;
        let builder = crate::tls::http_client_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(330));
        let http = tls
            .apply(builder)
            .map_err(|e| e.to_string())?
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ApiClient {
            addr,
            namespace,
            region,
            token: None,
            http,
            tls,
            rt,
        })
    }

    /// Runs `fut` on the client's runtime, for long-lived sessions (`alloc exec`).
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// Opens a websocket to `path` with the caller's token, namespace, region and TLS
    /// options; call it inside [`ApiClient::block_on`].
    pub async fn websocket(&self, path: &str) -> Result<crate::ws::ClientSocket, String> {
        let tls = self
            .tls
            .rustls_config()
            .map_err(|e| e.to_string())?
            .map(std::sync::Arc::new);
        let headers: Vec<(&str, String)> = self
            .token
            .iter()
            .map(|t| ("X-Nomad-Token", t.clone()))
            .collect();
        crate::ws::connect(&self.url(path), tls, &headers)
            .await
            .map_err(|e| e.to_string())
    }

    fn url(&self, path: &str) -> String {
        let mut url = format!("{}{path}", self.addr);
        let mut sep = if path.contains('?') { '&' } else { '?' };
        // A path naming its own namespace (an object found across `-namespace '*'`)
        // keeps it.
        let own_namespace = path.contains("?namespace=") || path.contains("&namespace=");
        for (k, v) in [("namespace", &self.namespace), ("region", &self.region)] {
            if k == "namespace" && own_namespace {
                continue;
            }
            if let Some(v) = v {
                url.push_str(&format!("{sep}{k}={}", encode(v)));
                sep = '&';
            }
        }
        url
    }

    /// Sends a request; returns the JSON body and the `X-Nomad-Index` header.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(Value, u64), ApiFailure> {
        self.call_with(method, path, body, None)
    }

    /// [`Self::call`] with one more header (`X-Nomad-CSI-Secrets`); an empty value
    /// sends none.
    fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        header: Option<(&str, &str)>,
    ) -> Result<(Value, u64), ApiFailure> {
        let url = self.url(path);
        let mut req = self.with_token(self.http.request(method.clone(), &url));
        if let Some((name, value)) = header.filter(|(_, v)| !v.is_empty()) {
            req = req.header(name, value);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req, &method, path)
    }

    /// Sends `req` (`method path`, for messages) and decodes the JSON reply and its
    /// `X-Nomad-Index`; a non-2xx answer is an [`ApiFailure`] with the agent's text.
    fn send(
        &self,
        req: reqwest::RequestBuilder,
        method: &reqwest::Method,
        path: &str,
    ) -> Result<(Value, u64), ApiFailure> {
        self.send_paged(req, method, path)
            .map(|(v, index, _)| (v, index))
    }

    /// `GET path` of a paginated list: the page and the `X-Nomad-NextToken` of the
    /// next one (`None` on the last page).
    pub fn get_page(&self, path: &str) -> Result<(Value, Option<String>), ApiFailure> {
        let req = self.with_token(self.http.get(self.url(path)));
        self.send_paged(req, &reqwest::Method::GET, path)
            .map(|(v, _, next)| (v, next))
    }

    /// [`Self::send`], also returning the `X-Nomad-NextToken` header.
    fn send_paged(
        &self,
        req: reqwest::RequestBuilder,
        method: &reqwest::Method,
        path: &str,
    ) -> Result<(Value, u64, Option<String>), ApiFailure> {
        self.rt.block_on(async {
            let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
            let status = resp.status();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let index = header("x-nomad-index")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let next = header("x-nomad-nexttoken").filter(|t| !t.is_empty());
            let text = resp.text().await.map_err(|e| ApiFailure {
                status: status.as_u16(),
                message: format!("reading the reply of {method} {path} failed: {e}; retry"),
            })?;
            if !status.is_success() {
                return Err(ApiFailure {
                    status: status.as_u16(),
                    message: format!(
                        "Unexpected response code: {} ({})",
                        status.as_u16(),
                        text.trim()
                    ),
                });
            }
            let value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| ApiFailure {
                    status: status.as_u16(),
                    message: format!(
                        "the agent at {} answered {method} {path} with invalid JSON ({e}); is it an orch or Nomad agent?",
                        self.addr
                    ),
                })?
            };
            Ok((value, index, next))
        })
    }

    /// Streams a response body to `out` as it arrives (`alloc logs -f`); no total
    /// timeout, since a followed stream lasts as long as the user wants.
    pub fn stream(&self, path: &str, out: &mut dyn std::io::Write) -> Result<(), ApiFailure> {
        let url = self.url(path);
        let builder = crate::tls::http_client_builder().connect_timeout(Duration::from_secs(5));
        let http = self
            .tls
            .apply(builder)
            .map_err(|e| e.to_string())
            .and_then(|b| b.build().map_err(|e| e.to_string()))
            .map_err(|e| ApiFailure {
                status: 0,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        self.rt.block_on(async {
            let mut resp = self
                .with_token(http.get(&url))
                .send()
                .await
                .map_err(|e| self.unreachable(&e))?;
            let status = resp.status();
            if !status.is_success() {
                let text = resp.text().await.unwrap_or_default();
                return Err(ApiFailure {
                    status: status.as_u16(),
                    message: format!(
                        "Unexpected response code: {} ({})",
                        status.as_u16(),
                        text.trim()
                    ),
                });
            }
            loop {
                match resp.chunk().await {
                    Ok(Some(bytes)) => {
                        if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
                            return Ok(()); // The reader went away (`| head`).
                        }
                    }
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        return Err(ApiFailure {
                            status: 0,
                            message: format!("the log stream broke: {e}; run the command again"),
                        });
                    }
                }
            }
        })
    }

    /// Adds the ACL token header when a token is set.
    fn with_token(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.header("X-Nomad-Token", t),
            None => req,
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> ApiFailure {
        let mut cause = String::new();
        let mut src: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = src {
            cause = s.to_string();
            src = s.source();
        }
        let what = if e.is_timeout() {
            "timed out".to_string()
        } else {
            let c = cause.to_lowercase();
            match c.find(" (os error") {
                Some(i) => c[..i].to_string(),
                None => c,
            }
        };
        ApiFailure {
            status: 0,
            message: format!(
                "cannot reach the orch agent at {}: {what}; start one with `orch agent -dev` or set ORCH_ADDR (or -address) to a running agent",
                self.addr
            ),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value, ApiFailure> {
        self.call(reqwest::Method::GET, path, None).map(|(v, _)| v)
    }

    /// `GET path` as a blocking query: waits until the index passes `index` (or `wait`).
    pub fn get_blocking(
        &self,
        path: &str,
        index: u64,
        wait: &str,
    ) -> Result<(Value, u64), ApiFailure> {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.call(
            reqwest::Method::GET,
            &format!("{path}{sep}index={index}&wait={wait}"),
            None,
        )
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Result<Value, ApiFailure> {
        self.call(reqwest::Method::PUT, path, Some(body))
            .map(|(v, _)| v)
    }

    /// `PUT path` with raw bytes (`operator snapshot restore`); returns the JSON reply.
    pub fn put_bytes(&self, path: &str, body: Vec<u8>) -> Result<Value, ApiFailure> {
        let req = self
            .with_token(self.http.put(self.url(path)))
            .header("content-type", "application/octet-stream")
            .body(body);
        self.send(req, &reqwest::Method::PUT, path).map(|(v, _)| v)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Value, ApiFailure> {
        self.call(reqwest::Method::DELETE, path, None)
            .map(|(v, _)| v)
    }

    /// `DELETE path` with one more header (none when `value` is empty).
    pub fn delete_with_header(
        &self,
        path: &str,
        name: &str,
        value: &str,
    ) -> Result<Value, ApiFailure> {
        self.call_with(reqwest::Method::DELETE, path, None, Some((name, value)))
            .map(|(v, _)| v)
    }

    /// `GET path` with one more header (none when `value` is empty).
    pub fn get_with_header(
        &self,
        path: &str,
        name: &str,
        value: &str,
    ) -> Result<Value, ApiFailure> {
        self.call_with(reqwest::Method::GET, path, None, Some((name, value)))
            .map(|(v, _)| v)
    }

    /// Resolves an ID or unique ID prefix with a `?prefix=` list endpoint (`/v1/jobs`,
    /// `/v1/nodes`, `/v1/evaluations`, `/v1/allocations`); `kind` names the object.
    pub fn resolve(&self, list: &str, kind: &str, prefix: &str) -> Result<String, String> {
        if prefix.is_empty() {
            return Err(format!("{kind} ID must not be empty"));
        }
        let items = self.get(&format!("{list}?prefix={}", encode(prefix)))?;
        let ids: Vec<String> = items
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["ID"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if ids.iter().any(|i| i == prefix) {
            return Ok(prefix.to_string());
        }
        match ids.as_slice() {
            [] => {
                let hint = match kind {
                    "evaluation" => "orch eval list",
                    "allocation" => "orch job status <job>",
                    "node" => "orch node status",
                    _ => "orch job status",
                };
                Err(format!(
                    "No {kind} with prefix or ID {prefix:?} found; list them with `{hint}`"
                ))
            }
            [one] => Ok(one.clone()),
            many => Err(format!(
                "Prefix {prefix:?} matched multiple {kind}s; give more characters of one of:\n  {}",
                many.join("\n  ")
            )),
        }
    }
}

/// The query parameters of [`super::flags::PAGING`] (`filter`, `per_page`,
/// `next_token`), encoded, as Nomad's list commands send them.
pub fn list_query(p: &Parsed) -> Result<Vec<String>, String> {
    if let Some(n) = p.last("per-page")
        && n.parse::<u32>().is_err()
    {
        return Err(format!("-per-page {n:?}: expected a number of results"));
    }
    let mut query = Vec::new();
    for (flag, param) in [
        ("filter", "filter"),
        ("per-page", "per_page"),
        ("page-token", "next_token"),
    ] {
        if let Some(v) = p.last(flag) {
            query.push(format!("{param}={}", encode(v)));
        }
    }
    Ok(query)
}

/// `path` with the `query` parameters, if any.
pub fn with_query(path: &str, query: &[String]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{}", query.join("&"))
}

/// What a query or path component may hold unencoded: RFC 3986's unreserved characters.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query or path component.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

#[cfg(test)]
mod tests;
