//! Filtering (`?filter=`, see [`super::filter`]) and pagination (`?per_page=` and
//! `?next_token=`, answered with `X-Nomad-NextToken`) of the list endpoints, as Nomad's
//! `api-docs` "Filtering" and "Pagination" describe them.
//!
//! The filter is evaluated on each object exactly as the endpoint lists it; filtered-out
//! objects do not count towards `per_page`. The token is the sort key of the first object
//! of the next page (`namespace.ID` for jobs, the ID elsewhere), so a page stays correct
//! when objects before it are deleted.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::Value;

use super::filter::Expr;
use super::{ApiError, ApiState, QueryOpts};

/// Filter and page settings of one list request.
#[derive(Debug, Clone, Default)]
pub struct ListOpts {
    /// `filter=`, parsed.
    pub filter: Option<Expr>,
    /// `per_page=` (0: everything).
    pub per_page: usize,
    /// `next_token=`: start at this sort key.
    pub next_token: Option<String>,
}

impl ListOpts {
    /// Takes `filter`, `per_page` and `next_token` out of the query and parses the rest as
    /// usual; a bad filter or page size is a 400 naming the problem.
    pub fn parse(mut raw: super::query::RawParams) -> Result<(QueryOpts, ListOpts), ApiError> {
        let filter = match raw.remove("filter") {
            Some(f) if !f.trim().is_empty() => Some(
                Expr::parse(&f).map_err(|e| ApiError::bad_request(format!("filter {f:?}: {e}")))?,
            ),
            _ => None,
        };
        let per_page = match raw.remove("per_page") {
            Some(p) if !p.is_empty() => p.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!(
                    "Invalid per_page {p:?}: use a positive number of results per page"
                ))
            })?,
            _ => 0,
        };
        let next_token = raw.remove("next_token").filter(|t| !t.is_empty());
        Ok((
            QueryOpts::parse(raw)?,
            ListOpts {
                filter,
                per_page,
                next_token,
            },
        ))
    }

    /// One page of `items` (already in sort-key order): skips keys before the token,
    /// drops objects the filter refuses, and returns the page with the next token.
    pub fn page<K: Ord>(
        &self,
        items: impl Iterator<Item = (K, Value)>,
        key_of_token: impl Fn(&str) -> K,
        token_of_key: impl Fn(&K) -> String,
    ) -> (Vec<Value>, Option<String>) {
        let start = self.next_token.as_deref().map(key_of_token);
        let mut out = Vec::new();
        for (k, v) in items {
            if start.as_ref().is_some_and(|s| k < *s) {
                continue;
            }
            if self.filter.as_ref().is_some_and(|f| !f.matches(&v)) {
                continue;
            }
            if self.per_page > 0 && out.len() == self.per_page {
                return (out, Some(token_of_key(&k)));
            }
            out.push(v);
        }
        (out, None)
    }

    /// [`Self::page`] for lists sorted by ID.
    pub fn page_by_id(
        &self,
        items: impl Iterator<Item = (String, Value)>,
    ) -> (Vec<Value>, Option<String>) {
        self.page(items, str::to_string, String::clone)
    }
}

/// A list reply: the body with Nomad's query headers plus `X-Nomad-NextToken` when
/// another page follows.
pub fn reply(api: &ApiState, index: u64, body: &[Value], next: Option<String>) -> Response {
    let mut resp = api.reply(index, body);
    if let Some(token) = next
        && let Ok(v) = HeaderValue::from_str(&token)
    {
        resp.headers_mut()
            .insert(HeaderName::from_static("x-nomad-nexttoken"), v);
    }
    resp
}

#[cfg(test)]
mod tests;
