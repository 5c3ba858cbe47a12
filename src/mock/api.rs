//! Request processing for the Agent API: routing, the check order of §A.2, envelopes, and
//! the fault and quirk switches.
//!
//! One synchronous function decides everything about a request while holding the state
//! lock; the async wrapper around it only reads the body, sleeps for injected latency and
//! writes the journal. Keeping the decision synchronous is what makes a committed write
//! independent of whether the client is still there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::fixtures::{Fixtures, Key};
use super::handlers;
use super::journal::{self, Journal};
use super::quirk::{Quirk, QuirkSet};
use super::state::State;
use super::Latency;
use crate::agent_api::{
    Delivery, ErrorCode, JournalEntry, RetryStrategy, Role, BASE_PATH, KEY_HEADER,
};

/// The request header that forces a fault for one request.
pub(crate) const FAULT_HEADER: &str = "x-launchgate-fault";

/// Options the request path reads, fixed at start.
pub(crate) struct Config {
    pub quirks: QuirkSet,
    pub window: Duration,
    pub feature_off: bool,
    pub latency: Option<Latency>,
    pub fail_rate: f64,
    pub drop_rate: f64,
    pub seed: u64,
    pub max_body: usize,
    /// Replaces every key's own limit (the referee lowers it to provoke 429s).
    pub rate_limit_override: Option<u32>,
    /// Inject what the referee judges (see [`super::MockOptions::provoke`]).
    pub provoke: bool,
    /// Time a request may take to send its body.
    pub body_timeout: Duration,
}

/// Counters behind `provoke`: which authenticated request gets the early 429, which write
/// gets which definitive error.
#[derive(Default)]
pub(crate) struct Provoked {
    authed: AtomicU64,
    writes: AtomicU64,
    commits: AtomicU64,
    /// The GET answered with a burst of 500s (key, path, query) and how many are left;
    /// `None` before the burst started.
    burst: Mutex<Option<(String, u32)>>,
}

impl Provoked {
    /// Whether this GET is (still) part of the 500 burst; starts it on the first eligible GET.
    fn burst_500(&self, request: String, eligible: bool) -> bool {
        let mut burst = self.burst.lock();
        match burst.as_mut() {
            Some((r, left)) if *r == request && *left > 0 => {
                *left -= 1;
                true
            }
            Some(_) => false,
            None if eligible => {
                *burst = Some((request, PROVOKED_500_BURST - 1));
                true
            }
            None => false,
        }
    }
}

/// Authenticated requests (counted from 0) answered 429 under `provoke`, whatever the
/// window says: early, so a slow client meets one too.
const PROVOKED_429: [u64; 2] = [2, 29];
/// Under `provoke`, the first GET after the early 429 is answered 500 this many times in a
/// row (the same key, path and query), so a client that retries shows its second and third
/// delay, not only its first.
const PROVOKED_500_BURST: u32 = 3;

/// The definitive error injected into the n-th write (counted from 0) under `provoke`: one
/// per `retry_strategy`, early in the run. Nothing is written.
fn provoked_error(n: u64) -> Option<ApiError> {
    Some(match n {
        2 => ApiError::validation(
            [(
                "note".to_string(),
                json!(["The note could not be processed (launchgate fault: fix_request)."]),
            )]
            .into_iter()
            .collect(),
        ),
        3 => ApiError::new(
            ErrorCode::NotFound,
            "Member not found (launchgate fault: no_retry).",
        ),
        6 => ApiError::new(
            ErrorCode::FeatureDisabled,
            "This feature is not enabled for this partner (launchgate fault: contact_support).",
        )
        .with(json!({ "permission": "loyalty_cards_permission" })),
        8 => ApiError::new(
            ErrorCode::AuthInvalidKey,
            "The API key is invalid (launchgate fault: no_retry).",
        ),
        _ => return None,
    })
}

impl Config {
    pub(crate) fn quirk(&self, q: Quirk) -> bool {
        self.quirks.has(q)
    }
}

/// Everything the server shares between requests.
pub(crate) struct Shared {
    pub fx: Fixtures,
    pub state: Mutex<State>,
    pub journal: Journal,
    pub cfg: Config,
    /// Counts arrivals; with `seed` it picks each request's fault dice, so a run with the
    /// same seed and the same request order draws the same faults.
    pub arrivals: AtomicU64,
    /// Counters of the `provoke` schedule.
    pub provoked: Provoked,
}

// ---------------------------------------------------------------------------------------
// Error codes and replies
// ---------------------------------------------------------------------------------------

/// A refusal, rendered as the error envelope.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// Replaces the code's status (only the `invalid-key-403` quirk needs it).
    pub status: Option<StatusCode>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            status: None,
        }
    }

    pub(crate) fn with(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub(crate) fn not_found(resource: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{resource} not found."))
    }

    pub(crate) fn validation(errors: Map<String, Value>) -> Self {
        ApiError::new(ErrorCode::ValidationFailed, "The given data was invalid.")
            .with(json!({ "errors": errors }))
    }
}

/// What a request produced, before headers and quirks are applied.
pub(crate) enum Reply {
    Data {
        status: StatusCode,
        data: Value,
    },
    /// `data` already serialized (for hot paths that serialize a typed struct).
    Raw {
        status: StatusCode,
        data: Vec<u8>,
    },
    List {
        data: Vec<Value>,
        pagination: Value,
    },
    Error(ApiError),
    /// A framework-level answer outside the agent envelope (bare `{"message"}`).
    Plain {
        status: StatusCode,
        message: &'static str,
        allow: Option<&'static str>,
    },
}

impl Reply {
    /// The framework's 404 for a path no route matches (outside the agent envelope).
    fn plain_not_found() -> Reply {
        Reply::Plain {
            status: StatusCode::NOT_FOUND,
            message: "Not Found",
            allow: None,
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        Reply::Error(e)
    }
}

/// Rate-limit header values for a response that passed authentication.
#[derive(Debug, Clone, Copy)]
struct RateInfo {
    limit: u32,
    remaining: u32,
    /// Seconds until the window resets, rounded up.
    reset_in: u64,
    /// Set on 429 only.
    retry_after: Option<u64>,
}

// ---------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------

/// Agent API endpoints (§A.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ep {
    Health,
    PartnerCards,
    PartnerCard,
    PartnerRewards,
    PartnerReward,
    PartnerMembers,
    PartnerMember,
    PartnerMemberBalance,
    PartnerTransactions,
    PartnerPurchase,
    PartnerRedeem,
    MemberProfile,
    MemberBalance,
    MemberCards,
    MemberTransactions,
    MemberRewards,
    MemberClaim,
    AdminPartners,
    AdminPartner,
    AdminPermissions,
    AdminDeactivate,
    AdminActivate,
}

/// Who may call an endpoint, with which scopes, behind which product permission.
struct Spec {
    role: Option<Role>,
    scopes: &'static [&'static str],
    gate: Option<&'static str>,
    write: bool,
}

impl Ep {
    fn spec(self) -> Spec {
        const LOYALTY: Option<&str> = Some("loyalty_cards_permission");
        let s = |role, scopes, gate, write| Spec {
            role: Some(role),
            scopes,
            gate,
            write,
        };
        match self {
            Ep::Health => Spec {
                role: None,
                scopes: &[],
                gate: None,
                write: false,
            },
            Ep::PartnerCards | Ep::PartnerCard => {
                s(Role::Partner, &["read", "write:cards"], LOYALTY, false)
            }
            Ep::PartnerRewards | Ep::PartnerReward => {
                s(Role::Partner, &["read", "write:rewards"], LOYALTY, false)
            }
            Ep::PartnerMembers | Ep::PartnerMember | Ep::PartnerMemberBalance => {
                s(Role::Partner, &["read"], None, false)
            }
            Ep::PartnerTransactions => {
                s(Role::Partner, &["read", "write:transactions"], None, false)
            }
            Ep::PartnerPurchase => s(Role::Partner, &["write:transactions"], None, true),
            Ep::PartnerRedeem => s(Role::Partner, &["write:rewards"], None, true),
            Ep::MemberProfile
            | Ep::MemberBalance
            | Ep::MemberCards
            | Ep::MemberTransactions
            | Ep::MemberRewards => s(Role::Member, &["read"], None, false),
            Ep::MemberClaim => s(Role::Member, &["write:redeem"], None, true),
            Ep::AdminPartners | Ep::AdminPartner => s(Role::Admin, &["read:partners"], None, false),
            Ep::AdminPermissions | Ep::AdminDeactivate | Ep::AdminActivate => {
                s(Role::Admin, &["write:partners"], None, true)
            }
        }
    }
}

enum RouteMiss {
    NotFound,
    Method(&'static str),
}

/// Matches a path below the base to an endpoint and its path parameters.
fn route(method: &Method, rest: &str) -> Result<(Ep, Vec<String>), RouteMiss> {
    let rest = rest.trim_end_matches('/');
    let segs: Vec<String> = rest.split('/').skip(1).map(percent_decode).collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(RouteMiss::NotFound);
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (allowed, ep, params): (Method, Ep, Vec<&str>) = match s.as_slice() {
        ["health"] => (Method::GET, Ep::Health, vec![]),
        ["partner", "cards"] => (Method::GET, Ep::PartnerCards, vec![]),
        ["partner", "cards", id] => (Method::GET, Ep::PartnerCard, vec![id]),
        ["partner", "rewards"] => (Method::GET, Ep::PartnerRewards, vec![]),
        ["partner", "rewards", id] => (Method::GET, Ep::PartnerReward, vec![id]),
        ["partner", "members"] => (Method::GET, Ep::PartnerMembers, vec![]),
        ["partner", "members", id] => (Method::GET, Ep::PartnerMember, vec![id]),
        ["partner", "members", id, "balance", card] => {
            (Method::GET, Ep::PartnerMemberBalance, vec![id, card])
        }
        ["partner", "transactions"] => (Method::GET, Ep::PartnerTransactions, vec![]),
        ["partner", "transactions", "purchase"] => (Method::POST, Ep::PartnerPurchase, vec![]),
        ["partner", "transactions", "redeem"] => (Method::POST, Ep::PartnerRedeem, vec![]),
        ["member", "profile"] => (Method::GET, Ep::MemberProfile, vec![]),
        ["member", "balance"] => (Method::GET, Ep::MemberBalance, vec![]),
        ["member", "cards"] => (Method::GET, Ep::MemberCards, vec![]),
        ["member", "transactions"] => (Method::GET, Ep::MemberTransactions, vec![]),
        ["member", "rewards"] => (Method::GET, Ep::MemberRewards, vec![]),
        ["member", "rewards", id, "claim"] => (Method::POST, Ep::MemberClaim, vec![id]),
        ["admin", "partners"] => (Method::GET, Ep::AdminPartners, vec![]),
        ["admin", "partners", id] => (Method::GET, Ep::AdminPartner, vec![id]),
        ["admin", "partners", id, "permissions"] => (Method::PATCH, Ep::AdminPermissions, vec![id]),
        ["admin", "partners", id, "deactivate"] => (Method::POST, Ep::AdminDeactivate, vec![id]),
        ["admin", "partners", id, "activate"] => (Method::POST, Ep::AdminActivate, vec![id]),
        _ => return Err(RouteMiss::NotFound),
    };
    let method_ok = *method == allowed || (allowed == Method::GET && *method == Method::HEAD);
    if !method_ok {
        return Err(RouteMiss::Method(match allowed {
            Method::GET => "GET, HEAD",
            Method::PATCH => "PATCH",
            _ => "POST",
        }));
    }
    Ok((ep, params.into_iter().map(str::to_owned).collect()))
}

/// Decodes `%XX` escapes in a path segment (ids may be emails: `ada%40example.com`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------
// The request context handed to endpoint handlers
// ---------------------------------------------------------------------------------------

/// A request after authentication, as endpoint handlers see it.
pub(crate) struct Ctx<'a> {
    pub fx: &'a Fixtures,
    pub st: &'a mut State,
    pub cfg: &'a Config,
    pub key: &'a Key,
    /// The calling partner, when the key is a partner key (absent only under `role-not-enforced`).
    pub partner: Option<usize>,
    /// The calling member, when the key is a member key.
    pub member: Option<usize>,
    pub params: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: &'a [u8],
    /// Language of `Accept-Language`, when sent: translatable fields become plain strings.
    pub locale: Option<String>,
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn quirk(&self, q: Quirk) -> bool {
        self.cfg.quirk(q)
    }

    /// 404 for an id that is not the caller's; under `foreign-id-403`, 403 when it exists elsewhere.
    pub(crate) fn not_found(&self, resource: &str, exists_elsewhere: bool) -> ApiError {
        if exists_elsewhere && self.quirk(Quirk::ForeignId403) {
            ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "This {} belongs to another partner.",
                    resource.to_lowercase()
                ),
            )
        } else {
            ApiError::not_found(resource)
        }
    }
}

// ---------------------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------------------

/// The outcome of one request, ready to be journaled and sent.
struct Processed {
    reply: Reply,
    rate: Option<RateInfo>,
    key: Option<usize>,
    /// The endpoint wrote, so a drop-after-commit fault applies.
    committed: bool,
    /// A fault injected into this request.
    fault: Option<&'static str>,
    /// What the journal records of the ledger: the transaction a write created, or the
    /// transactions a list returned.
    committed_txn: Option<String>,
    listed_txns: Option<Vec<String>>,
}

impl Processed {
    fn bare(reply: Reply, key: Option<usize>) -> Self {
        Processed {
            reply,
            rate: None,
            key,
            committed: false,
            fault: None,
            committed_txn: None,
            listed_txns: None,
        }
    }

    fn injected(mut self, fault: &'static str) -> Self {
        self.fault = Some(fault);
        self
    }
}

/// The transaction id a successful write answered with.
fn created_txn(reply: &Reply) -> Option<String> {
    match reply {
        Reply::Data { data, .. } => data
            .get("transaction_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// The transaction ids on a page of a transactions list.
fn listed_txns(reply: &Reply) -> Option<Vec<String>> {
    match reply {
        Reply::List { data, .. } => Some(
            data.iter()
                .filter_map(|t| t.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

/// An authenticated request, counted against its key's window.
struct Admitted {
    ki: usize,
    rate: RateInfo,
    /// A fault injected when it was counted (`rate-limited`).
    fault: Option<&'static str>,
}

impl Admitted {
    /// The answer, with the rate-limit headers every counted response carries.
    fn answer(&self, reply: Reply, committed: bool) -> Processed {
        Processed {
            rate: Some(self.rate),
            committed,
            fault: self.fault,
            ..Processed::bare(reply, Some(self.ki))
        }
    }

    /// The calling partner, when the key is a partner key.
    fn partner(&self, fx: &Fixtures) -> Option<usize> {
        let key = &fx.keys[self.ki];
        (key.role == Role::Partner).then_some(key.owner)
    }

    /// The calling member, when the key is a member key.
    fn member(&self, fx: &Fixtures) -> Option<usize> {
        let key = &fx.keys[self.ki];
        (key.role == Role::Member).then_some(key.owner)
    }
}

/// The fault dice of one request, drawn up front in a fixed order.
struct Dice {
    latency: Duration,
    fail: bool,
    drop: bool,
}

impl Shared {
    fn dice(&self, headers: &HeaderMap) -> Dice {
        let forced = headers
            .get(FAULT_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let forced_has = |name: &str| {
            forced
                .split(',')
                .any(|f| f.trim().eq_ignore_ascii_case(name))
        };
        let cfg = &self.cfg;
        let mut dice = Dice {
            latency: Duration::ZERO,
            fail: forced_has("internal-error"),
            drop: forced_has("drop-after-commit"),
        };
        if cfg.latency.is_none() && cfg.fail_rate <= 0.0 && cfg.drop_rate <= 0.0 {
            return dice;
        }
        let n = self.arrivals.fetch_add(1, Ordering::Relaxed);
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        dice.latency = match cfg.latency {
            None => Duration::ZERO,
            Some(Latency::Fixed(d)) => d,
            Some(Latency::Uniform(lo, hi)) if hi > lo => rng.gen_range(lo..=hi),
            Some(Latency::Uniform(lo, _)) => lo,
        };
        dice.fail |= rng.gen_bool(cfg.fail_rate.clamp(0.0, 1.0));
        dice.drop |= rng.gen_bool(cfg.drop_rate.clamp(0.0, 1.0));
        dice
    }

    /// The fixture key the request carries, if any: the journal names it even when refused.
    fn known_key(&self, headers: &HeaderMap) -> Option<usize> {
        let key = headers.get(KEY_HEADER)?.to_str().ok()?.trim();
        self.fx.key_by_secret.get(key).copied()
    }

    /// §A.2 in order: auth → rate limit → role → partner permission → scope → gates → endpoint.
    fn process(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        dice: &Dice,
    ) -> Processed {
        let known_key = self.known_key(headers);
        let (ep, params) = match self.route_request(method, path, known_key) {
            Ok(r) => r,
            Err(p) => return *p,
        };
        let now = Utc::now();
        let ki = match self.authenticate(headers, known_key, now) {
            Ok(ki) => ki,
            Err(p) => return *p,
        };
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if let Err(p) = self.check_owner(st, ki) {
            return *p;
        }
        let (admitted, provoked_500) = self.admit(st, ki, method, path, query);
        if let Some(p) = self.refuse(st, &admitted, ep, dice.fail || provoked_500) {
            return p;
        }
        let mut ctx = Ctx {
            fx: &self.fx,
            st,
            cfg: &self.cfg,
            key: &self.fx.keys[ki],
            partner: admitted.partner(&self.fx),
            member: admitted.member(&self.fx),
            params,
            query: query.map(parse_query).unwrap_or_default(),
            body,
            locale: headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(language),
            now,
        };
        let reply = handlers::dispatch(ep, &mut ctx);
        let committed = ep.spec().write
            && matches!(
                reply,
                Reply::Data { .. } | Reply::Raw { .. } | Reply::List { .. }
            );
        let committed_txn = committed.then(|| created_txn(&reply)).flatten();
        let listed = matches!(ep, Ep::PartnerTransactions | Ep::MemberTransactions)
            .then(|| listed_txns(&reply))
            .flatten();
        Processed {
            committed_txn,
            listed_txns: listed,
            ..admitted.answer(reply, committed)
        }
    }

    /// The endpoint a request is for: outside the base path, or with the API switched
    /// off, a bare 404; an unknown route 404 NOT_FOUND; a known path with another
    /// method 405.
    fn route_request(
        &self,
        method: &Method,
        path: &str,
        known_key: Option<usize>,
    ) -> Result<(Ep, Vec<String>), Box<Processed>> {
        let Some(rest) = path
            .strip_prefix(BASE_PATH)
            .filter(|r| r.is_empty() || r.starts_with('/'))
        else {
            return Err(Box::new(Processed::bare(
                Reply::plain_not_found(),
                known_key,
            )));
        };
        if self.cfg.feature_off {
            // FEATURE_AGENT_API=false: no agent route is registered at all.
            return Err(Box::new(Processed::bare(
                Reply::plain_not_found(),
                known_key,
            )));
        }
        route(method, rest).map_err(|miss| match miss {
            RouteMiss::NotFound => Box::new(Processed::bare(
                ApiError::new(ErrorCode::NotFound, "Endpoint not found.").into(),
                known_key,
            )),
            RouteMiss::Method(allow) => {
                let reply = Reply::Plain {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    message: "Method Not Allowed",
                    allow: Some(allow),
                };
                Box::new(Processed::bare(reply, known_key))
            }
        })
    }

    /// A refusal during authentication: not counted, so no rate-limit headers (unless the
    /// `ratelimit-headers-on-401` quirk adds them).
    fn auth_refusal(&self, known_key: Option<usize>, code: ErrorCode, msg: &str) -> Box<Processed> {
        let (cfg, fx) = (&self.cfg, &self.fx);
        let rate = cfg.quirk(Quirk::RatelimitHeadersOn401).then(|| RateInfo {
            limit: known_key.map_or(60, |k| fx.keys[k].rate_limit),
            remaining: known_key.map_or(60, |k| fx.keys[k].rate_limit),
            reset_in: cfg.window.as_secs().max(1),
            retry_after: None,
        });
        let mut err = ApiError::new(code, msg);
        if code == ErrorCode::AuthInvalidKey && cfg.quirk(Quirk::InvalidKey403) {
            err.status = Some(StatusCode::FORBIDDEN);
        }
        Box::new(Processed {
            rate,
            ..Processed::bare(Reply::Error(err), known_key)
        })
    }

    /// Authentication: key present → known → active → not expired. The key's index.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        known_key: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<usize, Box<Processed>> {
        // A header that is not text is present but cannot be a key: AUTH_INVALID_KEY.
        let key_header = headers
            .get(KEY_HEADER)
            .map(|v| v.to_str().map_or("\u{0}", str::trim));
        if key_header.is_none_or(str::is_empty) {
            return Err(self.auth_refusal(
                known_key,
                ErrorCode::AuthMissingKey,
                &format!("An API key is required ({KEY_HEADER} header)."),
            ));
        }
        let Some(ki) = known_key else {
            return Err(self.auth_refusal(
                known_key,
                ErrorCode::AuthInvalidKey,
                "The API key is invalid.",
            ));
        };
        let key = &self.fx.keys[ki];
        if !key.is_active {
            return Err(self.auth_refusal(
                known_key,
                ErrorCode::AuthKeyRevoked,
                "This API key has been revoked.",
            ));
        }
        if key.expires_at.is_some_and(|at| at <= now) {
            return Err(self.auth_refusal(
                known_key,
                ErrorCode::AuthKeyExpired,
                "This API key has expired.",
            ));
        }
        Ok(ki)
    }

    /// The end of authentication: the key's owner is active, a member key's member is not anonymous.
    fn check_owner(&self, st: &State, ki: usize) -> Result<(), Box<Processed>> {
        let (fx, key) = (&self.fx, &self.fx.keys[ki]);
        let owner_active = match key.role {
            Role::Partner => st.partners[key.owner].is_active,
            Role::Member => fx.members[key.owner].is_active,
            Role::Admin => fx.admins[key.owner].is_active,
        };
        if !owner_active {
            return Err(self.auth_refusal(
                Some(ki),
                ErrorCode::AuthOwnerInactive,
                "The owner of this API key is inactive.",
            ));
        }
        if key.role == Role::Member && fx.members[key.owner].is_anonymous {
            return Err(self.auth_refusal(
                Some(ki),
                ErrorCode::AuthAnonymousMember,
                "Anonymous members cannot use the Agent API.",
            ));
        }
        Ok(())
    }

    /// Counts an authenticated request against its key's window; under `provoke`, turns
    /// it into an early 429 or part of the 500 burst (the second value).
    fn admit(
        &self,
        st: &mut State,
        ki: usize,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> (Admitted, bool) {
        let mut admitted = Admitted {
            ki,
            rate: self.count(st, ki),
            fault: None,
        };
        let mut provoked_500 = false;
        if self.cfg.provoke && admitted.rate.retry_after.is_none() {
            let n = self.provoked.authed.fetch_add(1, Ordering::Relaxed);
            if *method == Method::GET {
                let request = format!("{ki} {path}?{}", query.unwrap_or(""));
                provoked_500 = self.provoked.burst_500(request, n > PROVOKED_429[0]);
            }
            if PROVOKED_429.contains(&n) {
                admitted.rate = RateInfo {
                    remaining: 0,
                    reset_in: 1,
                    retry_after: Some(1),
                    ..admitted.rate
                };
                admitted.fault = Some("rate-limited");
            }
        }
        (admitted, provoked_500)
    }

    /// What answers an admitted request before its endpoint runs: the rate limit, an
    /// injected 500, the role, permission, scope and gate checks, a provoked error.
    fn refuse(&self, st: &State, a: &Admitted, ep: Ep, fail: bool) -> Option<Processed> {
        if let Some(retry_after) = a.rate.retry_after {
            let err = ApiError::new(ErrorCode::RateLimited, "Too many requests. Slow down.").with(
                json!({
                    "limit": a.rate.limit,
                    "window_seconds": self.cfg.window.as_secs().max(1),
                    "retry_after_seconds": retry_after,
                }),
            );
            return Some(a.answer(err.into(), false));
        }
        if fail {
            let err = ApiError::new(ErrorCode::InternalError, "An unexpected error occurred.");
            return Some(a.answer(err.into(), false).injected("internal-error"));
        }
        if let Some(err) = self.access_error(st, a, ep.spec()) {
            return Some(a.answer(err.into(), false));
        }
        if self.cfg.provoke
            && matches!(
                ep,
                Ep::PartnerPurchase | Ep::PartnerRedeem | Ep::MemberClaim
            )
        {
            let n = self.provoked.writes.fetch_add(1, Ordering::Relaxed);
            if let Some(err) = provoked_error(n) {
                let p = if err.code == ErrorCode::AuthInvalidKey {
                    // A 401 is refused before the rate limit counts: no rate-limit headers.
                    Processed::bare(err.into(), Some(a.ki))
                } else {
                    a.answer(err.into(), false)
                };
                return Some(p.injected("definitive-error"));
            }
        }
        None
    }

    /// Role of the route group → partner `agent_api_permission` → scope → product gates.
    fn access_error(&self, st: &State, a: &Admitted, spec: Spec) -> Option<ApiError> {
        let (cfg, key) = (&self.cfg, &self.fx.keys[a.ki]);
        if let Some(required) = spec.role {
            if required != key.role && !cfg.quirk(Quirk::RoleNotEnforced) {
                let err = ApiError::new(ErrorCode::AuthWrongRole, format!("This endpoint requires a {} key.", required.as_str()))
                    .with(json!({ "required_role": required.as_str(), "provided_role": key.role.as_str() }));
                return Some(err);
            }
        }
        let permitted = |p: usize, permission: &str| {
            st.partners[p]
                .permissions
                .get(permission)
                .copied()
                .unwrap_or(false)
        };
        let partner = a.partner(&self.fx);
        if let (Some(Role::Partner), Some(p)) = (spec.role, partner) {
            if !permitted(p, "agent_api_permission") && !cfg.quirk(Quirk::DisabledPartnerAllowed) {
                let err = ApiError::new(
                    ErrorCode::FeatureDisabled,
                    "Agent API access is not enabled for this partner.",
                )
                .with(json!({ "permission": "agent_api_permission" }));
                return Some(err);
            }
        }
        if !spec.scopes.is_empty()
            && !key.has_any_scope(spec.scopes)
            && !cfg.quirk(Quirk::ScopeNotEnforced)
        {
            let required = spec.scopes[0];
            let err = ApiError::new(
                ErrorCode::AuthInsufficientScope,
                format!("This action requires the '{required}' scope."),
            )
            .with(json!({ "required_scope": required }));
            return Some(err);
        }
        match (spec.gate, partner) {
            (Some(gate), Some(p)) if !permitted(p, gate) => Some(
                ApiError::new(
                    ErrorCode::FeatureDisabled,
                    "This feature is not enabled for this partner.",
                )
                .with(json!({ "permission": gate })),
            ),
            _ => None,
        }
    }

    /// Counts one request against the key's window and says whether it is refused.
    fn count(&self, st: &mut State, ki: usize) -> RateInfo {
        let limit = self
            .cfg
            .rate_limit_override
            .unwrap_or(self.fx.keys[ki].rate_limit);
        let window = self.cfg.window;
        let now = Instant::now();
        let w = &mut st.windows[ki];
        let start = match w.start {
            Some(s) if now.duration_since(s) < window => s,
            _ => {
                w.count = 0;
                w.start = Some(now);
                now
            }
        };
        let left = window.saturating_sub(now.duration_since(start));
        let reset_in = ceil_secs(left);
        if w.count >= limit && !self.cfg.quirk(Quirk::NoRateLimit) {
            let retry_after = reset_in.max(1);
            return RateInfo {
                limit,
                remaining: 0,
                reset_in: retry_after,
                retry_after: Some(retry_after),
            };
        }
        w.count = w.count.saturating_add(1);
        RateInfo {
            limit,
            remaining: limit.saturating_sub(w.count),
            reset_in,
            retry_after: None,
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

/// The primary language of an `Accept-Language` header (`nl-NL,nl;q=0.9` → `nl`).
fn language(header: &str) -> Option<String> {
    let first = header.split(',').next()?.split(';').next()?.trim();
    let lang = first.split(['-', '_']).next()?.to_ascii_lowercase();
    if lang.is_empty() || lang == "*" {
        Some("en".to_owned())
    } else {
        Some(lang)
    }
}

fn envelope_json(e: &ApiError, retry: RetryStrategy) -> Value {
    let mut m = Map::new();
    m.insert("error".into(), Value::Bool(true));
    m.insert("code".into(), Value::from(e.code.as_str()));
    m.insert("message".into(), Value::from(e.message.clone()));
    m.insert("retry_strategy".into(), Value::from(retry.as_str()));
    if let Some(d) = e
        .details
        .as_ref()
        .filter(|d| d.as_object().is_none_or(|o| !o.is_empty()))
    {
        m.insert("details".into(), d.clone());
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------
// Rendering and the async entry point
// ---------------------------------------------------------------------------------------

/// The answer for the wire, plus what the journal needs to know about it.
struct Rendered {
    response: Response,
    status: StatusCode,
    code: Option<ErrorCode>,
    retry_after: Option<u64>,
    /// `pagination.last_page` of a list, for the referee's pagination verdict.
    last_page: Option<u64>,
}

/// A reply as bytes on the wire, with what the journal needs to know about it.
struct Encoded {
    status: StatusCode,
    bytes: Vec<u8>,
    allow: Option<&'static str>,
    code: Option<ErrorCode>,
    last_page: Option<u64>,
}

/// Success bodies are serialized straight from borrowed parts: building a `Value` map
/// for the envelope costs an IndexMap per response on the hot path.
#[derive(serde::Serialize)]
struct Envelope<'a, D: serde::Serialize> {
    error: bool,
    data: &'a D,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<&'a Value>,
}

fn envelope_bytes<D: serde::Serialize>(data: &D, pagination: Option<&Value>) -> Vec<u8> {
    let env = Envelope {
        error: false,
        data,
        pagination,
    };
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, &env)
        .map(|_| out)
        .unwrap_or_else(|_| b"{}".to_vec())
}

/// The body of a reply: the success envelope, the error envelope (or the bare message of
/// the `no-envelope-on-errors` quirk), or a framework answer outside the envelope.
fn encode(cfg: &Config, reply: Reply) -> Encoded {
    let plain = |status, bytes, allow| Encoded {
        status,
        bytes,
        allow,
        code: None,
        last_page: None,
    };
    match reply {
        Reply::Data { status, data } => plain(status, envelope_bytes(&data, None), None),
        Reply::Raw { status, data } => {
            let mut out = Vec::with_capacity(data.len() + 24);
            out.extend_from_slice(b"{\"error\":false,\"data\":");
            out.extend_from_slice(&data);
            out.push(b'}');
            plain(status, out, None)
        }
        Reply::List { data, pagination } => Encoded {
            last_page: pagination.get("last_page").and_then(Value::as_u64),
            ..plain(
                StatusCode::OK,
                envelope_bytes(&data, Some(&pagination)),
                None,
            )
        },
        Reply::Error(e) => {
            let retry = if e.code == ErrorCode::RateLimited && cfg.quirk(Quirk::WrongRetryStrategy)
            {
                RetryStrategy::NoRetry
            } else {
                e.code.retry_strategy()
            };
            let body = if cfg.quirk(Quirk::NoEnvelopeOnErrors) {
                json!({ "message": e.message })
            } else {
                envelope_json(&e, retry)
            };
            Encoded {
                code: Some(e.code),
                ..plain(
                    e.status.unwrap_or_else(|| status_of(e.code)),
                    to_bytes(&body),
                    None,
                )
            }
        }
        Reply::Plain {
            status,
            message,
            allow,
        } => plain(status, to_bytes(&json!({ "message": message })), allow),
    }
}

/// The `X-RateLimit-*` headers (§A.5) and a 429's `Retry-After`, as the quirks allow;
/// the Retry-After asked for, whether sent or not.
fn rate_headers(cfg: &Config, h: &mut HeaderMap, rate: RateInfo) -> Option<u64> {
    if !cfg.quirk(Quirk::NoRatelimitHeaders) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let reset = if cfg.quirk(Quirk::ResetInMilliseconds) {
            (now.as_secs() + rate.reset_in) * 1000 + u64::from(now.subsec_millis())
        } else {
            now.as_secs() + rate.reset_in
        };
        h.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(reset));
    }
    let secs = rate.retry_after?;
    if !cfg.quirk(Quirk::NoRetryAfter) {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Some(secs)
}

fn render(cfg: &Config, p: Processed) -> Rendered {
    let encoded = encode(cfg, p.reply);
    let mut response = Response::new(Body::from(encoded.bytes));
    *response.status_mut() = encoded.status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(allow) = encoded.allow {
        h.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    let retry_after = p.rate.and_then(|rate| rate_headers(cfg, h, rate));
    Rendered {
        response,
        status: encoded.status,
        code: encoded.code,
        retry_after,
        last_page: encoded.last_page,
    }
}

/// The contract's status for a code.
fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())
}

/// A response whose body fails before its first byte: hyper then closes the connection
/// without having flushed the status line, so the client sees a transport error and no
/// response at all. This is the "committed, then the connection dropped" fault.
fn dropped() -> Response {
    Response::new(Body::new(FailingBody))
}

struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "launchgate fault: drop after commit",
        ))))
    }
}

/// The request body, read within the body timeout and size bound; past either, the
/// plain 408 or 413 that answers instead.
async fn read_body(cfg: &Config, body: Body) -> Result<Bytes, Reply> {
    let read = tokio::time::timeout(cfg.body_timeout, axum::body::to_bytes(body, cfg.max_body));
    let (status, message) = match read.await {
        Ok(Ok(raw)) => return Ok(raw),
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "Request Timeout"),
        Ok(Err(_)) => (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"),
    };
    Err(Reply::Plain {
        status,
        message,
        allow: None,
    })
}

/// Axum fallback: every path that is not a control route comes here.
pub(crate) async fn handle(
    shared: std::sync::Arc<Shared>,
    req: axum::extract::Request,
) -> Response {
    let started = Instant::now();
    let at = Utc::now();
    let connection = req.extensions().get::<crate::serve::Connection>().copied();
    let (parts, body) = req.into_parts();
    let method = parts.method;
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let headers = parts.headers;
    let dice = shared.dice(&headers);
    let (processed, raw) = match read_body(&shared.cfg, body).await {
        Ok(raw) => (
            shared.process(&method, &path, query.as_deref(), &headers, &raw, &dice),
            raw,
        ),
        Err(reply) => (
            Processed::bare(reply, shared.known_key(&headers)),
            Bytes::new(),
        ),
    };
    // Under `provoke` the first committed write always loses its answer, so every client
    // that writes meets an ambiguous failure.
    let provoked_drop = processed.committed
        && shared.cfg.provoke
        && shared.provoked.commits.fetch_add(1, Ordering::Relaxed) == 0;
    let drop_it = processed.committed && (dice.drop || provoked_drop);
    let fault = if drop_it {
        Some("drop-after-commit")
    } else {
        processed.fault
    };
    let committed_txn = processed.committed_txn.clone();
    let listed = processed.listed_txns.clone();
    let key = processed.key.map(|k| &shared.fx.keys[k]);
    let rendered = render(&shared.cfg, processed);

    let (body, body_truncated) = if matches!(method, Method::POST | Method::PATCH | Method::PUT) {
        journal::body_summary(&raw)
    } else {
        (None, false)
    };
    let elapsed = started.elapsed() + dice.latency;
    shared.journal.push(JournalEntry {
        seq: 0,
        at,
        method: method.as_str().to_owned(),
        path,
        query,
        key_name: key.map(|k| k.name.clone()),
        role: key.map(|k| k.role),
        status: (!drop_it).then_some(rendered.status.as_u16()),
        code: if drop_it { None } else { rendered.code },
        outcome: if drop_it {
            Delivery::Dropped
        } else {
            Delivery::Responded
        },
        retry_after: rendered.retry_after,
        last_page: rendered.last_page,
        duration_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        body,
        body_truncated,
        fault: fault.map(std::borrow::Cow::Borrowed),
        committed_txn,
        listed_txns: listed,
        connection: connection.map(|c| c.id),
        connection_opened_at: connection.map(|c| c.opened_at),
    });
    if !dice.latency.is_zero() {
        tokio::time::sleep(dice.latency).await;
    }
    if drop_it {
        dropped()
    } else {
        rendered.response
    }
}
