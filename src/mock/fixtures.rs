//! The fixed data set the mock starts from (contract §A.8), loaded from YAML.
//!
//! The YAML is plain data (`fixtures.yaml`, embedded at build time); this module parses it,
//! checks that every reference resolves, and indexes it for the request path. Nothing here
//! changes after start: the mutable part (partners, ledger, rate windows) lives in `state`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::MockError;
use crate::agent_api::{Role, KEY_SECRET_LEN};
use crate::target::Inputs;

/// The built-in fixtures file.
pub(crate) const BUILTIN: &str = include_str!("fixtures.yaml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartnerFx {
    pub id: String,
    pub name: String,
    pub email: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub permissions: BTreeMap<String, bool>,
    pub limits: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminFx {
    pub id: String,
    pub name: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardFx {
    pub id: String,
    pub partner_id: String,
    pub club_id: String,
    pub name: String,
    pub title: BTreeMap<String, String>,
    #[serde(default)]
    pub description: BTreeMap<String, String>,
    pub currency: String,
    pub points_per_currency: f64,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RewardFx {
    pub id: String,
    pub partner_id: String,
    pub name: String,
    pub title: BTreeMap<String, String>,
    pub points: i64,
    pub is_active: bool,
    pub card_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffFx {
    pub id: String,
    pub partner_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberFx {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub member_number: String,
    pub unique_identifier: String,
    pub locale: String,
    pub is_active: bool,
    pub is_anonymous: bool,
    #[serde(default)]
    pub cards: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TxnFx {
    pub id: String,
    pub card_id: String,
    pub member_id: String,
    pub event: String,
    pub points: i64,
    #[serde(default)]
    pub purchase_amount: Option<f64>,
    #[serde(default)]
    pub reward_id: Option<String>,
    #[serde(default)]
    pub staff_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn default_rate_limit() -> u32 {
    60
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFx {
    name: String,
    key: String,
    role: Role,
    owner_id: String,
    scopes: Vec<String>,
    #[serde(default = "default_rate_limit")]
    rate_limit: u32,
    #[serde(default = "yes")]
    is_active: bool,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
    /// Relative expiry (humantime, e.g. `2d`), resolved at start: for a key that must
    /// always be "about to expire" whatever the day.
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    partners: Vec<PartnerFx>,
    admins: Vec<AdminFx>,
    cards: Vec<CardFx>,
    rewards: Vec<RewardFx>,
    #[serde(default)]
    staff: Vec<StaffFx>,
    members: Vec<MemberFx>,
    #[serde(default)]
    transactions: Vec<TxnFx>,
    keys: Vec<KeyFx>,
    #[serde(default)]
    inputs: BTreeMap<String, String>,
}

/// A key as the server sees it after loading.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// Fixture name (`partner`, `member_readonly`, ...): what the journal records instead of the key.
    pub name: Arc<str>,
    pub secret: String,
    pub role: Role,
    /// Index into partners, members or admins according to `role`.
    pub owner: usize,
    pub scopes: Vec<String>,
    pub rate_limit: u32,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Key {
    /// `admin` grants every scope within the key's own role (§A.6).
    pub fn has_any_scope(&self, accepted: &[&str]) -> bool {
        self.scopes
            .iter()
            .any(|s| s == "admin" || accepted.contains(&s.as_str()))
    }

    /// The role prefix plus the next 8 characters: identifies a key without revealing it.
    pub fn prefix(&self) -> &str {
        let n = self.role.prefix().len() + 8;
        self.secret.get(..n).unwrap_or(self.role.prefix())
    }
}

/// The loaded, validated and indexed fixtures.
#[derive(Debug)]
pub(crate) struct Fixtures {
    pub partners: Vec<PartnerFx>,
    pub admins: Vec<AdminFx>,
    pub cards: Vec<CardFx>,
    pub rewards: Vec<RewardFx>,
    pub staff: Vec<StaffFx>,
    pub members: Vec<MemberFx>,
    pub transactions: Vec<TxnFx>,
    pub keys: Vec<Key>,
    pub key_by_secret: HashMap<String, usize>,
    pub partner_by_id: HashMap<String, usize>,
    pub card_by_id: HashMap<String, usize>,
    pub reward_by_id: HashMap<String, usize>,
    pub staff_by_id: HashMap<String, usize>,
    /// Member lookup by id, lowercase email, member number and unique identifier.
    pub member_by_ident: HashMap<String, usize>,
    /// Index of each reward's cards, to answer "is it linked" without string compares.
    pub reward_cards: Vec<Vec<usize>>,
    pub card_partner: Vec<usize>,
    /// Each partner's cards, in fixture order.
    pub partner_cards: Vec<Vec<usize>>,
    pub inputs: Inputs,
}

impl Fixtures {
    /// Loads the built-in fixtures or the given file.
    pub fn load(path: Option<&Path>, now: DateTime<Utc>) -> Result<Fixtures, MockError> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|e| {
                    MockError::Fixtures(format!("cannot read {}: {e}", p.display()))
                })?,
                p.display().to_string(),
            ),
            None => (BUILTIN.to_owned(), "built-in fixtures.yaml".to_owned()),
        };
        let file: FixtureFile = serde_saphyr::from_str(&text)
            .map_err(|e| MockError::Fixtures(format!("{origin}: {e}")))?;
        Self::index(file, now).map_err(|e| MockError::Fixtures(format!("{origin}: {e}")))
    }

    fn index(mut file: FixtureFile, now: DateTime<Utc>) -> Result<Fixtures, String> {
        let ids = Ids::of(&file)?;
        let card_partner = file
            .cards
            .iter()
            .map(|c| {
                lookup(
                    &ids.partner,
                    &c.partner_id,
                    "partner",
                    &format!("card {}", c.id),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reward_cards = reward_cards(&file, &ids)?;
        check_staff(&file, &ids)?;
        let member_by_ident = member_identifiers(&file, &ids)?;
        check_transactions(&file, &ids)?;
        let KeyIndex {
            keys,
            by_secret: key_by_secret,
            mut inputs,
        } = index_keys(std::mem::take(&mut file.keys), &ids, now)?;
        inputs.fixtures = file.inputs;
        let mut partner_cards = vec![Vec::new(); file.partners.len()];
        for (c, &p) in card_partner.iter().enumerate() {
            partner_cards[p].push(c);
        }
        Ok(Fixtures {
            partners: file.partners,
            admins: file.admins,
            cards: file.cards,
            rewards: file.rewards,
            staff: file.staff,
            members: file.members,
            transactions: file.transactions,
            keys,
            key_by_secret,
            partner_by_id: ids.partner,
            card_by_id: ids.card,
            reward_by_id: ids.reward,
            staff_by_id: ids.staff,
            member_by_ident,
            reward_cards,
            card_partner,
            partner_cards,
            inputs,
        })
    }

    /// Resolves a member identifier: UUID, email (any case), member number or unique identifier.
    pub fn member(&self, ident: &str) -> Option<usize> {
        self.member_by_ident
            .get(ident)
            .or_else(|| self.member_by_ident.get(&ident.to_lowercase()))
            .copied()
    }
}

/// Keys without a `created_at` get one fixed date, so `/health` is the same on every run.
fn fixed_created_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_788_220_800, 0).unwrap_or_default()
}

/// Each fixture's position by its id, one map per kind (ids are unique within a kind).
struct Ids {
    partner: HashMap<String, usize>,
    admin: HashMap<String, usize>,
    card: HashMap<String, usize>,
    reward: HashMap<String, usize>,
    staff: HashMap<String, usize>,
    member: HashMap<String, usize>,
}

impl Ids {
    fn of(file: &FixtureFile) -> Result<Ids, String> {
        let ids = Ids {
            partner: unique_index(file.partners.iter().map(|p| p.id.as_str()), "partner")?,
            admin: unique_index(file.admins.iter().map(|a| a.id.as_str()), "admin")?,
            card: unique_index(file.cards.iter().map(|c| c.id.as_str()), "card")?,
            reward: unique_index(file.rewards.iter().map(|r| r.id.as_str()), "reward")?,
            staff: unique_index(file.staff.iter().map(|s| s.id.as_str()), "staff")?,
            member: unique_index(file.members.iter().map(|m| m.id.as_str()), "member")?,
        };
        unique_index(
            file.transactions.iter().map(|t| t.id.as_str()),
            "transaction",
        )?;
        Ok(ids)
    }
}

/// The position of `id` in `map`, or an error naming who referred to it.
fn lookup(map: &HashMap<String, usize>, id: &str, what: &str, from: &str) -> Result<usize, String> {
    map.get(id)
        .copied()
        .ok_or_else(|| format!("{from} refers to unknown {what} {id}"))
}

/// The cards each reward is linked to, all of its own partner.
fn reward_cards(file: &FixtureFile, ids: &Ids) -> Result<Vec<Vec<usize>>, String> {
    let mut reward_cards = Vec::with_capacity(file.rewards.len());
    for r in &file.rewards {
        let from = format!("reward {}", r.id);
        lookup(&ids.partner, &r.partner_id, "partner", &from)?;
        let cards = r
            .card_ids
            .iter()
            .map(|c| lookup(&ids.card, c, "card", &from))
            .collect::<Result<Vec<_>, _>>()?;
        if cards
            .iter()
            .any(|&c| file.cards[c].partner_id != r.partner_id)
        {
            return Err(format!("{from} is linked to another partner's card"));
        }
        reward_cards.push(cards);
    }
    Ok(reward_cards)
}

/// Staff belong to known partners.
fn check_staff(file: &FixtureFile, ids: &Ids) -> Result<(), String> {
    for s in &file.staff {
        let from = format!("staff {}", s.id);
        lookup(&ids.partner, &s.partner_id, "partner", &from)?;
    }
    Ok(())
}

/// Transactions refer to known cards, members, rewards, and staff of the card's partner.
fn check_transactions(file: &FixtureFile, ids: &Ids) -> Result<(), String> {
    for t in &file.transactions {
        let from = format!("transaction {}", t.id);
        let card = lookup(&ids.card, &t.card_id, "card", &from)?;
        lookup(&ids.member, &t.member_id, "member", &from)?;
        if let Some(r) = &t.reward_id {
            lookup(&ids.reward, r, "reward", &from)?;
        }
        if let Some(s) = &t.staff_id {
            let s = lookup(&ids.staff, s, "staff", &from)?;
            if file.staff[s].partner_id != file.cards[card].partner_id {
                return Err(format!("{from}: staff belongs to another partner"));
            }
        }
    }
    Ok(())
}

/// Every identifier a member is found by (id, email in lowercase, member number, unique
/// identifier), each naming one member only.
fn member_identifiers(file: &FixtureFile, ids: &Ids) -> Result<HashMap<String, usize>, String> {
    let mut member_by_ident = ids.member.clone();
    for (i, m) in file.members.iter().enumerate() {
        let from = format!("member {}", m.id);
        for c in &m.cards {
            lookup(&ids.card, c, "card", &from)?;
        }
        let idents = [
            m.email.as_deref().map(str::to_lowercase),
            Some(m.member_number.clone()),
            Some(m.unique_identifier.clone()),
        ];
        for ident in idents.into_iter().flatten() {
            if member_by_ident
                .insert(ident.clone(), i)
                .is_some_and(|j| j != i)
            {
                return Err(format!("member identifier {ident} is not unique"));
            }
        }
    }
    Ok(member_by_ident)
}

/// The keys as the server sees them, found by their secret, and published as inputs.
struct KeyIndex {
    keys: Vec<Key>,
    by_secret: HashMap<String, usize>,
    inputs: Inputs,
}

/// Loads every key; a key value or name given twice is an error.
fn index_keys(fx: Vec<KeyFx>, ids: &Ids, now: DateTime<Utc>) -> Result<KeyIndex, String> {
    let mut keys = Vec::with_capacity(fx.len());
    let mut key_by_secret = HashMap::new();
    let mut inputs = Inputs::default();
    for k in fx {
        let from = format!("key {}", k.name);
        let key = load_key(k, ids, now, &from)?;
        if key_by_secret
            .insert(key.secret.clone(), keys.len())
            .is_some()
        {
            return Err(format!("{from}: duplicate key value"));
        }
        if inputs
            .keys
            .insert(key.name.to_string(), key.secret.clone())
            .is_some()
        {
            return Err(format!("{from}: duplicate key name"));
        }
        keys.push(key);
    }
    Ok(KeyIndex {
        keys,
        by_secret: key_by_secret,
        inputs,
    })
}

/// One key: the contract's shape for its role, a known owner, one kind of expiry.
fn load_key(k: KeyFx, ids: &Ids, now: DateTime<Utc>, from: &str) -> Result<Key, String> {
    let body = k
        .key
        .strip_prefix(k.role.prefix())
        .ok_or_else(|| format!("{from} must start with {}", k.role.prefix()))?;
    if body.len() != KEY_SECRET_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("{from}: the key must be its role prefix plus exactly {KEY_SECRET_LEN} alphanumeric characters"));
    }
    let owner = match k.role {
        Role::Partner => lookup(&ids.partner, &k.owner_id, "partner", from)?,
        Role::Member => lookup(&ids.member, &k.owner_id, "member", from)?,
        Role::Admin => lookup(&ids.admin, &k.owner_id, "admin", from)?,
    };
    let expires_at = match (&k.expires_at, &k.expires_in) {
        (Some(_), Some(_)) => {
            return Err(format!("{from}: give expires_at or expires_in, not both"))
        }
        (Some(at), None) => Some(*at),
        (None, Some(d)) => {
            let d = humantime::parse_duration(d).map_err(|e| format!("{from}: expires_in: {e}"))?;
            let d =
                chrono::Duration::from_std(d).map_err(|e| format!("{from}: expires_in: {e}"))?;
            Some(now + d)
        }
        (None, None) => None,
    };
    Ok(Key {
        name: Arc::from(k.name.as_str()),
        secret: k.key,
        role: k.role,
        owner,
        scopes: k.scopes,
        rate_limit: k.rate_limit,
        is_active: k.is_active,
        expires_at,
        created_at: k.created_at.unwrap_or_else(fixed_created_at),
    })
}

fn unique_index<'a>(
    ids: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<HashMap<String, usize>, String> {
    let mut map = HashMap::new();
    for (i, id) in ids.enumerate() {
        if map.insert(id.to_owned(), i).is_some() {
            return Err(format!("duplicate {what} id {id}"));
        }
    }
    Ok(map)
}
