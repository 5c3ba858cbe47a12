//! The mutable side of the mock: partners' switches, the ledger, enrolments and rate windows.
//!
//! Everything here sits behind one `parking_lot::Mutex` held only by synchronous code, so
//! a write is all-or-nothing even if the client hangs up, and concurrent purchases cannot
//! lose an award or drive a balance below what the checks allowed.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::fixtures::{Fixtures, PartnerFx};

/// Ledger lines seeded for the fixture member under `provoke`: more than one page at the
/// largest page size (100).
pub(crate) const HISTORY_LEN: usize = 150;

/// One ledger line.
#[derive(Debug, Clone)]
pub(crate) struct Txn {
    pub id: String,
    pub card: usize,
    pub member: usize,
    pub event: String,
    pub points: i64,
    pub purchase_amount: Option<f64>,
    pub reward: Option<usize>,
    pub staff: Option<usize>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Insertion order: breaks ties between equal timestamps for "newest first".
    pub seq: u64,
}

/// A key's fixed rate-limit window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Window {
    pub start: Option<Instant>,
    pub count: u32,
}

pub(crate) struct State {
    pub partners: Vec<PartnerFx>,
    /// (member, card) pairs: who holds which card.
    pub enrolled: HashSet<(usize, usize)>,
    pub balances: HashMap<(usize, usize), i64>,
    /// Ledger in ascending (created_at, seq) order; new lines are appended at "now".
    pub txns: Vec<Txn>,
    pub windows: Vec<Window>,
    next_seq: u64,
}

impl State {
    /// The state the fixtures describe: also what `POST /__launchgate/reset` returns to.
    pub fn new(fx: &Fixtures) -> State {
        let mut st = State {
            partners: fx.partners.clone(),
            enrolled: HashSet::new(),
            balances: HashMap::new(),
            txns: Vec::with_capacity(fx.transactions.len() + 64),
            windows: vec![Window::default(); fx.keys.len()],
            next_seq: 1,
        };
        for (m, member) in fx.members.iter().enumerate() {
            for c in &member.cards {
                if let Some(&c) = fx.card_by_id.get(c) {
                    st.enrolled.insert((m, c));
                }
            }
        }
        let mut seeded: Vec<&_> = fx.transactions.iter().collect();
        seeded.sort_by_key(|t| t.created_at);
        for t in seeded {
            // References were checked when the fixtures were loaded.
            let (Some(&card), Some(member)) =
                (fx.card_by_id.get(&t.card_id), fx.member(&t.member_id))
            else {
                continue;
            };
            st.append(Txn {
                id: t.id.clone(),
                card,
                member,
                event: t.event.clone(),
                points: t.points,
                purchase_amount: t.purchase_amount,
                reward: t
                    .reward_id
                    .as_ref()
                    .and_then(|r| fx.reward_by_id.get(r).copied()),
                staff: t
                    .staff_id
                    .as_ref()
                    .and_then(|s| fx.staff_by_id.get(s).copied()),
                note: t.note.clone(),
                created_at: t.created_at,
                seq: 0,
            });
        }
        st
    }

    /// The state for a mock's options: with `provoke`, the fixture member also has a
    /// purchase history longer than one page at `per_page=100` on the fixture card, so a
    /// client's pagination meets a second page whatever page size it asks for.
    pub fn for_options(fx: &Fixtures, provoke: bool) -> State {
        let mut st = State::new(fx);
        if provoke {
            st.seed_history(fx, HISTORY_LEN);
        }
        st
    }

    fn seed_history(&mut self, fx: &Fixtures, n: usize) {
        let card = fx
            .inputs
            .fixtures
            .get("card_id")
            .and_then(|c| fx.card_by_id.get(c).copied());
        let member = fx
            .inputs
            .fixtures
            .get("member_id")
            .and_then(|m| fx.member(m));
        let (Some(card), Some(member)) = (card, member) else {
            return;
        };
        let now = Utc::now();
        for i in 0..n {
            // Hours apart, oldest first, all before the run starts.
            let created_at = now - chrono::Duration::hours((n - i) as i64);
            self.append(Txn {
                id: uuid::Uuid::new_v4().to_string(),
                card,
                member,
                event: "staff_credited_points_for_purchase".into(),
                points: 1,
                purchase_amount: Some(0.1),
                reward: None,
                staff: None,
                note: Some(format!("history H-{:04}", i + 1)),
                created_at,
                seq: 0,
            });
        }
    }

    pub fn balance(&self, member: usize, card: usize) -> i64 {
        self.balances.get(&(member, card)).copied().unwrap_or(0)
    }

    /// Books a ledger line and returns the member's new balance on that card.
    pub fn append(&mut self, mut txn: Txn) -> i64 {
        txn.seq = self.next_seq;
        self.next_seq += 1;
        self.enrolled.insert((txn.member, txn.card));
        let balance = self.balances.entry((txn.member, txn.card)).or_insert(0);
        *balance = balance.saturating_add(txn.points);
        let new_balance = *balance;
        self.txns.push(txn);
        new_balance
    }

    /// Whether the member holds any card of this partner (the tenancy rule for members).
    pub fn is_member_of(&self, fx: &Fixtures, member: usize, partner: usize) -> bool {
        fx.partner_cards[partner]
            .iter()
            .any(|&c| self.enrolled.contains(&(member, c)))
    }

    /// The member's cards, oldest card first.
    pub fn cards_of(&self, fx: &Fixtures, member: usize) -> Vec<usize> {
        (0..fx.cards.len())
            .filter(|&c| self.enrolled.contains(&(member, c)))
            .collect()
    }
}
