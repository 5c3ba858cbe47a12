//! Contract tests of the embedded mock over real HTTP on loopback: one test per error code
//! of §A.4, per endpoint of §A.7, per quirk, plus tenancy, pagination, filters, replay,
//! admin switches, faults and the journal.
//!
//! LIMIT_REACHED (422 contact_support) is not reachable: it guards resource creation
//! (cards, rewards, staff...), and none of the endpoints the mock implements creates one.

use crate::common::mock as mock_common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use launchgate::mock::{Latency, MockOptions, Quirk};
use mock_common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn opts_with(quirks: &[Quirk]) -> MockOptions {
    MockOptions {
        quirks: quirks.to_vec(),
        ..MockOptions::default()
    }
}

fn purchase_body(h: &H, member: &str, extra: Value) -> Value {
    let mut b = json!({ "card_id": h.fx("card_id"), "member_identifier": member });
    if let (Value::Object(m), Value::Object(e)) = (&mut b, extra) {
        m.extend(e);
    }
    b
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";

// ------------------------------------------------------------------------------------------
// §A.4 authentication rows: refused before the rate limiter, no rate-limit headers
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn auth_missing_key() {
    let h = start_default().await;
    let r = h
        .send(Method::GET, None, "/health", None, &[])
        .await
        .unwrap();
    r.assert_error(401, "AUTH_MISSING_KEY", "no_retry");
    r.assert_no_details();
    assert!(r.has_no_rate_headers());
    let r = h
        .send(Method::GET, Some("raw:"), "/partner/cards", None, &[])
        .await
        .unwrap();
    r.assert_error(401, "AUTH_MISSING_KEY", "no_retry");
}

#[tokio::test]
async fn auth_invalid_key_malformed_and_unknown() {
    let h = start_default().await;
    for raw in [
        "raw:nope",
        "raw:rl_agent_short",
        "raw:rl_agent_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let r = h
            .send(Method::GET, Some(raw), "/health", None, &[])
            .await
            .unwrap();
        r.assert_error(401, "AUTH_INVALID_KEY", "no_retry");
        r.assert_no_details();
        assert!(r.has_no_rate_headers());
    }
}

#[tokio::test]
async fn auth_revoked_expired_inactive_anonymous() {
    let h = start_default().await;
    let cases = [
        ("revoked", 401, "AUTH_KEY_REVOKED", "no_retry"),
        ("expired", 401, "AUTH_KEY_EXPIRED", "no_retry"),
        (
            "inactive_partner",
            403,
            "AUTH_OWNER_INACTIVE",
            "contact_support",
        ),
        (
            "member_inactive",
            403,
            "AUTH_OWNER_INACTIVE",
            "contact_support",
        ),
        ("member_anonymous", 403, "AUTH_ANONYMOUS_MEMBER", "no_retry"),
    ];
    for (key, status, code, retry) in cases {
        let r = h.get(key, "/health").await;
        r.assert_error(status, code, retry);
        r.assert_no_details();
        assert!(r.has_no_rate_headers(), "{key} carried rate-limit headers");
    }
    // The expiring key still works, and says when it expires (within 3 days).
    let d = h.get("expiring", "/health").await.assert_ok(200).clone();
    let at =
        chrono::DateTime::parse_from_rfc3339(d["key"]["expires_at"].as_str().unwrap()).unwrap();
    let left = at.signed_duration_since(chrono::Utc::now());
    assert!(left > chrono::Duration::zero() && left <= chrono::Duration::days(3));
}

// ------------------------------------------------------------------------------------------
// Role, permission, scope: counted, carry rate-limit headers, never reach validation
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_role() {
    let h = start_default().await;
    let cases = [
        ("member", "/partner/cards", "partner", "member"),
        ("partner", "/member/profile", "member", "partner"),
        ("admin", "/partner/transactions", "partner", "admin"),
        ("partner", "/admin/partners", "admin", "partner"),
    ];
    for (key, path, required, provided) in cases {
        let r = h.get(key, path).await;
        r.assert_error(403, "AUTH_WRONG_ROLE", "no_retry");
        assert_eq!(
            r.body["details"],
            json!({ "required_role": required, "provided_role": provided })
        );
        assert!(r.has_rate_headers());
    }
    // Wrong role wins over an invalid body: nothing is validated.
    let r = h
        .send(
            Method::POST,
            Some("member"),
            "/partner/transactions/purchase",
            Some("{"),
            &[],
        )
        .await
        .unwrap();
    r.assert_error(403, "AUTH_WRONG_ROLE", "no_retry");
}

#[tokio::test]
async fn feature_disabled_partner() {
    let h = start_default().await;
    let r = h.get("disabled_partner", "/partner/cards").await;
    r.assert_error(403, "FEATURE_DISABLED", "contact_support");
    assert_eq!(
        r.body["details"],
        json!({ "permission": "agent_api_permission" })
    );
    assert!(r.has_rate_headers());
    // It comes before scope and validation: an empty purchase gets the same answer.
    let r = h
        .post(
            "disabled_partner",
            "/partner/transactions/purchase",
            &json!({}),
        )
        .await;
    r.assert_error(403, "FEATURE_DISABLED", "contact_support");
    // /health is not behind the partner permission.
    let d = h
        .get("disabled_partner", "/health")
        .await
        .assert_ok(200)
        .clone();
    assert_eq!(d["owner"]["name"], "Closed Bakery");
}

#[tokio::test]
async fn insufficient_scope() {
    let h = start_default().await;
    let cases = [
        (
            "partner_readonly",
            Method::POST,
            "/partner/transactions/purchase".to_owned(),
            "write:transactions",
        ),
        (
            "partner_readonly",
            Method::POST,
            "/partner/transactions/redeem".to_owned(),
            "write:rewards",
        ),
        (
            "member_readonly",
            Method::POST,
            format!("/member/rewards/{}/claim", h.fx("reward_id")),
            "write:redeem",
        ),
        (
            "admin_readonly",
            Method::PATCH,
            format!("/admin/partners/{}/permissions", h.fx("partner_id")),
            "write:partners",
        ),
        (
            "admin_readonly",
            Method::POST,
            format!("/admin/partners/{}/deactivate", h.fx("partner_id")),
            "write:partners",
        ),
    ];
    for (key, method, path, scope) in cases {
        let r = h
            .send(method, Some(key), &path, Some("{}"), &[])
            .await
            .unwrap();
        r.assert_error(403, "AUTH_INSUFFICIENT_SCOPE", "no_retry");
        assert_eq!(
            r.body["details"],
            json!({ "required_scope": scope }),
            "{path}"
        );
        assert!(r.has_rate_headers());
    }
    // partner members/* accept only `read`: the POS preset has it, so it passes.
    h.get("partner_pos", "/partner/members")
        .await
        .assert_ok(200);
    // The POS key may purchase and redeem.
    let body = purchase_body(&h, &h.fx("member_identifier"), json!({ "points": 1 }));
    h.post("partner_pos", "/partner/transactions/purchase", &body)
        .await
        .assert_ok(201);
    // `admin` grants everything within the role.
    h.get("admin", "/admin/partners").await.assert_ok(200);
}

// ------------------------------------------------------------------------------------------
// Rate limiting (§A.5)
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn rate_limited_then_allowed_after_retry_after() {
    let h = start(MockOptions {
        rate_window: Duration::from_secs(2),
        ..MockOptions::default()
    })
    .await;
    for i in 0..5u32 {
        let r = h.get("ratelimit", "/health").await;
        r.assert_ok(200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
        assert_eq!(
            r.header("x-ratelimit-remaining").unwrap(),
            (4 - i).to_string()
        );
        let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        let now = unix_now();
        assert!(reset >= now && reset <= now + 3, "reset {reset} now {now}");
    }
    let before = unix_now();
    let r = h.get("ratelimit", "/health").await;
    let after = unix_now();
    r.assert_error(429, "RATE_LIMITED", "backoff");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "retry-after {retry}");
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(
        reset >= before + retry && reset <= after + retry,
        "reset {reset}"
    );
    assert_eq!(
        r.body["details"],
        json!({ "limit": 5, "window_seconds": 2, "retry_after_seconds": retry })
    );
    // Another key has its own window.
    h.get("partner", "/health").await.assert_ok(200);
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(50)).await;
    let r = h.get("ratelimit", "/health").await;
    r.assert_ok(200);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));
}

#[tokio::test]
async fn wrong_role_and_scope_refusals_are_counted() {
    let h = start(MockOptions {
        rate_window: Duration::from_secs(30),
        ..MockOptions::default()
    })
    .await;
    for _ in 0..5 {
        // ratelimit is a partner [read] key: a member route is refused on role, but counted.
        h.get("ratelimit", "/member/profile").await.assert_error(
            403,
            "AUTH_WRONG_ROLE",
            "no_retry",
        );
    }
    h.get("ratelimit", "/health")
        .await
        .assert_error(429, "RATE_LIMITED", "backoff");
}

// ------------------------------------------------------------------------------------------
// Validation, lookups and business rules
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn validation_failed_purchase() {
    let h = start_default().await;
    let p = "/partner/transactions/purchase";
    let r = h.post("partner", p, &json!({})).await;
    r.assert_error(422, "VALIDATION_FAILED", "fix_request");
    let errors = r.body["details"]["errors"].as_object().unwrap();
    for f in ["card_id", "member_identifier", "purchase_amount"] {
        assert!(
            errors[f].as_array().is_some_and(|a| !a.is_empty()),
            "{f} missing in {errors:?}"
        );
    }
    let m = h.fx("member_identifier");
    let bad = [
        (json!({ "purchase_amount": 0 }), "purchase_amount"),
        (json!({ "purchase_amount": "lots" }), "purchase_amount"),
        (json!({ "points": -1 }), "points"),
        (json!({ "points": 1.5 }), "points"),
        (
            json!({ "purchase_amount": 1, "note": "x".repeat(501) }),
            "note",
        ),
        (
            json!({ "purchase_amount": 1, "staff_id": "sam" }),
            "staff_id",
        ),
        (json!({ "purchase_amount": 1, "amount": 1 }), "amount"),
    ];
    for (extra, field) in bad {
        let r = h
            .post("partner", p, &purchase_body(&h, &m, extra.clone()))
            .await;
        r.assert_error(422, "VALIDATION_FAILED", "fix_request");
        assert!(
            r.body["details"]["errors"][field].is_array(),
            "{extra}: {}",
            r.text
        );
    }
    let r = h
        .post(
            "partner",
            p,
            &json!({ "card_id": "card-1", "member_identifier": m, "points": 1 }),
        )
        .await;
    assert!(r.body["details"]["errors"]["card_id"].is_array());
    // 500 characters is fine; points without purchase_amount is fine.
    let ok = purchase_body(&h, &m, json!({ "points": 0, "note": "y".repeat(500) }));
    h.post("partner", p, &ok).await.assert_ok(201);
    // Malformed JSON is a validation failure on `body` (documented choice: 422, not 400).
    let r = h
        .send(Method::POST, Some("partner"), p, Some("{\"card_id\":"), &[])
        .await
        .unwrap();
    r.assert_error(422, "VALIDATION_FAILED", "fix_request");
    assert!(r.body["details"]["errors"]["body"].is_array());
    let r = h
        .send(Method::POST, Some("partner"), p, Some("[1,2]"), &[])
        .await
        .unwrap();
    r.assert_error(422, "VALIDATION_FAILED", "fix_request");
}

#[tokio::test]
async fn validation_failed_redeem() {
    let h = start_default().await;
    let r = h
        .post("partner", "/partner/transactions/redeem", &json!({}))
        .await;
    r.assert_error(422, "VALIDATION_FAILED", "fix_request");
    let errors = r.body["details"]["errors"].as_object().unwrap();
    for f in ["card_id", "reward_id", "member_identifier"] {
        assert!(errors.contains_key(f), "{f} missing");
    }
}

#[tokio::test]
async fn not_found_unknown_and_foreign_ids() {
    let h = start_default().await;
    let paths = [
        format!("/partner/cards/{UNKNOWN_UUID}"),
        format!("/partner/cards/{}", h.fx("foreign_card_id")),
        format!("/partner/rewards/{}", h.fx("foreign_reward_id")),
        format!("/partner/members/{}", h.fx("foreign_member_identifier")),
        format!("/partner/members/{UNKNOWN_UUID}"),
        format!(
            "/partner/members/{}/balance/{}",
            h.fx("member_identifier"),
            h.fx("foreign_card_id")
        ),
        format!("/admin/partners/{UNKNOWN_UUID}"),
    ];
    for p in &paths {
        let key = if p.starts_with("/admin") {
            "admin"
        } else {
            "partner"
        };
        let r = h.get(key, p).await;
        r.assert_error(404, "NOT_FOUND", "no_retry");
        r.assert_no_details();
        assert!(r.body.get("data").is_none());
    }
    // The other tenant sees its own card.
    let d = h
        .get(
            "foreign_partner",
            &format!("/partner/cards/{}", h.fx("foreign_card_id")),
        )
        .await;
    d.assert_ok(200);
    // Writes against a foreign card or member are 404 too, and write nothing.
    let m = h.fx("member_identifier");
    let body = json!({ "card_id": h.fx("foreign_card_id"), "member_identifier": m, "points": 5 });
    h.post("partner", "/partner/transactions/purchase", &body)
        .await
        .assert_error(404, "NOT_FOUND", "no_retry");
    let body = purchase_body(
        &h,
        &h.fx("foreign_member_identifier"),
        json!({ "points": 5 }),
    );
    h.post("partner", "/partner/transactions/purchase", &body)
        .await
        .assert_error(404, "NOT_FOUND", "no_retry");
    let body = purchase_body(
        &h,
        &m,
        json!({ "points": 5, "staff_id": h.fx("foreign_staff_id") }),
    );
    h.post("partner", "/partner/transactions/purchase", &body)
        .await
        .assert_error(404, "NOT_FOUND", "no_retry");
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 120);
}

#[tokio::test]
async fn insufficient_points_and_reward_not_linked() {
    let h = start_default().await;
    let m = h.fx("member_identifier");
    let redeem = |reward: String| json!({ "card_id": h.fx("card_id"), "reward_id": reward, "member_identifier": m });
    let r = h
        .post(
            "partner",
            "/partner/transactions/redeem",
            &redeem(h.fx("expensive_reward_id")),
        )
        .await;
    r.assert_error(422, "INSUFFICIENT_POINTS", "no_retry");
    assert_eq!(
        r.body["details"],
        json!({ "required": 1_000_000, "available": 120 })
    );
    let r = h
        .post(
            "partner",
            "/partner/transactions/redeem",
            &redeem(h.fx("unlinked_reward_id")),
        )
        .await;
    r.assert_error(422, "REWARD_NOT_LINKED", "fix_request");
    r.assert_no_details();
    let r = h
        .post(
            "partner",
            "/partner/transactions/redeem",
            &redeem(h.fx("foreign_reward_id")),
        )
        .await;
    r.assert_error(404, "NOT_FOUND", "no_retry");
    // Check order: an unknown card is reported before anything about the reward.
    let body = json!({ "card_id": UNKNOWN_UUID, "reward_id": h.fx("expensive_reward_id"), "member_identifier": m });
    h.post("partner", "/partner/transactions/redeem", &body)
        .await
        .assert_error(404, "NOT_FOUND", "no_retry");
    // Not linked comes before the member lookup.
    let body = json!({ "card_id": h.fx("card_id"), "reward_id": h.fx("unlinked_reward_id"), "member_identifier": "nobody@example.com" });
    h.post("partner", "/partner/transactions/redeem", &body)
        .await
        .assert_error(422, "REWARD_NOT_LINKED", "fix_request");
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 120);
}

#[tokio::test]
async fn card_inactive() {
    let h = start_default().await;
    let body = json!({ "card_id": h.fx("inactive_card_id"), "member_identifier": "nobody@example.com", "purchase_amount": 3 });
    let r = h
        .post("partner", "/partner/transactions/purchase", &body)
        .await;
    // CARD_INACTIVE is checked before the member lookup.
    r.assert_error(422, "CARD_INACTIVE", "no_retry");
    r.assert_no_details();
}

#[tokio::test]
async fn member_claim_rules() {
    let h = start_default().await;
    let claim = |id: String| format!("/member/rewards/{id}/claim");
    let r = h
        .post("member", &claim(h.fx("expensive_reward_id")), &json!({}))
        .await;
    r.assert_error(422, "INSUFFICIENT_BALANCE", "no_retry");
    assert_eq!(
        r.body["details"],
        json!({ "balance": 120, "required": 1_000_000, "deficit": 999_880 })
    );
    let r = h
        .post("member", &claim(h.fx("foreign_reward_id")), &json!({}))
        .await;
    r.assert_error(403, "REWARD_NOT_AVAILABLE", "no_retry");
    let r = h
        .post("member", &claim(UNKNOWN_UUID.into()), &json!({}))
        .await;
    r.assert_error(404, "NOT_FOUND", "no_retry");
    let d = h
        .post("member", &claim(h.fx("member_reward_id")), &json!({}))
        .await
        .assert_ok(200)
        .clone();
    assert_eq!(d["status"], "claim_submitted");
    assert_eq!(d["reward_id"], h.fx("member_reward_id"));
    assert_eq!(d["points_required"], 50);
    assert_eq!(d["card_id"], h.fx("card_id"));
    assert_eq!(d["current_balance"], 120);
    // A claim deducts nothing.
    assert_eq!(
        h.balance(&h.fx("member_identifier"), &h.fx("card_id"))
            .await,
        120
    );
}

#[tokio::test]
async fn internal_error_forced_and_by_rate() {
    let h = start_default().await;
    let r = h
        .send(
            Method::GET,
            Some("partner"),
            "/partner/cards",
            None,
            &[("X-Launchgate-Fault", "internal-error")],
        )
        .await
        .unwrap();
    r.assert_error(500, "INTERNAL_ERROR", "backoff");
    assert!(r.has_rate_headers());
    let h = start(MockOptions {
        fail_rate: 1.0,
        ..MockOptions::default()
    })
    .await;
    let body = purchase_body(&h, &h.fx("member_identifier"), json!({ "points": 7 }));
    h.post("partner", "/partner/transactions/purchase", &body)
        .await
        .assert_error(500, "INTERNAL_ERROR", "backoff");
    // Nothing was written: with fail_rate 1.0 even reads fail, so check through a fresh dice-free path.
    let r = h.get("partner_readonly", "/partner/transactions").await;
    r.assert_error(500, "INTERNAL_ERROR", "backoff");
}

#[tokio::test]
async fn fail_rate_is_reproducible_from_seed() {
    let run = |seed| async move {
        let h = start(MockOptions {
            fail_rate: 0.5,
            seed,
            ..MockOptions::default()
        })
        .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(h.get("bench", "/health").await.status);
        }
        statuses
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

// ------------------------------------------------------------------------------------------
// §A.7 endpoints
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn health_shape_and_prefix() {
    let h = start_default().await;
    for (name, role, owner_type, len) in [
        ("partner", "partner", "partner", 17),
        ("member", "member", "member", 18),
        ("admin", "admin", "admin", 17),
    ] {
        let r = h.get(name, "/health").await;
        assert!(r.has_rate_headers());
        let d = r.assert_ok(200);
        assert_eq!(d["status"], "ok");
        let k = &d["key"];
        for f in [
            "name",
            "prefix",
            "role",
            "scopes",
            "rate_limit",
            "expires_at",
            "created_at",
            "last_used_at",
        ] {
            assert!(k.get(f).is_some(), "key.{f} missing");
        }
        let prefix = k["prefix"].as_str().unwrap();
        let key = h.key(name);
        assert_eq!(prefix.len(), len);
        assert!(key.starts_with(prefix) && prefix != key);
        assert_eq!(k["role"], role);
        assert!(k["scopes"].is_array());
        assert_eq!(d["owner"]["type"], owner_type);
        assert!(d["owner"]["id"].is_string() && d["owner"].get("name").is_some());
        assert!(!r.text.contains(&key), "the key itself leaked");
    }
}

#[tokio::test]
async fn partner_cards_and_rewards() {
    let h = start_default().await;
    let r = h.get("partner_readonly", "/partner/cards").await;
    let cards = r.assert_ok(200).as_array().unwrap().clone();
    assert_eq!(cards.len(), 2);
    assert_eq!(r.body["pagination"]["total"], 2);
    let d = h
        .get("partner", &format!("/partner/cards/{}", h.fx("card_id")))
        .await
        .assert_ok(200)
        .clone();
    for f in [
        "id",
        "club_id",
        "name",
        "currency",
        "is_active",
        "points_per_currency",
    ] {
        assert!(d.get(f).is_some(), "card.{f}");
    }
    assert!(
        d["title"].is_object(),
        "title is a locale map without Accept-Language"
    );
    let r = h
        .send(
            Method::GET,
            Some("partner"),
            &format!("/partner/cards/{}", h.fx("card_id")),
            None,
            &[("Accept-Language", "nl-NL,nl;q=0.9")],
        )
        .await
        .unwrap();
    assert_eq!(r.assert_ok(200)["title"], "Koffieliefhebberskaart");
    let r = h
        .send(
            Method::GET,
            Some("partner"),
            "/partner/rewards",
            None,
            &[("Accept-Language", "en")],
        )
        .await
        .unwrap();
    let rewards = r.assert_ok(200).as_array().unwrap().clone();
    assert_eq!(rewards.len(), 3);
    assert!(rewards.iter().all(|r| r["title"].is_string()));
    let d = h
        .get(
            "partner",
            &format!("/partner/rewards/{}", h.fx("reward_id")),
        )
        .await
        .assert_ok(200)
        .clone();
    for f in ["id", "name", "title", "points", "is_active"] {
        assert!(d.get(f).is_some(), "reward.{f}");
    }
    assert_eq!(d["points"], 50);
}

#[tokio::test]
async fn partner_members_by_any_identifier() {
    let h = start_default().await;
    let r = h.get("partner", "/partner/members").await;
    let list = r.assert_ok(200).as_array().unwrap().clone();
    assert!(list
        .iter()
        .all(|m| m["email"] != h.fx("foreign_member_identifier")));
    let id = h.fx("member_id");
    for ident in [
        id.clone(),
        h.fx("member_identifier"),
        "ADA@example.com".into(),
        h.fx("member_number"),
        h.fx("member_unique_identifier"),
    ] {
        let d = h
            .get("partner", &format!("/partner/members/{ident}"))
            .await
            .assert_ok(200)
            .clone();
        assert_eq!(d["id"], id, "{ident}");
    }
    let r = h.get("partner", "/partner/members?search=ada").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 1);
    let d = h
        .get(
            "partner",
            &format!(
                "/partner/members/{}/balance/{}",
                h.fx("member_identifier"),
                h.fx("card_id")
            ),
        )
        .await;
    assert_eq!(
        d.assert_ok(200).clone(),
        json!({ "member_id": id, "card_id": h.fx("card_id"), "balance": 120, "currency": "EUR" })
    );
    assert_eq!(
        h.balance(&h.fx("zero_member_identifier"), &h.fx("card_id"))
            .await,
        0
    );
}

#[tokio::test]
async fn purchase_and_redeem_move_the_ledger() {
    let h = start_default().await;
    let m = h.fx("member_identifier");
    let body = purchase_body(
        &h,
        &m,
        json!({ "purchase_amount": 4.29, "note": "order A-1", "staff_id": h.fx("staff_id") }),
    );
    let r = h
        .post("partner", "/partner/transactions/purchase", &body)
        .await;
    let d = r.assert_ok(201).clone();
    assert!(r.has_rate_headers());
    assert_eq!(d["points_awarded"], 42);
    assert_eq!(d["member_balance"], 162);
    assert_eq!(d["purchase_amount"], 4.29);
    assert_eq!(d["card_id"], h.fx("card_id"));
    assert_eq!(d["member_id"], h.fx("member_id"));
    let txn = d["transaction_id"].as_str().unwrap().to_owned();
    let list = h.get("partner", "/partner/transactions").await;
    let first = &list.assert_ok(200)[0];
    assert_eq!(first["id"], txn);
    assert_eq!(first["note"], "order A-1");
    assert_eq!(first["staff_name"], "Sam Barista");
    for f in [
        "id",
        "event",
        "points",
        "purchase_amount",
        "currency",
        "member_id",
        "card_id",
        "reward_id",
        "staff_id",
        "staff_name",
        "note",
        "expires_at",
        "created_at",
    ] {
        assert!(first.get(f).is_some(), "transaction.{f}");
    }
    // `points` overrides the computed award.
    let body = purchase_body(
        &h,
        &h.fx("member_number"),
        json!({ "purchase_amount": 100, "points": 3 }),
    );
    assert_eq!(
        h.post("partner", "/partner/transactions/purchase", &body)
            .await
            .assert_ok(201)["points_awarded"],
        3
    );
    let redeem = json!({ "card_id": h.fx("card_id"), "reward_id": h.fx("reward_id"), "member_identifier": h.fx("member_id"), "note": "R-1" });
    let r = h
        .post("partner", "/partner/transactions/redeem", &redeem)
        .await;
    let d = r.assert_ok(200).clone();
    assert_eq!(d["points_deducted"], 50);
    assert_eq!(d["new_balance"], 115);
    assert_eq!(d["member_balance"], 115);
    assert_eq!(d["reward_id"], h.fx("reward_id"));
    assert_eq!(d["reward"]["id"], h.fx("reward_id"));
    assert!(d["reward"].get("title").is_some());
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 115);
}

#[tokio::test]
async fn member_endpoints() {
    let h = start_default().await;
    let d = h
        .get("member_readonly", "/member/profile")
        .await
        .assert_ok(200)
        .clone();
    for f in [
        "id",
        "name",
        "email",
        "locale",
        "unique_identifier",
        "is_anonymous",
    ] {
        assert!(d.get(f).is_some(), "profile.{f}");
    }
    assert_eq!(d["email"], h.fx("member_identifier"));
    let r = h.get("member", "/member/balance").await;
    assert!(
        r.body.get("pagination").is_none(),
        "balance is not paginated"
    );
    let b = r.assert_ok(200).as_array().unwrap().clone();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["card_id"], h.fx("card_id"));
    assert_eq!(b[0]["balance"], 120);
    assert!(b[0].get("card_title").is_some() && b[0]["currency"] == "EUR");
    let r = h.get("member", "/member/cards").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 1);
    assert!(r.body["pagination"].is_object());
    let r = h.get("member", "/member/transactions").await;
    let t = r.assert_ok(200).as_array().unwrap().clone();
    assert_eq!(t.len(), 5);
    assert_eq!(
        t.iter().map(|t| t["points"].as_i64().unwrap()).sum::<i64>(),
        120
    );
    let r = h.get("member", "/member/rewards").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn admin_partners_and_live_switches() {
    let h = start_default().await;
    let r = h.get("admin_readonly", "/admin/partners").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 4);
    let r = h.get("admin", "/admin/partners?is_active=false").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 1);
    let pid = h.fx("partner_id");
    let d = h
        .get("admin_readonly", &format!("/admin/partners/{pid}"))
        .await
        .assert_ok(200)
        .clone();
    assert_eq!(d["permissions"]["agent_api_permission"], true);

    // Switch Demo Coffee's Agent API off: its keys get FEATURE_DISABLED at once.
    let r = h
        .patch(
            "admin",
            &format!("/admin/partners/{pid}/permissions"),
            &json!({ "agent_api_permission": false }),
        )
        .await;
    assert_eq!(r.assert_ok(200)["agent_api_permission"], false);
    let r = h.get("partner", "/partner/cards").await;
    r.assert_error(403, "FEATURE_DISABLED", "contact_support");
    // And Closed Bakery's on.
    let bid = h.fx("disabled_partner_id");
    h.patch(
        "admin",
        &format!("/admin/partners/{bid}/permissions"),
        &json!({ "agent_api_permission": true }),
    )
    .await
    .assert_ok(200);
    h.get("disabled_partner", "/partner/cards")
        .await
        .assert_ok(200);
    // A product permission gates its routes with its own name.
    h.patch(
        "admin",
        &format!("/admin/partners/{bid}/permissions"),
        &json!({ "loyalty_cards_permission": false }),
    )
    .await
    .assert_ok(200);
    let r = h.get("disabled_partner", "/partner/rewards").await;
    r.assert_error(403, "FEATURE_DISABLED", "contact_support");
    assert_eq!(r.body["details"]["permission"], "loyalty_cards_permission");
    let r = h
        .patch(
            "admin",
            &format!("/admin/partners/{bid}/permissions"),
            &json!({ "vouchers_permission": "maybe" }),
        )
        .await;
    r.assert_error(422, "VALIDATION_FAILED", "fix_request");

    // Deactivate / activate.
    h.patch(
        "admin",
        &format!("/admin/partners/{pid}/permissions"),
        &json!({ "agent_api_permission": true }),
    )
    .await
    .assert_ok(200);
    let d = h
        .post(
            "admin",
            &format!("/admin/partners/{pid}/deactivate"),
            &json!({}),
        )
        .await
        .assert_ok(200)
        .clone();
    assert_eq!(d["is_active"], false);
    let r = h.get("partner", "/health").await;
    r.assert_error(403, "AUTH_OWNER_INACTIVE", "contact_support");
    assert!(r.has_no_rate_headers());
    h.post(
        "admin",
        &format!("/admin/partners/{pid}/activate"),
        &json!({}),
    )
    .await
    .assert_ok(200);
    h.get("partner", "/partner/cards").await.assert_ok(200);
}

// ------------------------------------------------------------------------------------------
// Lists: pagination, filters
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn pagination_defaults_and_clamping() {
    let h = start_default().await;
    let r = h.get("partner", "/partner/transactions").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 25);
    assert_eq!(
        r.body["pagination"],
        json!({ "current_page": 1, "last_page": 2, "per_page": 25, "total": 34 })
    );
    let r = h.get("partner", "/partner/transactions?page=2").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 9);
    let r = h
        .get("partner", "/partner/transactions?per_page=1000")
        .await;
    assert_eq!(r.body["pagination"]["per_page"], 100);
    let r = h.get("partner", "/partner/transactions?per_page=0").await;
    assert_eq!(r.body["pagination"]["per_page"], 1);
    assert_eq!(r.body["pagination"]["last_page"], 34);
    let r = h.get("partner", "/partner/transactions?page=99").await;
    assert_eq!(r.assert_ok(200).as_array().unwrap().len(), 0);
    assert_eq!(r.body["pagination"]["current_page"], 99);
    // Newest first across the pages.
    let p1 = h.get("partner", "/partner/transactions?per_page=100").await;
    let dates: Vec<&str> = p1.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["created_at"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn transaction_filters_and_bad_dates() {
    let h = start_default().await;
    let r = h
        .get(
            "partner",
            "/partner/transactions?from=2026-10-02&to=2026-10-03&per_page=100",
        )
        .await;
    let items = r.assert_ok(200).as_array().unwrap().clone();
    assert!(!items.is_empty());
    assert!(items.iter().all(|t| {
        let d = &t["created_at"].as_str().unwrap()[..10];
        ("2026-10-02"..="2026-10-03").contains(&d)
    }));
    let all = h.get("partner", "/partner/transactions?per_page=100").await;
    let expected = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            let d = &t["created_at"].as_str().unwrap()[..10];
            ("2026-10-02"..="2026-10-03").contains(&d)
        })
        .count();
    assert_eq!(items.len(), expected);
    let r = h
        .get(
            "partner",
            &format!(
                "/partner/transactions?member_identifier={}",
                h.fx("member_identifier")
            ),
        )
        .await;
    assert_eq!(r.body["pagination"]["total"], 5);
    let r = h
        .get(
            "partner",
            "/partner/transactions?event=staff_redeemed_points_for_reward",
        )
        .await;
    assert!(r
        .assert_ok(200)
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["points"].as_i64().unwrap() < 0));
    let r = h
        .get(
            "partner",
            &format!("/partner/transactions?card_id={}", h.fx("inactive_card_id")),
        )
        .await;
    assert_eq!(r.body["pagination"]["total"], 0);
    for (q, field) in [
        ("from=2026/10/02", "from"),
        ("to=02-10-2026", "to"),
        ("from=2026-13-01", "from"),
        ("to=2026-10-2", "to"),
        ("from=2026-10-02T00:00:00Z", "from"),
    ] {
        let r = h
            .get("partner", &format!("/partner/transactions?{q}"))
            .await;
        r.assert_error(422, "VALIDATION_FAILED", "fix_request");
        assert!(
            r.body["details"]["errors"][field].is_array(),
            "{q}: {}",
            r.text
        );
    }
}

// ------------------------------------------------------------------------------------------
// Non-idempotency, faults, journal, control routes
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn purchase_replay_awards_twice() {
    let h = start_default().await;
    let m = h.fx("member_identifier");
    let body = purchase_body(
        &h,
        &m,
        json!({ "purchase_amount": 2.0, "note": "order REPLAY-1" }),
    );
    let a = h
        .post("partner", "/partner/transactions/purchase", &body)
        .await
        .assert_ok(201)
        .clone();
    let b = h
        .post("partner", "/partner/transactions/purchase", &body)
        .await
        .assert_ok(201)
        .clone();
    assert_ne!(a["transaction_id"], b["transaction_id"]);
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 160);
    let r = h.get("partner", "/partner/transactions?per_page=100").await;
    let n = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["note"] == "order REPLAY-1")
        .count();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn commit_then_drop() {
    let h = start_default().await;
    let m = h.fx("member_identifier");
    let body = purchase_body(&h, &m, json!({ "points": 9, "note": "order DROP-1" })).to_string();
    let res = h
        .send(
            Method::POST,
            Some("partner"),
            "/partner/transactions/purchase",
            Some(&body),
            &[("X-Launchgate-Fault", "drop-after-commit")],
        )
        .await;
    let err = res.expect_err("the client must see a transport error, not a response");
    assert!(!err.is_status());
    // The purchase was committed anyway.
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 129);
    let r = h.get("partner", "/partner/transactions").await;
    assert_eq!(r.body["data"][0]["note"], "order DROP-1");
    let j = h.journal(0).await;
    let e = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "/api/agent/v1/partner/transactions/purchase")
        .unwrap()
        .clone();
    assert_eq!(e["outcome"], "dropped");
    assert_eq!(e["status"], Value::Null);
    assert_eq!(e["key_name"], "partner");
    assert_eq!(e["body"]["note"], "order DROP-1");
    // A refused write is answered normally even with the header: nothing was committed.
    let bad = h
        .send(
            Method::POST,
            Some("partner"),
            "/partner/transactions/purchase",
            Some("{}"),
            &[("X-Launchgate-Fault", "drop-after-commit")],
        )
        .await
        .unwrap();
    bad.assert_error(422, "VALIDATION_FAILED", "fix_request");

    // Rate-based: every successful write dropped.
    let h = start(MockOptions {
        drop_after_commit: 1.0,
        ..MockOptions::default()
    })
    .await;
    let body = purchase_body(&h, &m, json!({ "points": 1 })).to_string();
    for _ in 0..3 {
        assert!(h
            .send(
                Method::POST,
                Some("partner"),
                "/partner/transactions/purchase",
                Some(&body),
                &[]
            )
            .await
            .is_err());
    }
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 123);
    h.get("partner", "/partner/cards").await.assert_ok(200);
}

#[tokio::test]
async fn journal_entries_are_correct_and_bounded() {
    let h = start(MockOptions {
        journal_capacity: 5,
        rate_window: Duration::from_secs(60),
        ..MockOptions::default()
    })
    .await;
    for _ in 0..12 {
        h.get("partner", "/health").await;
    }
    h.send(Method::GET, None, "/health", None, &[])
        .await
        .unwrap();
    // Control routes are neither journaled nor rate limited.
    for _ in 0..3 {
        h.control(Method::GET, "/__launchgate/fixtures").await;
    }
    let j = h.journal(0).await;
    let entries = j["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(j["first_seq"], 9);
    assert_eq!(j["last_seq"], 13);
    assert_eq!(j["lost"], true);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![9, 10, 11, 12, 13]);
    let last = &entries[4];
    assert_eq!(last["status"], 401);
    assert_eq!(last["code"], "AUTH_MISSING_KEY");
    assert_eq!(last["key_name"], Value::Null);
    let e = &entries[0];
    assert_eq!(e["method"], "GET");
    assert_eq!(e["path"], "/api/agent/v1/health");
    assert_eq!(e["key_name"], "partner");
    assert_eq!(e["role"], "partner");
    assert_eq!(e["status"], 200);
    assert_eq!(e["outcome"], "responded");
    assert_eq!(e["body"], Value::Null);
    assert!(e["duration_ms"].as_f64().is_some());
    assert!(chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).is_ok());
    let text = j.to_string();
    assert!(!text.contains(&h.key("partner")), "journal leaked a key");
    let j = h.journal(11).await;
    assert_eq!(j["entries"].as_array().unwrap().len(), 2);
    assert_eq!(j["lost"], false);
    let j = h.journal(u64::MAX).await;
    assert_eq!(j["entries"].as_array().unwrap().len(), 0);
    let (status, _) = h
        .control(Method::GET, "/__launchgate/journal?after=abc")
        .await;
    assert_eq!(status, 400);
    // 12 health calls counted, fixtures calls not.
    assert_eq!(
        h.get("partner", "/health")
            .await
            .header("x-ratelimit-remaining"),
        Some("47")
    );
}

#[tokio::test]
async fn journal_records_429_and_bodies() {
    let h = start(MockOptions {
        rate_window: Duration::from_secs(30),
        ..MockOptions::default()
    })
    .await;
    for _ in 0..6 {
        h.get("ratelimit", "/partner/cards?page=1").await;
    }
    let big = json!({ "note": "z".repeat(5000) }).to_string();
    h.send(
        Method::POST,
        Some("partner"),
        "/partner/transactions/purchase",
        Some(&big),
        &[],
    )
    .await
    .unwrap();
    let j = h.journal(0).await;
    let entries = j["entries"].as_array().unwrap();
    let limited = &entries[5];
    assert_eq!(limited["status"], 429);
    assert_eq!(limited["code"], "RATE_LIMITED");
    assert!(limited["retry_after"].as_u64().unwrap() >= 1);
    assert_eq!(limited["query"], "page=1");
    let big = &entries[6];
    assert_eq!(big["body_truncated"], true);
    assert_eq!(big["body"].as_str().unwrap().len(), 4096);
}

#[tokio::test]
async fn reset_restores_fixtures() {
    let h = start(MockOptions {
        rate_window: Duration::from_secs(60),
        ..MockOptions::default()
    })
    .await;
    let m = h.fx("member_identifier");
    h.post(
        "partner",
        "/partner/transactions/purchase",
        &purchase_body(&h, &m, json!({ "points": 30 })),
    )
    .await
    .assert_ok(201);
    h.post(
        "admin",
        &format!("/admin/partners/{}/deactivate", h.fx("partner_id")),
        &json!({}),
    )
    .await
    .assert_ok(200);
    for _ in 0..6 {
        h.get("ratelimit", "/health").await;
    }
    let (status, body) = h.control(Method::POST, "/__launchgate/reset").await;
    assert_eq!((status, body), (200, json!({ "reset": true })));
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 120);
    h.get("partner", "/health").await.assert_ok(200);
    h.get("ratelimit", "/health").await.assert_ok(200);
    let (status, body) = h.control(Method::GET, "/__launchgate/fixtures").await;
    assert_eq!(status, 200);
    assert_eq!(body["keys"]["partner"], h.key("partner"));
    assert_eq!(body["fixtures"]["card_id"], h.fx("card_id"));
}

#[tokio::test]
async fn latency_is_added() {
    let h = start(MockOptions {
        latency: Some(Latency::Fixed(Duration::from_millis(150))),
        ..MockOptions::default()
    })
    .await;
    let t = Instant::now();
    h.get("partner", "/health").await.assert_ok(200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        "10ms..200ms".parse::<Latency>().unwrap(),
        Latency::Uniform(Duration::from_millis(10), Duration::from_millis(200))
    );
    assert!("200ms..10ms".parse::<Latency>().is_err());
}

// ------------------------------------------------------------------------------------------
// Framework-level answers
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn feature_off_is_a_bare_404() {
    let h = start(MockOptions {
        feature_off: true,
        ..MockOptions::default()
    })
    .await;
    for path in ["/health", "/partner/cards", "/nope"] {
        let r = h.get("partner", path).await;
        assert_eq!(r.status, 404);
        assert!(
            r.body.get("error").is_none() && r.body.get("code").is_none(),
            "{}",
            r.text
        );
        assert!(r.has_no_rate_headers());
    }
}

#[tokio::test]
async fn unknown_paths_methods_and_big_bodies() {
    let h = start(MockOptions {
        max_body_bytes: 1024,
        ..MockOptions::default()
    })
    .await;
    let r = h.get("partner", "/partner/nothing-here").await;
    r.assert_error(404, "NOT_FOUND", "no_retry");
    let r = h.get("partner", "/xyz").await;
    assert_eq!(r.status, 404);
    assert!(r.body.get("error").is_none());
    let r = h.get("partner", "/partner/transactions/purchase").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = h
        .send(Method::DELETE, Some("partner"), "/health", None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 405);
    let big = format!("{{\"note\":\"{}\"}}", "a".repeat(4000));
    let r = h
        .send(
            Method::POST,
            Some("partner"),
            "/partner/transactions/purchase",
            Some(&big),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 413);
    // Ids with escapes and odd bytes are just unknown.
    let r = h.get("partner", "/partner/cards/%FF%00%zz").await;
    r.assert_error(404, "NOT_FOUND", "no_retry");
    let r = h.get("partner", "/partner/members/ada%40example.com").await;
    r.assert_ok(200);
}

// ------------------------------------------------------------------------------------------
// Quirks: each flips exactly its rule
// ------------------------------------------------------------------------------------------

#[test]
fn quirk_names_round_trip() {
    for q in Quirk::ALL {
        assert_eq!(q.to_string().parse::<Quirk>().unwrap(), *q);
        assert!(!q.description().is_empty());
    }
    let err = "no-such-quirk".parse::<Quirk>().unwrap_err().to_string();
    assert!(err.contains("no-ratelimit-headers") && err.contains("overdraft-allowed"));
}

#[tokio::test]
async fn quirk_no_ratelimit_headers() {
    let h = start(opts_with(&[Quirk::NoRatelimitHeaders])).await;
    let r = h.get("partner", "/health").await;
    r.assert_ok(200);
    assert!(r.has_no_rate_headers());
}

#[tokio::test]
async fn quirk_no_retry_after() {
    let h = start(MockOptions {
        quirks: vec![Quirk::NoRetryAfter],
        rate_window: Duration::from_secs(30),
        ..MockOptions::default()
    })
    .await;
    for _ in 0..5 {
        h.get("ratelimit", "/health").await.assert_ok(200);
    }
    let r = h.get("ratelimit", "/health").await;
    r.assert_error(429, "RATE_LIMITED", "backoff");
    assert!(r.header("retry-after").is_none());
    assert!(r.has_rate_headers());
}

#[tokio::test]
async fn quirk_foreign_id_403() {
    let h = start(opts_with(&[Quirk::ForeignId403])).await;
    let r = h
        .get(
            "partner",
            &format!("/partner/cards/{}", h.fx("foreign_card_id")),
        )
        .await;
    assert_eq!(r.status, 403);
    h.get("partner", &format!("/partner/cards/{UNKNOWN_UUID}"))
        .await
        .assert_error(404, "NOT_FOUND", "no_retry");
}

#[tokio::test]
async fn quirk_scope_not_enforced() {
    let h = start(opts_with(&[Quirk::ScopeNotEnforced])).await;
    let body = purchase_body(&h, &h.fx("member_identifier"), json!({ "points": 1 }));
    h.post("partner_readonly", "/partner/transactions/purchase", &body)
        .await
        .assert_ok(201);
    h.get("member", "/partner/cards")
        .await
        .assert_error(403, "AUTH_WRONG_ROLE", "no_retry");
}

#[tokio::test]
async fn quirk_role_not_enforced() {
    let h = start(opts_with(&[Quirk::RoleNotEnforced])).await;
    let r = h.get("member", "/partner/cards").await;
    assert_ne!(r.body["code"], "AUTH_WRONG_ROLE");
    assert_eq!(r.status, 200);
    let r = h
        .post(
            "partner_readonly",
            "/partner/transactions/purchase",
            &json!({}),
        )
        .await;
    r.assert_error(403, "AUTH_INSUFFICIENT_SCOPE", "no_retry");
}

#[tokio::test]
async fn quirk_invalid_key_403() {
    let h = start(opts_with(&[Quirk::InvalidKey403])).await;
    let r = h
        .send(
            Method::GET,
            Some("raw:rl_agent_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "/health",
            None,
            &[],
        )
        .await
        .unwrap();
    r.assert_error(403, "AUTH_INVALID_KEY", "no_retry");
    h.get("revoked", "/health")
        .await
        .assert_error(401, "AUTH_KEY_REVOKED", "no_retry");
}

#[tokio::test]
async fn quirk_disabled_partner_allowed() {
    let h = start(opts_with(&[Quirk::DisabledPartnerAllowed])).await;
    h.get("disabled_partner", "/partner/cards")
        .await
        .assert_ok(200);
}

#[tokio::test]
async fn quirk_overdraft_allowed() {
    let h = start(opts_with(&[Quirk::OverdraftAllowed])).await;
    let m = h.fx("member_identifier");
    let redeem = json!({ "card_id": h.fx("card_id"), "reward_id": h.fx("expensive_reward_id"), "member_identifier": m });
    let d = h
        .post("partner", "/partner/transactions/redeem", &redeem)
        .await
        .assert_ok(200)
        .clone();
    assert_eq!(d["new_balance"], 120 - 1_000_000);
    assert_eq!(h.balance(&m, &h.fx("card_id")).await, 120 - 1_000_000);
    let h = start(opts_with(&[Quirk::OverdraftAllowed])).await;
    let r = h
        .post(
            "member",
            &format!("/member/rewards/{}/claim", h.fx("expensive_reward_id")),
            &json!({}),
        )
        .await;
    r.assert_ok(200);
}

#[tokio::test]
async fn quirk_wrong_retry_strategy() {
    let h = start(MockOptions {
        quirks: vec![Quirk::WrongRetryStrategy],
        rate_window: Duration::from_secs(30),
        ..MockOptions::default()
    })
    .await;
    for _ in 0..5 {
        h.get("ratelimit", "/health").await;
    }
    h.get("ratelimit", "/health")
        .await
        .assert_error(429, "RATE_LIMITED", "no_retry");
    h.get("disabled_partner", "/partner/cards")
        .await
        .assert_error(403, "FEATURE_DISABLED", "contact_support");
}

#[tokio::test]
async fn quirk_reset_in_milliseconds() {
    let h = start(opts_with(&[Quirk::ResetInMilliseconds])).await;
    let r = h.get("partner", "/health").await;
    let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(
        reset > unix_now() * 100,
        "reset {reset} is not in milliseconds"
    );
}

#[tokio::test]
async fn quirk_no_envelope_on_errors() {
    let h = start(opts_with(&[Quirk::NoEnvelopeOnErrors])).await;
    let r = h
        .get(
            "partner_readonly",
            &format!("/partner/cards/{UNKNOWN_UUID}"),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(r.body.get("code").is_none() && r.body.get("error").is_none());
    assert!(r.body["message"].is_string());
    h.get("partner", "/health").await.assert_ok(200);
}

#[tokio::test]
async fn quirk_no_last_page() {
    let h = start(opts_with(&[Quirk::NoLastPage])).await;
    let r = h.get("partner", "/partner/transactions").await;
    assert_eq!(
        r.body["pagination"],
        json!({ "current_page": 1, "per_page": 25, "total": 34 })
    );
}

#[tokio::test]
async fn quirk_per_page_not_clamped() {
    let h = start(opts_with(&[Quirk::PerPageNotClamped])).await;
    let r = h.get("partner", "/partner/transactions?per_page=500").await;
    assert_eq!(r.body["pagination"]["per_page"], 500);
}

#[tokio::test]
async fn quirk_ratelimit_headers_on_401() {
    let h = start(opts_with(&[Quirk::RatelimitHeadersOn401])).await;
    let r = h
        .send(Method::GET, None, "/health", None, &[])
        .await
        .unwrap();
    r.assert_error(401, "AUTH_MISSING_KEY", "no_retry");
    assert!(r.has_rate_headers());
}

#[tokio::test]
async fn quirk_no_rate_limit() {
    let h = start(MockOptions {
        quirks: vec![Quirk::NoRateLimit],
        rate_window: Duration::from_secs(30),
        ..MockOptions::default()
    })
    .await;
    for _ in 0..8 {
        h.get("ratelimit", "/health").await.assert_ok(200);
    }
}

/// A purchase that would take a balance past the 64-bit maximum used to saturate
/// silently while the ledger kept adding; it is refused with VALIDATION_FAILED and
/// the balance is unchanged.
#[tokio::test]
async fn purchases_that_would_overflow_the_balance_are_refused() {
    let h = start_default().await;
    let p = "/partner/transactions/purchase";
    let m = h.fx("member_identifier");
    let first = h
        .post(
            "partner",
            p,
            &purchase_body(&h, &m, json!({ "points": i64::MAX / 2 })),
        )
        .await;
    first.assert_ok(201);
    let before = first.body["data"]["member_balance"].as_i64().unwrap();
    for (extra, field) in [
        (json!({ "points": i64::MAX }), "points"),
        (json!({ "purchase_amount": 1e300 }), "purchase_amount"),
        (json!({ "purchase_amount": 1e18 }), "purchase_amount"),
    ] {
        let r = h
            .post("partner", p, &purchase_body(&h, &m, extra.clone()))
            .await;
        r.assert_error(422, "VALIDATION_FAILED", "fix_request");
        assert!(
            r.body["details"]["errors"][field].is_array(),
            "{extra}: {}",
            r.text
        );
    }
    let after = h
        .post("partner", p, &purchase_body(&h, &m, json!({ "points": 0 })))
        .await;
    after.assert_ok(201);
    assert_eq!(after.body["data"]["member_balance"].as_i64(), Some(before));
}
