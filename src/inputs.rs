//! The inputs the built-in Agent API suite asks a staging environment for, and
//! what each must be there: one table that `launchgate init` writes into the
//! secrets template and `launchgate doctor` checks against the target.

use crate::agent_api::{ErrorCode, Role};

/// A key or a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum InputKind {
    /// A secret API key, read from `LAUNCHGATE_<NAME>_KEY`.
    Key,
    /// A non-secret id, read from `LAUNCHGATE_<NAME>`.
    Fixture,
}

/// What a key's name promises, checked by `doctor` with read-only requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// `GET /health` answers 200 with this role (`None`: the target's `role:`, default partner).
    Role(Option<Role>),
    /// Like `Role`, and the key holds no scope that allows this write (a read-only key).
    ReadOnly(Role, &'static str),
    /// Like `Role`, and the key holds a scope that allows this write (`write:redeem`).
    Writes(Role, &'static str),
    /// `GET /health` is refused at authentication with this code (and its status).
    Refused(ErrorCode),
    /// A partner key whose partner lacks `agent_api_permission`: a partner route answers 403 FEATURE_DISABLED.
    FeatureDisabled,
    /// A key whose rate limit a bounded burst can exhaust within the run's deadline.
    LowRateLimit,
    /// A card of the integration's own partner.
    OwnCard,
    /// A reward of the integration's own partner.
    OwnReward,
    /// A member enrolled on the integration's partner.
    OwnMember,
    /// A reward whose cost is above the member's balance on the card.
    Unaffordable,
    /// A card id that exists at another partner: the integration's key must get 404.
    ForeignCard,
    /// A member of another partner only: the integration's key must get 404.
    ForeignMember,
}

/// One input of the built-in suite.
#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    /// Key or fixture.
    pub kind: InputKind,
    /// The name scenarios use (`keys.NAME`, `fixtures.NAME`).
    pub name: &'static str,
    /// What it must be in staging, in one sentence.
    pub must_be: &'static str,
    /// What `doctor` checks.
    pub promise: Promise,
}

impl InputSpec {
    /// The default environment variable (`LAUNCHGATE_PARTNER_KEY`, `LAUNCHGATE_CARD_ID`).
    pub fn default_var(&self) -> String {
        match self.kind {
            InputKind::Key => crate::target::default_key_var(self.name),
            InputKind::Fixture => crate::target::default_fixture_var(self.name),
        }
    }
}

const fn key(name: &'static str, must_be: &'static str, promise: Promise) -> InputSpec {
    InputSpec {
        kind: InputKind::Key,
        name,
        must_be,
        promise,
    }
}

const fn fixture(name: &'static str, must_be: &'static str, promise: Promise) -> InputSpec {
    InputSpec {
        kind: InputKind::Fixture,
        name,
        must_be,
        promise,
    }
}

/// Every input of the built-in Agent API suite, in the order a person sets them up.
pub const AGENT_API_INPUTS: &[InputSpec] = &[
    key("partner", "the integration's own partner key (point-of-sale or full scopes): the key you launch with", Promise::Role(None)),
    key("partner_readonly", "a partner key of the same partner with only the `read` scope", Promise::ReadOnly(Role::Partner, "write:transactions")),
    key("member", "a member key (wallet preset: read, write:redeem, write:profile) of the member in LAUNCHGATE_MEMBER_IDENTIFIER", Promise::Writes(Role::Member, "write:redeem")),
    key("member_readonly", "a member key with only the `read` scope", Promise::ReadOnly(Role::Member, "write:redeem")),
    key("disabled_partner", "a partner key of another partner whose Agent API permission (agent_api_permission) is off", Promise::FeatureDisabled),
    key("ratelimit", "a partner key with a low rate limit (at most 100 per window) used by nothing else", Promise::LowRateLimit),
    key("revoked", "a key that was revoked (deactivated)", Promise::Refused(ErrorCode::AuthKeyRevoked)),
    key("expired", "a key whose expires_at is in the past", Promise::Refused(ErrorCode::AuthKeyExpired)),
    key("inactive_partner", "a key of a partner that was deactivated", Promise::Refused(ErrorCode::AuthOwnerInactive)),
    key("member_inactive", "a member key of an inactive member", Promise::Refused(ErrorCode::AuthOwnerInactive)),
    key("member_anonymous", "a member key of an anonymous member", Promise::Refused(ErrorCode::AuthAnonymousMember)),
    fixture("card_id", "an active card of the integration's partner", Promise::OwnCard),
    fixture("reward_id", "a reward of the integration's partner", Promise::OwnReward),
    fixture("member_identifier", "a member enrolled on that card (UUID, email, member number or identifier)", Promise::OwnMember),
    fixture("expensive_reward_id", "a reward linked to that card that costs more than the member's balance on it", Promise::Unaffordable),
    fixture("foreign_card_id", "a card id of another partner (the integration's key must not see it)", Promise::ForeignCard),
    fixture("foreign_member_identifier", "a member enrolled only at another partner", Promise::ForeignMember),
];

/// The largest rate limit the rate-limit case bursts through (its guard).
pub const MAX_BURST_LIMIT: u64 = 100;
