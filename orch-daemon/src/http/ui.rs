//! The web UI at `/ui`, served by every agent: plain HTML, CSS and JavaScript modules
//! from `orch-daemon/ui/`, compiled into the binary with `include_bytes!` so that an
//! agent needs no files beside it and nothing loads from a CDN (no Node.js toolchain is
//! reachable on this project's machines, so there is no build step either).
//!
//! The pages run in the browser and read only Nomad's `/v1` API (same origin, relative
//! URLs, so TLS works unchanged); this module only hands out the files:
//! - `/ui/assets/<file>`: one embedded file with its content type, or 404;
//! - any other `/ui` path: `index.html`, so the page's router draws the view the path
//!   names (`/ui/jobs/web`, `/ui/allocations/<id>`) on a reload or a pasted link;
//! - `/`: a redirect to `/ui/`, as Nomad's agent does.
//!
//! The routes are public (`http::auth::rules`): the files hold no data, and the API
//! calls they make carry the token the user enters.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// One embedded file: its name under `/ui/assets/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $ty:expr) => {
        Asset {
            name: $name,
            content_type: $ty,
            bytes: include_bytes!(concat!("../../ui/", $name)),
        }
    };
}

/// Every file of the UI but `index.html`.
const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("explain.js", JS),
    asset!("chart.js", JS),
    asset!("jobs.js", JS),
    asset!("job.js", JS),
    asset!("alloc.js", JS),
    asset!("alloc_io.js", JS),
    asset!("nodes.js", JS),
    asset!("topology.js", JS),
    asset!("cluster.js", JS),
    asset!("login.js", JS),
];

/// The page every non-asset `/ui` path answers with.
const INDEX: &[u8] = include_bytes!("../../ui/index.html");

/// What the browser may load: only this agent's own files and API (no CDN, no inline
/// scripts); inline styles are allowed for the widths of the bars the pages draw.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/// The `/ui` routes and the `/` redirect, for any router state (the server's API router
/// and a client-only agent's router both merge them).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui/") }))
        .route("/ui", get(|| async { Redirect::temporary("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/assets/{file}", get(asset))
        .route("/ui/{*path}", get(index))
}

/// `index.html` for every route of the page's own router.
async fn index() -> Response {
    file_response("text/html; charset=utf-8", INDEX)
}

/// One embedded file, or a 404 naming it.
async fn asset(Path(file): Path<String>) -> Response {
    match find(&file) {
        Some(a) => file_response(a.content_type, a.bytes),
        None => (
            StatusCode::NOT_FOUND,
            format!("no UI file {file:?} in this agent (the UI is embedded in the orch binary)"),
        )
            .into_response(),
    }
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// A file with its type; `no-cache` so a new agent binary's UI is seen at once (the
/// files are small), `nosniff` and the CSP against content-type confusion and injection.
fn file_response(content_type: &'static str, bytes: &'static [u8]) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(path: &str) -> (StatusCode, String, String) {
        let app: Router = routes();
        let resp = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let ty = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .or_else(|| resp.headers().get(header::LOCATION))
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, ty, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn index_for_every_page_route_and_assets_typed() {
        for path in ["/ui/", "/ui/jobs", "/ui/jobs/web@default", "/ui/topology"] {
            let (status, ty, body) = call(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(ty.starts_with("text/html"), "{path}: {ty}");
            assert!(body.contains("/ui/assets/app.js"), "{path}");
        }
        let (status, ty, _) = call("/ui/assets/app.js").await;
        assert_eq!((status, ty.as_str()), (StatusCode::OK, JS));
        let (status, ty, _) = call("/ui/assets/style.css").await;
        assert_eq!(status, StatusCode::OK);
        assert!(ty.starts_with("text/css"));
        let (status, _, body) = call("/ui/assets/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("nope.js"));
        let (status, location, _) = call("/").await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::TEMPORARY_REDIRECT, "/ui/")
        );
    }

    /// Every module a page imports is embedded: a missing one would 404 in the browser.
    #[test]
    fn every_imported_module_is_embedded() {
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(a.bytes).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(start) = line.find("'./") else {
                    continue;
                };
                let rest = &line[start + 3..];
                let name = &rest[..rest.find('\'').unwrap()];
                assert!(
                    find(name).is_some(),
                    "{} imports {name}, not embedded",
                    a.name
                );
            }
        }
    }
}
