//! Endpoint handlers (§A.7). Each runs after the checks of §A.2 passed, under the state lock,
//! and does its own body validation → lookups → business rules, in the order the contract gives.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::api::{ApiError, Ctx, Ep, Reply};
use super::quirk::Quirk;
use super::state::Txn;
use crate::agent_api::{ErrorCode, Role};

type R = Result<Reply, ApiError>;

/// Runs the endpoint's handler; a refusal becomes the error reply.
pub(crate) fn dispatch(ep: Ep, c: &mut Ctx<'_>) -> Reply {
    let result = match ep {
        Ep::Health => health(c),
        Ep::PartnerCards => partner_cards(c),
        Ep::PartnerCard => partner_card(c),
        Ep::PartnerRewards => partner_rewards(c),
        Ep::PartnerReward => partner_reward(c),
        Ep::PartnerMembers => partner_members(c),
        Ep::PartnerMember => partner_member(c),
        Ep::PartnerMemberBalance => partner_member_balance(c),
        Ep::PartnerTransactions => partner_transactions(c),
        Ep::PartnerPurchase => purchase(c),
        Ep::PartnerRedeem => redeem(c),
        Ep::MemberProfile => member_profile(c),
        Ep::MemberBalance => member_balance(c),
        Ep::MemberCards => member_cards(c),
        Ep::MemberTransactions => member_transactions(c),
        Ep::MemberRewards => member_rewards(c),
        Ep::MemberClaim => member_claim(c),
        Ep::AdminPartners => admin_partners(c),
        Ep::AdminPartner => admin_partner(c),
        Ep::AdminPermissions => admin_permissions(c),
        Ep::AdminDeactivate => admin_set_active(c, false),
        Ep::AdminActivate => admin_set_active(c, true),
    };
    result.unwrap_or_else(Reply::Error)
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

fn ok(data: Value) -> R {
    Ok(Reply::Data {
        status: StatusCode::OK,
        data,
    })
}

fn ts(at: DateTime<Utc>) -> Value {
    Value::String(stamp(at))
}

/// Money as a number with at most two decimals.
fn money(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |a| json!((a * 100.0).round() / 100.0))
}

/// A translatable field: the `{locale: text}` map, or one string when `Accept-Language` was sent.
fn tr(c: &Ctx<'_>, map: &BTreeMap<String, String>) -> Value {
    let Some(lang) = c.locale.as_deref() else {
        return json!(map);
    };
    let matches = |k: &String| {
        k.split(['-', '_'])
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case(lang))
    };
    map.iter()
        .find(|(k, _)| matches(k))
        .or_else(|| map.get_key_value("en"))
        .or_else(|| map.iter().next())
        .map_or(Value::Null, |(_, v)| Value::from(v.as_str()))
}

/// Lists: `page` (default 1), `per_page` (default 25, clamped to 1..100), newest first by the caller.
fn paginate(c: &Ctx<'_>, items: Vec<Value>) -> R {
    let int = |name: &str| c.q(name).and_then(|v| v.trim().parse::<i64>().ok());
    let per_page = int("per_page").unwrap_or(25);
    let per_page = if c.quirk(Quirk::PerPageNotClamped) {
        per_page.max(1)
    } else {
        per_page.clamp(1, 100)
    } as usize;
    let page = int("page").filter(|p| *p >= 1).unwrap_or(1) as usize;
    let total = items.len();
    let last_page = if c.quirk(Quirk::LastPageFloor) {
        (total / per_page).max(1)
    } else {
        total.div_ceil(per_page).max(1)
    };
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let mut pagination = Map::new();
    pagination.insert("current_page".into(), json!(page));
    if !c.quirk(Quirk::NoLastPage) {
        pagination.insert("last_page".into(), json!(last_page));
    }
    pagination.insert("per_page".into(), json!(per_page));
    pagination.insert("total".into(), json!(total));
    Ok(Reply::List {
        data,
        pagination: Value::Object(pagination),
    })
}

fn param(c: &Ctx<'_>, i: usize) -> String {
    c.params.get(i).cloned().unwrap_or_default()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Validation errors, in the order fields are checked (`details.errors`).
#[derive(Default)]
struct Errors(Map<String, Value>);

impl Errors {
    fn add(&mut self, field: &str, msg: String) {
        if let Value::Array(list) = self.0.entry(field.to_owned()).or_insert_with(|| json!([])) {
            list.push(Value::String(msg));
        }
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// The JSON body as an object. An empty body is an empty object (like a form with no fields);
/// anything that is not a JSON object is a validation failure on `body`.
fn body_object(c: &Ctx<'_>) -> Result<Map<String, Value>, ApiError> {
    if c.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(c.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => {
            let mut e = Errors::default();
            e.add("body", "The request body must be a JSON object.".into());
            Err(ApiError::validation(e.0))
        }
    }
}

fn human(field: &str) -> String {
    field.replace('_', " ")
}

/// A field present with a non-null value.
fn present<'a>(b: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    b.get(field)
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
}

fn req_string(b: &Map<String, Value>, field: &str, max: usize, e: &mut Errors) -> Option<String> {
    match present(b, field) {
        None => {
            e.add(field, format!("The {} field is required.", human(field)));
            None
        }
        Some(Value::String(s)) if s.chars().count() <= max => Some(s.clone()),
        Some(Value::String(_)) => {
            e.add(
                field,
                format!(
                    "The {} field must not be greater than {max} characters.",
                    human(field)
                ),
            );
            None
        }
        Some(_) => {
            e.add(
                field,
                format!("The {} field must be a string.", human(field)),
            );
            None
        }
    }
}

fn req_uuid(b: &Map<String, Value>, field: &str, e: &mut Errors) -> Option<String> {
    let s = req_string(b, field, 255, e)?;
    if is_uuid(&s) {
        Some(s.to_ascii_lowercase())
    } else {
        e.add(
            field,
            format!("The {} field must be a valid UUID.", human(field)),
        );
        None
    }
}

fn opt_uuid(b: &Map<String, Value>, field: &str, e: &mut Errors) -> Option<String> {
    present(b, field)?;
    req_uuid(b, field, e)
}

fn opt_string(b: &Map<String, Value>, field: &str, max: usize, e: &mut Errors) -> Option<String> {
    present(b, field)?;
    req_string(b, field, max, e)
}

fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------------------

fn card_json(c: &Ctx<'_>, ci: usize) -> Value {
    let card = &c.fx.cards[ci];
    json!({
        "id": card.id,
        "club_id": card.club_id,
        "name": card.name,
        "title": tr(c, &card.title),
        "description": tr(c, &card.description),
        "currency": card.currency,
        "is_active": card.is_active,
        "points_per_currency": card.points_per_currency,
        "created_at": ts(card.created_at),
        "updated_at": ts(card.created_at),
    })
}

fn reward_json(c: &Ctx<'_>, ri: usize) -> Value {
    let r = &c.fx.rewards[ri];
    json!({
        "id": r.id,
        "name": r.name,
        "title": tr(c, &r.title),
        "points": r.points,
        "is_active": r.is_active,
        // Not exposed by the released server; an extra field scenarios may use against the mock.
        "card_ids": r.card_ids,
        "created_at": ts(r.created_at),
        "updated_at": ts(r.created_at),
    })
}

fn member_json(c: &Ctx<'_>, mi: usize) -> Value {
    let m = &c.fx.members[mi];
    json!({
        "id": m.id,
        "unique_identifier": m.unique_identifier,
        "member_number": m.member_number,
        "name": m.name,
        "email": m.email,
        "locale": m.locale,
        "is_anonymous": m.is_anonymous,
        "is_active": m.is_active,
        "created_at": ts(m.created_at),
    })
}

fn txn_json(c: &Ctx<'_>, t: &Txn) -> Value {
    let card = &c.fx.cards[t.card];
    json!({
        "id": t.id,
        "event": t.event,
        "points": t.points,
        "purchase_amount": money(t.purchase_amount),
        "currency": card.currency,
        "member_id": c.fx.members[t.member].id,
        "card_id": card.id,
        "reward_id": t.reward.map(|r| c.fx.rewards[r].id.clone()),
        "staff_id": t.staff.map(|s| c.fx.staff[s].id.clone()),
        "staff_name": t.staff.map(|s| c.fx.staff[s].name.clone()),
        "note": t.note,
        "expires_at": null,
        "created_at": ts(t.created_at),
    })
}

fn partner_json(c: &Ctx<'_>, pi: usize) -> Value {
    let p = &c.st.partners[pi];
    json!({
        "id": p.id,
        "name": p.name,
        "email": p.email,
        "is_active": p.is_active,
        "created_at": ts(p.created_at),
    })
}

fn permissions_json(c: &Ctx<'_>, pi: usize) -> Value {
    let p = &c.st.partners[pi];
    let mut m = Map::new();
    for (k, v) in &p.permissions {
        m.insert(k.clone(), json!(v));
    }
    for (k, v) in &p.limits {
        m.insert(k.clone(), json!(v));
    }
    Value::Object(m)
}

/// Newest first; ties (same timestamp) by booking order.
fn newest_first<T>(items: &mut [(DateTime<Utc>, u64, T)]) {
    items.sort_by_key(|item| std::cmp::Reverse((item.0, item.1)));
}

// ---------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------

/// `/health` is the bench's hot path: a typed struct serialized directly, no `Value` maps.
#[derive(serde::Serialize)]
struct Health<'a> {
    status: &'static str,
    key: HealthKey<'a>,
    owner: HealthOwner<'a>,
}

#[derive(serde::Serialize)]
struct HealthKey<'a> {
    name: &'a str,
    prefix: &'a str,
    role: &'static str,
    scopes: &'a [String],
    rate_limit: u32,
    expires_at: Option<String>,
    created_at: String,
    last_used_at: String,
}

#[derive(serde::Serialize)]
struct HealthOwner<'a> {
    id: &'a str,
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn health(c: &mut Ctx<'_>) -> R {
    let k = c.key;
    let (id, name) = match k.role {
        Role::Partner => {
            let p = &c.st.partners[k.owner];
            (p.id.as_str(), Some(p.name.as_str()))
        }
        Role::Member => {
            let m = &c.fx.members[k.owner];
            (m.id.as_str(), m.name.as_deref())
        }
        Role::Admin => {
            let a = &c.fx.admins[k.owner];
            (a.id.as_str(), Some(a.name.as_str()))
        }
    };
    let body = Health {
        status: "ok",
        key: HealthKey {
            name: &k.name,
            prefix: k.prefix(),
            role: k.role.as_str(),
            scopes: &k.scopes,
            rate_limit: k.rate_limit,
            expires_at: k.expires_at.map(stamp),
            created_at: stamp(k.created_at),
            last_used_at: stamp(c.now),
        },
        owner: HealthOwner {
            id,
            name,
            kind: k.role.as_str(),
        },
    };
    let data = serde_json::to_vec(&body)
        .map_err(|e| ApiError::new(ErrorCode::InternalError, e.to_string()))?;
    Ok(Reply::Raw {
        status: StatusCode::OK,
        data,
    })
}

// ---------------------------------------------------------------------------------------
// Partner: cards, rewards, members
// ---------------------------------------------------------------------------------------

fn own_card(c: &Ctx<'_>, id: &str) -> Result<usize, ApiError> {
    match c.fx.card_by_id.get(&id.to_ascii_lowercase()) {
        Some(&ci) if Some(c.fx.card_partner[ci]) == c.partner => Ok(ci),
        found => Err(c.not_found("Card", found.is_some())),
    }
}

fn own_reward(c: &Ctx<'_>, id: &str) -> Result<usize, ApiError> {
    match c.fx.reward_by_id.get(&id.to_ascii_lowercase()) {
        Some(&ri)
            if Some(&c.fx.rewards[ri].partner_id) == c.partner.map(|p| &c.st.partners[p].id) =>
        {
            Ok(ri)
        }
        found => Err(c.not_found("Reward", found.is_some())),
    }
}

/// A member of the calling partner (enrolled on one of its cards), by any identifier.
fn own_member(c: &Ctx<'_>, ident: &str, active_only: bool) -> Result<usize, ApiError> {
    let found =
        c.fx.member(ident.trim())
            .filter(|&m| !active_only || c.fx.members[m].is_active);
    match (found, c.partner) {
        (Some(m), Some(p)) if c.st.is_member_of(c.fx, m, p) => Ok(m),
        (found, _) => Err(c.not_found("Member", found.is_some())),
    }
}

fn partner_cards(c: &mut Ctx<'_>) -> R {
    let mut cards: Vec<_> = c
        .partner
        .map(|p| c.fx.partner_cards[p].clone())
        .unwrap_or_default()
        .into_iter()
        .map(|ci| (c.fx.cards[ci].created_at, ci as u64, ci))
        .collect();
    newest_first(&mut cards);
    let items = cards
        .into_iter()
        .map(|(_, _, ci)| card_json(c, ci))
        .collect();
    paginate(c, items)
}

fn partner_card(c: &mut Ctx<'_>) -> R {
    let ci = own_card(c, &param(c, 0))?;
    ok(card_json(c, ci))
}

fn partner_rewards(c: &mut Ctx<'_>) -> R {
    let pid = c.partner.map(|p| c.st.partners[p].id.clone());
    let mut rewards: Vec<_> = (0..c.fx.rewards.len())
        .filter(|&ri| Some(&c.fx.rewards[ri].partner_id) == pid.as_ref())
        .map(|ri| (c.fx.rewards[ri].created_at, ri as u64, ri))
        .collect();
    newest_first(&mut rewards);
    let items = rewards
        .into_iter()
        .map(|(_, _, ri)| reward_json(c, ri))
        .collect();
    paginate(c, items)
}

fn partner_reward(c: &mut Ctx<'_>) -> R {
    let ri = own_reward(c, &param(c, 0))?;
    ok(reward_json(c, ri))
}

fn partner_members(c: &mut Ctx<'_>) -> R {
    let search = c
        .q("search")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let mut members: Vec<_> = (0..c.fx.members.len())
        .filter(|&m| c.partner.is_some_and(|p| c.st.is_member_of(c.fx, m, p)))
        .filter(|&m| {
            let mm = &c.fx.members[m];
            search.as_ref().is_none_or(|s| {
                [
                    mm.name.as_deref(),
                    mm.email.as_deref(),
                    Some(&mm.member_number),
                    Some(&mm.unique_identifier),
                ]
                .into_iter()
                .flatten()
                .any(|f| f.to_lowercase().contains(s.as_str()))
            })
        })
        .map(|m| (c.fx.members[m].created_at, m as u64, m))
        .collect();
    newest_first(&mut members);
    let items = members
        .into_iter()
        .map(|(_, _, m)| member_json(c, m))
        .collect();
    paginate(c, items)
}

fn partner_member(c: &mut Ctx<'_>) -> R {
    let m = own_member(c, &param(c, 0), false)?;
    ok(member_json(c, m))
}

fn partner_member_balance(c: &mut Ctx<'_>) -> R {
    let m = own_member(c, &param(c, 0), false)?;
    let ci = own_card(c, &param(c, 1))?;
    ok(json!({
        "member_id": c.fx.members[m].id,
        "card_id": c.fx.cards[ci].id,
        "balance": c.st.balance(m, ci),
        "currency": c.fx.cards[ci].currency,
    }))
}

// ---------------------------------------------------------------------------------------
// Partner: transactions
// ---------------------------------------------------------------------------------------

fn ymd(c: &Ctx<'_>, field: &str, e: &mut Errors) -> Option<NaiveDate> {
    let v = c.q(field)?.trim();
    if v.is_empty() {
        return None;
    }
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .filter(|_| shaped)
    {
        Some(d) => Some(d),
        None => {
            e.add(
                field,
                format!("The {field} field must match the format Y-m-d."),
            );
            None
        }
    }
}

fn partner_transactions(c: &mut Ctx<'_>) -> R {
    let mut e = Errors::default();
    let from = ymd(c, "from", &mut e);
    let to = ymd(c, "to", &mut e);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            e.add(
                "to",
                "The to field must be a date after or equal to from.".into(),
            );
        }
    }
    e.finish()?;
    let member = c
        .q("member_identifier")
        .filter(|s| !s.is_empty())
        .map(|s| c.fx.member(s.trim()));
    let card = c
        .q("card_id")
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase);
    let event = c.q("event").filter(|s| !s.is_empty());
    let Some(p) = c.partner else {
        return paginate(c, Vec::new());
    };
    let mut rows: Vec<_> =
        c.st.txns
            .iter()
            .filter(|t| c.fx.card_partner[t.card] == p)
            .filter(|t| member.is_none_or(|m| m == Some(t.member)))
            .filter(|t| card.as_ref().is_none_or(|id| c.fx.cards[t.card].id == *id))
            .filter(|t| event.is_none_or(|ev| t.event == ev))
            .filter(|t| from.is_none_or(|f| t.created_at.date_naive() >= f))
            .filter(|t| {
                let day = t.created_at.date_naive();
                // The quirk reads `to` as midnight at the start of that day.
                to.is_none_or(|d| day < d || (day == d && !c.quirk(Quirk::ToDateExclusive)))
            })
            .map(|t| (t.created_at, t.seq, t))
            .collect();
    newest_first(&mut rows);
    let items = rows.into_iter().map(|(_, _, t)| txn_json(c, t)).collect();
    paginate(c, items)
}

fn own_staff(c: &Ctx<'_>, id: Option<&String>) -> Result<Option<usize>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    match c.fx.staff_by_id.get(id) {
        Some(&s) if Some(&c.fx.staff[s].partner_id) == c.partner.map(|p| &c.st.partners[p].id) => {
            Ok(Some(s))
        }
        found => Err(c.not_found("Staff member", found.is_some())),
    }
}

/// Body fields of the landing page's example, which the released server rejects.
fn reject_aliases(b: &Map<String, Value>, e: &mut Errors) {
    for (alias, real) in [
        ("amount", "purchase_amount"),
        ("member_id", "member_identifier"),
    ] {
        if b.contains_key(alias) {
            e.add(
                alias,
                format!("The {alias} field is prohibited; use {real}."),
            );
        }
    }
}

fn purchase(c: &mut Ctx<'_>) -> R {
    // validation → card 404 → CARD_INACTIVE → member 404 → staff 404
    let b = body_object(c)?;
    let mut e = Errors::default();
    let card_id = req_uuid(&b, "card_id", &mut e);
    let ident = req_string(&b, "member_identifier", 255, &mut e);
    let points = purchase_points(&b, &mut e);
    let amount = purchase_amount(&b, &mut e);
    let staff_id = opt_uuid(&b, "staff_id", &mut e);
    let note = opt_string(&b, "note", 500, &mut e);
    reject_aliases(&b, &mut e);
    e.finish()?;
    let (Some(card_id), Some(ident)) = (card_id, ident) else {
        return Err(ApiError::new(
            ErrorCode::InternalError,
            "validation passed without required fields",
        ));
    };

    let ci = own_card(c, &card_id)?;
    if !c.fx.cards[ci].is_active {
        return Err(ApiError::new(
            ErrorCode::CardInactive,
            "This card is not active.",
        ));
    }
    let m = own_member(c, &ident, true)?;
    let staff = own_staff(c, staff_id.as_ref())?;

    let card = &c.fx.cards[ci];
    let awarded = award(
        points,
        amount,
        card.points_per_currency,
        c.st.balance(m, ci),
    )?;
    let txn_id = uuid::Uuid::new_v4().to_string();
    let balance = c.st.append(Txn {
        id: txn_id.clone(),
        card: ci,
        member: m,
        event: "staff_credited_points_for_purchase".into(),
        points: awarded,
        purchase_amount: amount,
        reward: None,
        staff,
        note,
        created_at: c.now,
        seq: 0,
    });
    Ok(Reply::Data {
        status: StatusCode::CREATED,
        data: json!({
            "transaction_id": txn_id,
            "points_awarded": awarded,
            "member_balance": balance,
            "purchase_amount": money(amount),
            "card_id": card.id,
            "member_id": c.fx.members[m].id,
        }),
    })
}

/// A purchase's `points`: absent, or an integer of at least 0.
fn purchase_points(b: &Map<String, Value>, e: &mut Errors) -> Option<i64> {
    match integer(present(b, "points")?) {
        Some(n) if n >= 0 => Some(n),
        Some(_) => {
            e.add("points", "The points field must be at least 0.".into());
            None
        }
        None => {
            e.add("points", "The points field must be an integer.".into());
            None
        }
    }
}

/// A purchase's `purchase_amount`: at least 0.01, required unless `points` is given.
fn purchase_amount(b: &Map<String, Value>, e: &mut Errors) -> Option<f64> {
    let Some(v) = present(b, "purchase_amount") else {
        if present(b, "points").is_none() {
            e.add(
                "purchase_amount",
                "The purchase amount field is required when points is not present.".into(),
            );
        }
        return None;
    };
    match number(v) {
        Some(a) if a >= 0.01 => Some(a),
        Some(_) => {
            e.add(
                "purchase_amount",
                "The purchase amount field must be at least 0.01.".into(),
            );
            None
        }
        None => {
            e.add(
                "purchase_amount",
                "The purchase amount field must be a number.".into(),
            );
            None
        }
    }
}

/// The points a purchase awards: `points`, or floor(amount × rate) (the epsilon keeps
/// 0.29 × 100 from flooring to 28). An award the ledger cannot hold (beyond a 64-bit
/// balance) is refused with VALIDATION_FAILED instead of saturating silently.
fn award(
    points: Option<i64>,
    amount: Option<f64>,
    rate: f64,
    balance: i64,
) -> Result<i64, ApiError> {
    let mut e = Errors::default();
    let (field, awarded) = match points {
        Some(p) => ("points", Some(p)),
        None => {
            let raw = (amount.unwrap_or(0.0) * rate + 1e-9).floor();
            // i64::MAX as f64 rounds up to 2^63, which no i64 holds.
            let fits = raw.is_finite() && raw < i64::MAX as f64;
            ("purchase_amount", fits.then_some(raw as i64))
        }
    };
    match awarded.filter(|a| balance.checked_add(*a).is_some()) {
        Some(a) => Ok(a),
        None => {
            e.add(
                field,
                format!(
                    "The {} would take the member's balance beyond the largest balance the ledger can hold.",
                    human(field)
                ),
            );
            e.finish().map(|()| 0)
        }
    }
}

fn redeem(c: &mut Ctx<'_>) -> R {
    // validation → card 404 → reward 404 → REWARD_NOT_LINKED → member 404 → INSUFFICIENT_POINTS → staff 404
    let b = body_object(c)?;
    let mut e = Errors::default();
    let card_id = req_uuid(&b, "card_id", &mut e);
    let reward_id = req_uuid(&b, "reward_id", &mut e);
    let ident = req_string(&b, "member_identifier", 255, &mut e);
    let staff_id = opt_uuid(&b, "staff_id", &mut e);
    let note = opt_string(&b, "note", 500, &mut e);
    e.finish()?;
    let (Some(card_id), Some(reward_id), Some(ident)) = (card_id, reward_id, ident) else {
        return Err(ApiError::new(
            ErrorCode::InternalError,
            "validation passed without required fields",
        ));
    };

    let ci = own_card(c, &card_id)?;
    let ri = own_reward(c, &reward_id)?;
    if !c.fx.reward_cards[ri].contains(&ci) {
        return Err(ApiError::new(
            ErrorCode::RewardNotLinked,
            "This reward is not linked to this card.",
        ));
    }
    let m = own_member(c, &ident, true)?;
    let cost = c.fx.rewards[ri].points;
    let available = c.st.balance(m, ci);
    if available < cost && !c.quirk(Quirk::OverdraftAllowed) {
        return Err(ApiError::new(
            ErrorCode::InsufficientPoints,
            "The member does not have enough points for this reward.",
        )
        .with(json!({ "required": cost, "available": available })));
    }
    let staff = own_staff(c, staff_id.as_ref())?;

    let txn_id = uuid::Uuid::new_v4().to_string();
    let balance = c.st.append(Txn {
        id: txn_id.clone(),
        card: ci,
        member: m,
        event: "staff_redeemed_points_for_reward".into(),
        points: -cost,
        purchase_amount: None,
        reward: Some(ri),
        staff,
        note,
        created_at: c.now,
        seq: 0,
    });
    let reward = &c.fx.rewards[ri];
    ok(json!({
        "transaction_id": txn_id,
        "points_deducted": cost,
        "member_balance": balance,
        "new_balance": balance,
        "reward_id": reward.id,
        "reward": { "id": reward.id, "title": tr(c, &reward.title) },
        "card_id": c.fx.cards[ci].id,
        "member_id": c.fx.members[m].id,
    }))
}

// ---------------------------------------------------------------------------------------
// Member
// ---------------------------------------------------------------------------------------

fn me(c: &Ctx<'_>) -> Result<usize, ApiError> {
    c.member.ok_or_else(|| ApiError::not_found("Member"))
}

fn my_cards(c: &Ctx<'_>) -> Vec<usize> {
    c.member.map(|m| c.st.cards_of(c.fx, m)).unwrap_or_default()
}

fn member_profile(c: &mut Ctx<'_>) -> R {
    let m = &c.fx.members[me(c)?];
    ok(json!({
        "id": m.id,
        "name": m.name,
        "email": m.email,
        "locale": m.locale,
        "unique_identifier": m.unique_identifier,
        "member_number": m.member_number,
        "is_anonymous": m.is_anonymous,
        "created_at": ts(m.created_at),
    }))
}

fn member_balance(c: &mut Ctx<'_>) -> R {
    let items: Vec<Value> = match c.member {
        None => Vec::new(),
        Some(m) => my_cards(c)
            .into_iter()
            .map(|ci| {
                let card = &c.fx.cards[ci];
                json!({
                    "card_id": card.id,
                    "card_title": tr(c, &card.title),
                    "balance": c.st.balance(m, ci),
                    "currency": card.currency,
                })
            })
            .collect(),
    };
    ok(Value::Array(items))
}

fn member_cards(c: &mut Ctx<'_>) -> R {
    let items = match c.member {
        None => Vec::new(),
        Some(m) => my_cards(c)
            .into_iter()
            .map(|ci| {
                let card = &c.fx.cards[ci];
                let partner = &c.st.partners[c.fx.card_partner[ci]];
                json!({
                    "id": card.id,
                    "name": card.name,
                    "title": tr(c, &card.title),
                    "description": tr(c, &card.description),
                    "currency": card.currency,
                    "balance": c.st.balance(m, ci),
                    "is_active": card.is_active,
                    "partner": { "id": partner.id, "name": partner.name },
                })
            })
            .collect(),
    };
    paginate(c, items)
}

fn member_transactions(c: &mut Ctx<'_>) -> R {
    let mut rows: Vec<_> =
        c.st.txns
            .iter()
            .filter(|t| Some(t.member) == c.member)
            .map(|t| (t.created_at, t.seq, t))
            .collect();
    newest_first(&mut rows);
    let items = rows
        .into_iter()
        .map(|(_, _, t)| {
            json!({
                "id": t.id,
                "card_id": c.fx.cards[t.card].id,
                "event": t.event,
                "points": t.points,
                "purchase_amount": money(t.purchase_amount),
                "reward_id": t.reward.map(|r| c.fx.rewards[r].id.clone()),
                "reward_title": t.reward.map(|r| tr(c, &c.fx.rewards[r].title)),
                "note": t.note,
                "created_at": ts(t.created_at),
            })
        })
        .collect();
    paginate(c, items)
}

/// The member's best balance among its cards a reward is linked to: (card, balance).
fn best_card(c: &Ctx<'_>, ri: usize) -> Option<(usize, i64)> {
    let m = c.member?;
    let mine = my_cards(c);
    c.fx.reward_cards[ri]
        .iter()
        .filter(|ci| mine.contains(ci))
        .map(|&ci| (ci, c.st.balance(m, ci)))
        .max_by_key(|&(ci, bal)| (bal, std::cmp::Reverse(ci)))
}

fn member_rewards(c: &mut Ctx<'_>) -> R {
    let mut rewards: Vec<_> = (0..c.fx.rewards.len())
        .filter(|&ri| c.fx.rewards[ri].is_active)
        .filter_map(|ri| {
            best_card(c, ri).map(|best| (c.fx.rewards[ri].created_at, ri as u64, (ri, best)))
        })
        .collect();
    newest_first(&mut rewards);
    let items = rewards
        .into_iter()
        .map(|(_, _, (ri, (_, balance)))| {
            let r = &c.fx.rewards[ri];
            json!({
                "id": r.id,
                "title": tr(c, &r.title),
                "points": r.points,
                "can_afford": balance >= r.points,
                "best_balance": balance,
                "deficit": r.points.saturating_sub(balance).max(0),
                "card_ids": r.card_ids,
            })
        })
        .collect();
    paginate(c, items)
}

fn member_claim(c: &mut Ctx<'_>) -> R {
    // reward 404 → REWARD_NOT_AVAILABLE → INSUFFICIENT_BALANCE; nothing is deducted.
    let id = param(c, 0).to_ascii_lowercase();
    let ri = *c
        .fx
        .reward_by_id
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Reward"))?;
    let reward = &c.fx.rewards[ri];
    let best = best_card(c, ri).filter(|_| reward.is_active);
    let Some((ci, balance)) = best else {
        return Err(ApiError::new(
            ErrorCode::RewardNotAvailable,
            "This reward is not available on your cards.",
        ));
    };
    if balance < reward.points && !c.quirk(Quirk::OverdraftAllowed) {
        return Err(ApiError::new(ErrorCode::InsufficientBalance, "You do not have enough points for this reward.").with(
            json!({ "balance": balance, "required": reward.points, "deficit": reward.points.saturating_sub(balance) }),
        ));
    }
    ok(json!({
        "status": "claim_submitted",
        "reward_id": reward.id,
        "points_required": reward.points,
        "card_id": c.fx.cards[ci].id,
        "current_balance": balance,
    }))
}

// ---------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------

fn any_partner(c: &Ctx<'_>, id: &str) -> Result<usize, ApiError> {
    c.fx.partner_by_id
        .get(&id.to_ascii_lowercase())
        .copied()
        .ok_or_else(|| ApiError::not_found("Partner"))
}

fn admin_partners(c: &mut Ctx<'_>) -> R {
    let mut e = Errors::default();
    let active = match c.q("is_active").filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => match boolean(&Value::from(v)) {
            Some(b) => Some(b),
            None => {
                e.add(
                    "is_active",
                    "The is active field must be true or false.".into(),
                );
                None
            }
        },
    };
    e.finish()?;
    let search = c
        .q("search")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let mut partners: Vec<_> = (0..c.st.partners.len())
        .filter(|&p| active.is_none_or(|a| c.st.partners[p].is_active == a))
        .filter(|&p| {
            let pp = &c.st.partners[p];
            search.as_ref().is_none_or(|s| {
                pp.name.to_lowercase().contains(s) || pp.email.to_lowercase().contains(s)
            })
        })
        .map(|p| (c.st.partners[p].created_at, p as u64, p))
        .collect();
    newest_first(&mut partners);
    let items = partners
        .into_iter()
        .map(|(_, _, p)| partner_json(c, p))
        .collect();
    paginate(c, items)
}

fn admin_partner(c: &mut Ctx<'_>) -> R {
    let p = any_partner(c, &param(c, 0))?;
    let mut data = partner_json(c, p);
    let pid = &c.st.partners[p].id;
    let usage = json!({
        "cards": c.fx.partner_cards[p].len(),
        "rewards": c.fx.rewards.iter().filter(|r| &r.partner_id == pid).count(),
        "members": (0..c.fx.members.len()).filter(|&m| c.st.is_member_of(c.fx, m, p)).count(),
        "agent_keys": c.fx.keys.iter().filter(|k| k.role == Role::Partner && k.owner == p).count(),
    });
    if let Value::Object(m) = &mut data {
        m.insert("permissions".into(), permissions_json(c, p));
        m.insert("usage".into(), usage);
    }
    ok(data)
}

/// The partner switches an admin may toggle (notes §1.9).
const PERMISSIONS: &[&str] = &[
    "agent_api_permission",
    "loyalty_cards_permission",
    "stamp_cards_permission",
    "vouchers_permission",
];
/// The partner plan limits an admin may set (-1 = unlimited).
const LIMITS: &[&str] = &[
    "agent_keys_limit",
    "loyalty_cards_limit",
    "rewards_limit",
    "stamp_cards_limit",
    "vouchers_limit",
    "staff_members_limit",
];

fn admin_permissions(c: &mut Ctx<'_>) -> R {
    // validation → partner 404; unknown fields are ignored, as Laravel's validated() does.
    let b = body_object(c)?;
    let mut e = Errors::default();
    let mut perms = Vec::new();
    let mut limits = Vec::new();
    for (k, v) in &b {
        if PERMISSIONS.contains(&k.as_str()) {
            match boolean(v) {
                Some(on) => perms.push((k.clone(), on)),
                None => e.add(k, format!("The {} field must be true or false.", human(k))),
            }
        } else if LIMITS.contains(&k.as_str()) {
            match integer(v) {
                Some(n) if n >= -1 => limits.push((k.clone(), n)),
                _ => e.add(
                    k,
                    format!("The {} field must be an integer of at least -1.", human(k)),
                ),
            }
        }
    }
    e.finish()?;
    let p = any_partner(c, &param(c, 0))?;
    let partner = &mut c.st.partners[p];
    partner.permissions.extend(perms);
    partner.limits.extend(limits);
    ok(permissions_json(c, p))
}

fn admin_set_active(c: &mut Ctx<'_>, active: bool) -> R {
    let p = any_partner(c, &param(c, 0))?;
    c.st.partners[p].is_active = active;
    let partner = &c.st.partners[p];
    ok(json!({
        "id": partner.id,
        "name": partner.name,
        "is_active": active,
        "message": if active { "Partner activated." } else { "Partner deactivated." },
    }))
}
