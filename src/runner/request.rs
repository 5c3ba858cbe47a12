//! Building a request from its spec: the URL (kept on the target's origin and
//! under the suite's base path), the query, headers (names may be templates), the
//! body, the timeout; and the request as a failure report shows it.

use std::time::Duration;

use serde_json::Value;

use super::{shorten, Runner};
use crate::http::Request;
use crate::scenario::{RequestSpec, Suite};
use crate::template::{expand_str, expand_value, Scope};

impl Runner {
    /// The request a step's spec describes, templates expanded in `scope`.
    pub(super) fn build_request(
        &self,
        suite: &Suite,
        r: &RequestSpec,
        scope: &Scope,
    ) -> Result<Request, String> {
        let method_name = r
            .method
            .as_ref()
            .map_or("GET".to_string(), |m| m.value.to_ascii_uppercase());
        let method = reqwest::Method::from_bytes(method_name.as_bytes())
            .map_err(|e| format!("method: {e}"))?;
        let mut url = request_url(
            &self.target.base_url,
            &suite.spec.base_path,
            &r.path.value,
            scope,
        )?
        .to_string();
        append_query(&mut url, r, scope)?;
        let mut headers = headers(suite, r, scope)?;
        let body = body(r, scope, &mut headers)?;
        if !has(&headers, "accept") {
            headers.push(("Accept".into(), "application/json".into()));
        }
        let timeout = r
            .timeout
            .as_ref()
            .and_then(|t| humantime::parse_duration(&t.value).ok())
            .unwrap_or(self.options.timeout)
            .min(self.remaining().max(Duration::from_millis(1)));
        Ok(Request {
            method,
            url,
            headers,
            body,
            timeout,
        })
    }

    /// The request as a failure report shows it: line, headers (secrets masked), body excerpt.
    pub(super) fn request_excerpt(&self, req: &Request) -> String {
        let mut s = format!("{} {}", req.method, req.url);
        for (n, v) in &req.headers {
            s.push_str(&format!("\n{n}: {}", self.redactor.header_value(n, v)));
        }
        if let Some(b) = &req.body {
            let text = String::from_utf8_lossy(b);
            let cut: String = text.chars().take(self.options.excerpt_chars).collect();
            s.push_str("\n\n");
            s.push_str(&cut);
            if cut.len() < text.len() {
                s.push_str(&format!("\n… ({} bytes)", b.len()));
            }
        }
        self.redactor.redact(&s).into_owned()
    }
}

/// Appends the spec's `query:` (templates expanded, form-encoded) to `url`.
fn append_query(url: &mut String, r: &RequestSpec, scope: &Scope) -> Result<(), String> {
    if r.query.is_empty() {
        return Ok(());
    }
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &r.query {
        let v = expand_value(&v.value, scope).map_err(|e| format!("query {k}: {e}"))?;
        let k = &expand_str(k, scope).map_err(|e| format!("query name {k}: {e}"))?;
        // A templated name that expands to nothing leaves the parameter out.
        if k.is_empty() {
            continue;
        }
        match v {
            Value::Array(items) => {
                for i in items {
                    pairs.append_pair(k, &scalar_text(&i));
                }
            }
            other => {
                pairs.append_pair(k, &scalar_text(&other));
            }
        }
    }
    let q = pairs.finish();
    if !q.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q);
    }
    Ok(())
}

/// The suite's default headers, then the step's (a later one replaces an earlier
/// one of the same name, in any case).
fn headers(suite: &Suite, r: &RequestSpec, scope: &Scope) -> Result<Vec<(String, String)>, String> {
    let mut headers: Vec<(String, String)> = Vec::new();
    // Header names may be templates too (`"{{ target.auth_header }}": ...`), so a
    // target can rename the headers a suite sends.
    for (n, v) in suite.spec.defaults.headers.iter().chain(&r.headers) {
        let name = expand_str(n, scope).map_err(|e| format!("header name {n}: {e}"))?;
        if name.is_empty() {
            continue;
        }
        let value = expand_str(&v.value, scope).map_err(|e| format!("header {n}: {e}"))?;
        check_header(&name, &value)?;
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }
    Ok(headers)
}

/// The body (`json:` or `body:`), adding a JSON content type unless one is set.
fn body(
    r: &RequestSpec,
    scope: &Scope,
    headers: &mut Vec<(String, String)>,
) -> Result<Option<Vec<u8>>, String> {
    if let Some(j) = &r.json {
        let v = expand_value(&j.value, scope).map_err(|e| format!("json: {e}"))?;
        if !has(headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        return Ok(Some(serde_json::to_vec(&v).map_err(|e| e.to_string())?));
    }
    match &r.body {
        Some(b) => Ok(Some(
            expand_str(&b.value, scope)
                .map_err(|e| format!("body: {e}"))?
                .into_bytes(),
        )),
        None => Ok(None),
    }
}

/// True when a header of this name (any case) is set.
fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// A JSON value as query or header text: strings bare, null empty.
pub(super) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A header a template built must still be one header: a captured value with a line
/// break would otherwise be refused deep in the HTTP client as a "connection" failure.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!(
            "header name `{}` is not a valid HTTP header name",
            shorten(name, 60)
        ));
    }
    if reqwest::header::HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "header {name}: the value holds a line break or another control character, so it is not sent"
        ));
    }
    Ok(())
}

/// The URL of a request: the target's base URL, the suite's base path and the
/// expanded path ([`expand_path`](crate::template::expand_path): inserted values are
/// percent-encoded as segments).
///
/// The result is checked, whatever the templates produced: it has the target's origin
/// (scheme, host, port), no user info, and stays under the base path; a `.`/`..`
/// segment (which URL normalisation would resolve) is refused. So a value a response
/// supplied can never choose where the next keyed request goes.
pub fn request_url(
    base: &str,
    base_path: &str,
    path_template: &str,
    scope: &Scope,
) -> Result<url::Url, String> {
    let path =
        crate::template::expand_path(path_template, scope).map_err(|e| format!("path: {e}"))?;
    let shown = || shorten(&path, 120);
    if !path.is_empty() && !path.starts_with('/') {
        return Err(format!(
            "path `{}` must start with `/` once expanded",
            shown()
        ));
    }
    let segments = path.split(['?', '#']).next().unwrap_or_default();
    if segments.split('/').any(is_dot_segment) {
        return Err(format!(
            "path `{}` has a `.` or `..` segment, which would move the request off its path; launchgate does not send it",
            shown()
        ));
    }
    let root = url::Url::parse(&join_url(base, base_path, ""))
        .map_err(|e| format!("the target's base URL is not usable: {e}"))?;
    let url = url::Url::parse(&join_url(base, base_path, &path))
        .map_err(|e| format!("path `{}` does not make a valid URL: {e}", shown()))?;
    if url.origin() != root.origin() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "path `{}` would send the request to another origin than the target's ({}); launchgate does not send it",
            shown(),
            root.origin().ascii_serialization()
        ));
    }
    let prefix = root.path().trim_end_matches('/');
    let inside = url.path() == prefix || url.path().starts_with(&format!("{prefix}/"));
    if !inside {
        return Err(format!(
            "path `{}` leaves the base path `{prefix}`; launchgate does not send it",
            shown()
        ));
    }
    Ok(url)
}

/// `.` or `..`, also percent-encoded (`%2e%2E`): WHATWG URL parsing resolves them all.
fn is_dot_segment(seg: &str) -> bool {
    let lower = seg.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// Joins base URL, suite base path and step path, without doubling the base
/// path when the target URL already ends with it (contract §A.11).
pub fn join_url(base: &str, base_path: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let bp = base_path.trim_end_matches('/');
    let prefix = if !bp.is_empty() && base.ends_with(bp) {
        String::new()
    } else {
        bp.to_string()
    };
    format!("{base}{prefix}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joining() {
        assert_eq!(
            join_url("http://h", "/api/agent/v1", "/health"),
            "http://h/api/agent/v1/health"
        );
        assert_eq!(
            join_url("http://h/api/agent/v1", "/api/agent/v1", "/health"),
            "http://h/api/agent/v1/health"
        );
        assert_eq!(join_url("http://h/prefix/", "", "/x"), "http://h/prefix/x");
    }
}
