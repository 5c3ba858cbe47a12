//! Quirks: named, documented deviations from the contract, each breaking exactly one rule.

use std::fmt;
use std::str::FromStr;

/// A named deviation from the contract, off by default.
///
/// Each quirk breaks exactly one rule of contract Part A, so that a scenario (or a client
/// under test) can be shown to notice that one rule. Names are kebab-case and stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quirk {
    /// No `X-RateLimit-*` headers on any response.
    NoRatelimitHeaders,
    /// 429 responses lack the `Retry-After` header.
    NoRetryAfter,
    /// Another tenant's ids answer 403 instead of 404.
    ForeignId403,
    /// Route scopes are not checked.
    ScopeNotEnforced,
    /// Route role groups are not checked.
    RoleNotEnforced,
    /// Unknown or malformed keys answer 403 instead of 401.
    InvalidKey403,
    /// A partner without `agent_api_permission` is let through.
    DisabledPartnerAllowed,
    /// Redeem and claim succeed above the balance.
    OverdraftAllowed,
    /// RATE_LIMITED says `no_retry` instead of `backoff`.
    WrongRetryStrategy,
    /// `X-RateLimit-Reset` is a Unix epoch in milliseconds.
    ResetInMilliseconds,
    /// Errors come without the agent envelope.
    NoEnvelopeOnErrors,
    /// Pagination omits `last_page` (the documented form).
    NoLastPage,
    /// `per_page` above 100 is honoured.
    PerPageNotClamped,
    /// Authentication refusals carry rate-limit headers.
    RatelimitHeadersOn401,
    /// The rate limit is counted but never enforced.
    NoRateLimit,
    /// `last_page` leaves out a final partial page (floor instead of ceiling).
    LastPageFloor,
    /// The transactions filter's `to` date excludes its own day.
    ToDateExclusive,
}

impl Quirk {
    /// Every quirk, in documentation order.
    pub const ALL: &'static [Quirk] = &[
        Quirk::NoRatelimitHeaders,
        Quirk::NoRetryAfter,
        Quirk::ForeignId403,
        Quirk::ScopeNotEnforced,
        Quirk::RoleNotEnforced,
        Quirk::InvalidKey403,
        Quirk::DisabledPartnerAllowed,
        Quirk::OverdraftAllowed,
        Quirk::WrongRetryStrategy,
        Quirk::ResetInMilliseconds,
        Quirk::NoEnvelopeOnErrors,
        Quirk::NoLastPage,
        Quirk::PerPageNotClamped,
        Quirk::RatelimitHeadersOn401,
        Quirk::NoRateLimit,
        Quirk::LastPageFloor,
        Quirk::ToDateExclusive,
    ];

    /// The kebab-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::NoRatelimitHeaders => "no-ratelimit-headers",
            Quirk::NoRetryAfter => "no-retry-after",
            Quirk::ForeignId403 => "foreign-id-403",
            Quirk::ScopeNotEnforced => "scope-not-enforced",
            Quirk::RoleNotEnforced => "role-not-enforced",
            Quirk::InvalidKey403 => "invalid-key-403",
            Quirk::DisabledPartnerAllowed => "disabled-partner-allowed",
            Quirk::OverdraftAllowed => "overdraft-allowed",
            Quirk::WrongRetryStrategy => "wrong-retry-strategy",
            Quirk::ResetInMilliseconds => "reset-in-milliseconds",
            Quirk::NoEnvelopeOnErrors => "no-envelope-on-errors",
            Quirk::NoLastPage => "no-last-page",
            Quirk::PerPageNotClamped => "per-page-not-clamped",
            Quirk::RatelimitHeadersOn401 => "ratelimit-headers-on-401",
            Quirk::NoRateLimit => "no-rate-limit",
            Quirk::LastPageFloor => "last-page-floor",
            Quirk::ToDateExclusive => "to-date-exclusive",
        }
    }

    /// The one rule this quirk breaks, and how.
    pub fn description(self) -> &'static str {
        match self {
            Quirk::NoRatelimitHeaders => {
                "X-RateLimit-Limit/-Remaining/-Reset are never sent (429 still has Retry-After)"
            }
            Quirk::NoRetryAfter => "429 RATE_LIMITED responses carry no Retry-After header (details unchanged)",
            Quirk::ForeignId403 => {
                "an id that exists at another partner answers 403 FORBIDDEN instead of 404 NOT_FOUND (unknown ids stay 404)"
            }
            Quirk::ScopeNotEnforced => "keys lacking the route's scope are let through (no AUTH_INSUFFICIENT_SCOPE)",
            Quirk::RoleNotEnforced => {
                "keys of the wrong role are let through (no AUTH_WRONG_ROLE); they act as an owner with no data"
            }
            Quirk::InvalidKey403 => "unknown or malformed keys answer 403 AUTH_INVALID_KEY instead of 401",
            Quirk::DisabledPartnerAllowed => {
                "partners without agent_api_permission are let through (no FEATURE_DISABLED for that permission)"
            }
            Quirk::OverdraftAllowed => {
                "partner redeem and member claim succeed above the balance (redeem drives it negative)"
            }
            Quirk::WrongRetryStrategy => "RATE_LIMITED says retry_strategy no_retry instead of backoff",
            Quirk::ResetInMilliseconds => "X-RateLimit-Reset is a Unix epoch in milliseconds instead of seconds",
            Quirk::NoEnvelopeOnErrors => {
                "error responses are a bare {\"message\": ...} without error/code/retry_strategy/details (status kept)"
            }
            Quirk::NoLastPage => {
                "list pagination omits last_page (the docs' example form: a [conflict] variant, not a bug)"
            }
            Quirk::PerPageNotClamped => "per_page above 100 is honoured instead of clamped to 100",
            Quirk::RatelimitHeadersOn401 => {
                "responses refused at authentication carry X-RateLimit-* headers (default limit, nothing counted)"
            }
            Quirk::NoRateLimit => "requests are counted and headers sent, but 429 RATE_LIMITED is never returned",
            Quirk::LastPageFloor => {
                "pagination.last_page is floor(total / per_page): a final partial page is left out (its records are still served)"
            }
            Quirk::ToDateExclusive => {
                "the transactions filter's `to` date is exclusive: transactions of that day are left out"
            }
        }
    }

    /// One line per quirk, `name: description`, for help texts and errors.
    pub fn catalogue() -> String {
        Quirk::ALL
            .iter()
            .map(|q| format!("  {:<26} {}", q.name(), q.description()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown quirk name; its message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quirk `{name}`; valid quirks are:\n{}", Quirk::catalogue())]
pub struct UnknownQuirk {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Quirk {
    type Err = UnknownQuirk;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Quirk::ALL
            .iter()
            .copied()
            .find(|q| q.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownQuirk { name: s.to_owned() })
    }
}

/// A set of quirks as a bit mask, so the hot path checks one integer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QuirkSet(u32);

impl QuirkSet {
    pub(crate) fn new(quirks: &[Quirk]) -> Self {
        QuirkSet(quirks.iter().fold(0, |acc, q| acc | q.bit()))
    }

    pub(crate) fn has(self, q: Quirk) -> bool {
        self.0 & q.bit() != 0
    }
}
