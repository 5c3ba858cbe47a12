//! Reconciliation (contract Part B): one record per order in a time window, paged the
//! way the mock's dialect pages (cursor, `starting_after` or page numbers).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::api::{authorized, error, not_found, unauthorized, Refusal, Shared};
use super::state::{ts, Order, VState};
use super::VendorQuirk;
use crate::giftcard::dialect::{Paging, VendorDialect};

fn parse_time(name: &str, v: &str, unix: bool) -> Result<DateTime<Utc>, Refusal> {
    let parsed = if unix {
        v.trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
    } else {
        DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    parsed.ok_or_else(|| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            &format!(
                "{name} must be {}",
                if unix {
                    "Unix seconds"
                } else {
                    "an RFC 3339 timestamp"
                }
            ),
        ))
    })
}

fn bad_param(message: &str) -> Refusal {
    Box::new(error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", message))
}

/// A reconciliation query, read in the mock's dialect.
#[derive(Default)]
struct Query {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    reference: Option<String>,
    /// Records after this order sequence number (cursor, `starting_after`).
    after: u64,
    /// 1-based page (page-number dialect).
    page: usize,
    limit: usize,
}

fn parse_query(st: &VState, d: VendorDialect, q: &str) -> Result<Query, Refusal> {
    let (from_name, to_name) = d.window_params();
    let mut out = Query {
        page: 1,
        limit: 100,
        ..Query::default()
    };
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let k = k.as_ref();
        match (k, d.paging()) {
            _ if v.is_empty() => {}
            (k, _) if k == from_name => out.from = Some(parse_time(from_name, &v, d.unix_times())?),
            (k, _) if k == to_name => out.to = Some(parse_time(to_name, &v, d.unix_times())?),
            ("reference", _) => out.reference = Some(v.into_owned()),
            ("cursor", Paging::Cursor) => {
                out.after = v
                    .strip_prefix("c_")
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| bad_param("cursor must be a value returned as next_cursor"))?;
            }
            ("starting_after", Paging::StartingAfter) => {
                out.after = *st
                    .by_id
                    .get(v.as_ref())
                    .ok_or_else(|| bad_param("starting_after must be the id of a listed record"))?;
            }
            ("page", Paging::Page) => {
                out.page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|p| (1..=1_000_000).contains(p))
                    .ok_or_else(|| bad_param("page must be a number from 1"))?;
            }
            ("limit", Paging::Cursor | Paging::StartingAfter) | ("per_page", Paging::Page) => {
                out.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| bad_param(&format!("{k} must be between 1 and 500")))?;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn record(o: &Order, echo: bool) -> Value {
    json!({
        "order_id": o.id,
        "idempotency_key": o.idempotency_key,
        "reference": if echo { json!(o.reference) } else { Value::Null },
        "amount": o.amount,
        "currency": o.currency,
        "status": o.status,
        "updated_at": ts(o.updated_at),
    })
}

/// Daily totals: what the article calls a dashboard, not a reconciliation API.
fn aggregated<'a>(orders: impl Iterator<Item = &'a Order>) -> Value {
    let mut days: BTreeMap<(String, String), (u64, f64)> = BTreeMap::new();
    for o in orders {
        let e = days
            .entry((
                o.updated_at.format("%Y-%m-%d").to_string(),
                o.currency.clone(),
            ))
            .or_default();
        e.0 += 1;
        e.1 += o.amount.as_f64().unwrap_or(0.0);
    }
    let data: Vec<Value> = days
        .into_iter()
        .map(|((date, currency), (count, amount))| {
            json!({"date": date, "currency": currency, "count": count, "amount": amount})
        })
        .collect();
    json!({ "data": data, "next_cursor": null, "has_more": false })
}

pub(super) async fn reconciliation(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let opts = &shared.opts;
    if opts.has(VendorQuirk::NoReconciliation) {
        return not_found().await;
    }
    let st = shared.state.lock();
    let q = match parse_query(&st, opts.dialect, &q.unwrap_or_default()) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let filter_ref = !opts.has(VendorQuirk::ReferenceFilterIgnored);
    let wanted = |o: &Order| {
        q.from.is_none_or(|f| o.updated_at >= f)
            && q.to.is_none_or(|t| o.updated_at < t)
            && (!filter_ref || q.reference.is_none() || o.reference == q.reference)
    };
    if opts.has(VendorQuirk::AggregatedReconciliation) {
        return Json(aggregated(st.orders.values().filter(|o| wanted(o)))).into_response();
    }
    let echo = !opts.has(VendorQuirk::ReferenceNotEchoed);
    let matching = st
        .orders
        .range(q.after.saturating_add(1)..)
        .map(|(_, o)| o)
        .filter(|o| wanted(o));
    let body = match opts.dialect.paging() {
        Paging::Page => {
            let all: Vec<&Order> = matching.collect();
            let total_pages = all.len().div_ceil(q.limit).max(1);
            let data: Vec<Value> = all
                .iter()
                .skip((q.page - 1).saturating_mul(q.limit))
                .take(q.limit)
                .map(|o| record(o, echo))
                .collect();
            json!({"data": data, "page": q.page, "per_page": q.limit, "total_pages": total_pages})
        }
        paging => {
            let mut page: Vec<&Order> = matching.take(q.limit + 1).collect();
            let more = page.len() > q.limit;
            page.truncate(q.limit);
            let data: Vec<Value> = page.iter().map(|o| record(o, echo)).collect();
            if paging == Paging::StartingAfter {
                json!({"object": "list", "data": data, "has_more": more})
            } else {
                let next = more.then(|| page.last().map(|o| format!("c_{}", o.seq)));
                json!({"data": data, "next_cursor": next.flatten()})
            }
        }
    };
    Json(body).into_response()
}
