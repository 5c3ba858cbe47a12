//! The Final Launch Checklist of the Agent API Production Checklist, as data.
//!
//! Scenario cases tag themselves with the ids below (`checklist: [error-branches]`);
//! the checklist report maps each item to the cases that are its evidence.

/// One item of the Final Launch Checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// Feature flag enabled in the correct environment.
    FeatureFlag,
    /// Partner Agent API permission enabled where required.
    PartnerPermission,
    /// Correct key type chosen.
    KeyType,
    /// Scopes minimized and verified via /health.
    ScopesMinimized,
    /// Retry logic implemented.
    RetryLogic,
    /// Non-idempotent purchase and redemption flows reconciled by external reference.
    ReconcileByReference,
    /// Notes populated with external identifiers where supported.
    Notes,
    /// Pagination implemented.
    Pagination,
    /// Rate-limit handling implemented.
    RateLimitHandling,
    /// Error branches tested.
    ErrorBranches,
    /// Separate keys per environment (Key Management).
    SeparateKeys,
    /// Keys stored in environment variables or a secrets manager (Key Management).
    KeysInSecretStore,
    /// Partner keys kept server-side only (Key Management).
    PartnerKeysServerSide,
}

/// Who can prove an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Scenarios against the target prove it.
    Scenarios,
    /// Only a referee run of the integration's client proves it.
    Referee,
    /// Partly machine-checkable, but a human must confirm it.
    Manual,
}

impl Item {
    /// Every item, in the checklist's order.
    pub const ALL: [Item; 13] = [
        Item::FeatureFlag,
        Item::PartnerPermission,
        Item::KeyType,
        Item::ScopesMinimized,
        Item::RetryLogic,
        Item::ReconcileByReference,
        Item::Notes,
        Item::Pagination,
        Item::RateLimitHandling,
        Item::ErrorBranches,
        Item::SeparateKeys,
        Item::KeysInSecretStore,
        Item::PartnerKeysServerSide,
    ];

    /// The id used in scenario `checklist:` tags.
    pub fn id(self) -> &'static str {
        match self {
            Item::FeatureFlag => "feature-flag",
            Item::PartnerPermission => "partner-permission",
            Item::KeyType => "key-type",
            Item::ScopesMinimized => "scopes-minimized",
            Item::RetryLogic => "retry-logic",
            Item::ReconcileByReference => "reconcile-by-reference",
            Item::Notes => "notes",
            Item::Pagination => "pagination",
            Item::RateLimitHandling => "rate-limit-handling",
            Item::ErrorBranches => "error-branches",
            Item::SeparateKeys => "separate-keys",
            Item::KeysInSecretStore => "keys-in-secret-store",
            Item::PartnerKeysServerSide => "partner-keys-server-side",
        }
    }

    /// The item's wording in the seed.
    pub fn title(self) -> &'static str {
        match self {
            Item::FeatureFlag => "Feature flag enabled in the correct environment",
            Item::PartnerPermission => "Partner Agent API permission enabled where required",
            Item::KeyType => "Correct key type chosen",
            Item::ScopesMinimized => "Scopes minimized and verified via /health",
            Item::RetryLogic => "Retry logic implemented",
            Item::ReconcileByReference => {
                "Non-idempotent purchase and redemption flows reconciled by external reference"
            }
            Item::Notes => "Notes populated with external identifiers where supported",
            Item::Pagination => "Pagination implemented",
            Item::RateLimitHandling => "Rate-limit handling implemented",
            Item::ErrorBranches => "Error branches tested",
            Item::SeparateKeys => "Separate keys per environment",
            Item::KeysInSecretStore => "Keys stored in environment variables or a secrets manager",
            Item::PartnerKeysServerSide => "Partner keys kept server-side only",
        }
    }

    /// Who can prove it.
    pub fn evidence(self) -> Evidence {
        match self {
            Item::FeatureFlag
            | Item::PartnerPermission
            | Item::KeyType
            | Item::ScopesMinimized
            | Item::ErrorBranches => Evidence::Scenarios,
            Item::RetryLogic
            | Item::ReconcileByReference
            | Item::Notes
            | Item::Pagination
            | Item::RateLimitHandling => Evidence::Referee,
            Item::SeparateKeys | Item::KeysInSecretStore | Item::PartnerKeysServerSide => {
                Evidence::Manual
            }
        }
    }

    /// Looks an item up by its id.
    pub fn from_id(id: &str) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.id() == id)
    }

    /// All ids, in order.
    pub fn ids() -> impl Iterator<Item = &'static str> {
        Item::ALL.into_iter().map(Item::id)
    }
}
