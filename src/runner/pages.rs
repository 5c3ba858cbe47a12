//! `pages:` steps: walking a paginated list from page 1 to its end, the way a client
//! that must read every record does, so a scenario can prove the pages add up.

use std::time::Instant;

use serde_json::{json, Value};

use super::Runner;
use crate::http::{Request, Response};
use crate::report::StepReport;
use crate::scenario::{PagesSpec, RequestSpec, Suite};
use crate::template::Scope;

/// What the walk saw: one entry per page requested, and the sums over them.
#[derive(Default)]
struct Walk {
    pages: Vec<Value>,
    non_empty: u64,
    items: u64,
    reached_end: bool,
    first_bad_status: Option<u16>,
    last_status: Option<u16>,
}

impl Walk {
    /// The pseudo-body expectations judge (documented in docs/scenario-format.md).
    fn body(&self) -> Value {
        let last_non_empty = (self.non_empty as usize)
            .checked_sub(1)
            .and_then(|i| self.pages.get(i))
            .cloned()
            .unwrap_or(Value::Null);
        let first_empty = if self.reached_end {
            self.pages.last().map_or(Value::Null, |p| p["page"].clone())
        } else {
            Value::Null
        };
        json!({
            "pages": self.pages,
            "requests": self.pages.len(),
            "non_empty": self.non_empty,
            "items": self.items,
            "reached_end": self.reached_end,
            "first_empty": first_empty,
            "last_non_empty": last_non_empty,
        })
    }
}

impl Runner {
    /// A `pages:` step: sends the request for page 1, 2, ... until a page has no
    /// items (the end), a response is not 2xx or not a list, a request fails, or
    /// `max` pages were requested; returns a pseudo-response describing the walk.
    pub(super) async fn walk_pages(
        &self,
        suite: &Suite,
        request: &RequestSpec,
        spec: &PagesSpec,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Result<(Response, String), String> {
        let base = self.build_request(suite, request, scope)?;
        let member = spec.items_member().unwrap_or("data");
        let line = format!(
            "{} {} ({}=1, 2, ... until an empty page)",
            base.method, base.url, spec.param
        );
        rep.request = self.redactor.redact(&line).into_owned();
        self.describe(rep, suite, request, &base);
        let mut walk = Walk::default();
        let mut slowest = 0.0f64;
        for n in 1..=spec.max {
            let req = with_page(&base, &spec.param, n)?;
            let t = Instant::now();
            let resp = match self.send_politely(&req, rep).await {
                Ok(r) => r,
                Err(e) => {
                    walk.pages
                        .push(json!({"page": n, "status": null, "error": e.message}));
                    break;
                }
            };
            slowest = slowest.max(t.elapsed().as_secs_f64() * 1000.0);
            if !record_page(&mut walk, n, &resp, member) {
                break;
            }
        }
        rep.request_ms = Some(slowest);
        self.note(
            rep,
            format!(
                "pages: {} requested, {} with items, {} items{}",
                walk.pages.len(),
                walk.non_empty,
                walk.items,
                if walk.reached_end {
                    ", then an empty page"
                } else {
                    "; no empty page reached"
                }
            ),
        );
        let body = walk.body();
        let status = walk.first_bad_status.or(walk.last_status).unwrap_or(0);
        Ok((
            Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                truncated: false,
                redirects: Vec::new(),
            },
            self.request_excerpt(&base),
        ))
    }
}

/// Records one page; false when the walk ends here.
fn record_page(walk: &mut Walk, n: u32, resp: &Response, member: &str) -> bool {
    walk.last_status = Some(resp.status);
    let mut body = resp.json().ok();
    let count = body
        .as_ref()
        .and_then(|b| b.get(member))
        .and_then(Value::as_array)
        .map(|a| a.len() as u64);
    // The page's other members (its pagination facts), without the items themselves.
    if let Some(Value::Object(map)) = body.as_mut() {
        map.remove(member);
    }
    walk.pages.push(json!({
        "page": n,
        "status": resp.status,
        "count": count,
        "body": body.unwrap_or(Value::Null),
    }));
    if !(200..300).contains(&resp.status) {
        walk.first_bad_status.get_or_insert(resp.status);
        return false;
    }
    match count {
        Some(0) => {
            walk.reached_end = true;
            false
        }
        Some(c) if walk.non_empty as usize + 1 == walk.pages.len() => {
            walk.non_empty += 1;
            walk.items += c;
            true
        }
        // Not a list: nothing more to walk.
        _ => false,
    }
}

/// The request with `param=n`, replacing any `param` its query already has.
fn with_page(base: &Request, param: &str, n: u32) -> Result<Request, String> {
    let mut url = url::Url::parse(&base.url).map_err(|e| format!("pages: {e}"))?;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(param, &n.to_string());
    Ok(Request {
        method: base.method.clone(),
        url: url.to_string(),
        headers: base.headers.clone(),
        body: base.body.clone(),
        timeout: base.timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: vec![],
            body: serde_json::to_vec(&body).unwrap(),
            truncated: false,
            redirects: Vec::new(),
        }
    }

    #[test]
    fn a_walk_sums_pages_until_the_first_empty_one() {
        let mut w = Walk::default();
        let page = |n: usize| json!({"data": vec![1; n], "pagination": {"last_page": 2}});
        assert!(record_page(&mut w, 1, &resp(200, page(10)), "data"));
        assert!(record_page(&mut w, 2, &resp(200, page(4)), "data"));
        assert!(!record_page(&mut w, 3, &resp(200, page(0)), "data"));
        let b = w.body();
        assert_eq!(b["non_empty"], 2);
        assert_eq!(b["items"], 14);
        assert_eq!(b["reached_end"], true);
        assert_eq!(b["first_empty"], 3);
        assert_eq!(b["last_non_empty"]["count"], 4);
        assert_eq!(b["pages"][0]["body"]["pagination"]["last_page"], 2);
        assert!(
            b["pages"][0]["body"].get("data").is_none(),
            "items are not kept"
        );
    }

    #[test]
    fn a_walk_stops_at_an_error_status_or_a_non_list() {
        let mut w = Walk::default();
        assert!(!record_page(
            &mut w,
            1,
            &resp(500, json!({"error": true})),
            "data"
        ));
        assert_eq!(w.first_bad_status, Some(500));
        let mut w = Walk::default();
        assert!(!record_page(
            &mut w,
            1,
            &resp(200, json!({"data": {}})),
            "data"
        ));
        assert!(!w.body()["reached_end"].as_bool().unwrap());
    }

    #[test]
    fn the_page_parameter_replaces_the_requests_own() {
        let base = Request {
            method: reqwest::Method::GET,
            url: "http://h/x?per_page=10&page=7&a=b".into(),
            headers: vec![],
            body: None,
            timeout: std::time::Duration::from_secs(1),
        };
        let r = with_page(&base, "page", 3).unwrap();
        assert_eq!(r.url, "http://h/x?per_page=10&a=b&page=3");
    }
}
