//! Targets: where scenarios are sent, and the named inputs (keys, fixtures) they may use.

use std::collections::BTreeMap;

/// Named inputs a target offers to scenarios: secret keys and non-secret fixture ids.
///
/// Names are lowercase (`partner`, `card_id`); on a real target they map to the
/// environment variables `LAUNCHGATE_<NAME>_KEY` and `LAUNCHGATE_<NAME>` (contract §A.11).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Secret API keys by name. Every value here is redacted from every output.
    pub keys: BTreeMap<String, String>,
    /// Fixture ids by name (card ids, member identifiers, ...). Not secret.
    pub fixtures: BTreeMap<String, String>,
}
