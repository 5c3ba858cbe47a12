//! What the vendor mock remembers: orders, idempotency keys, registered webhook URLs and
//! the delivery log, all bounded, behind the one lock in [`super::api::Shared`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// An order, as the vendor holds it.
#[derive(Debug, Clone)]
pub(super) struct Order {
    pub(super) seq: u64,
    pub(super) id: String,
    pub(super) idempotency_key: Option<String>,
    pub(super) reference: Option<String>,
    pub(super) customer_id: String,
    pub(super) brand_id: String,
    pub(super) amount: Value,
    pub(super) currency: String,
    pub(super) status: &'static str,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) drop_webhooks: bool,
}

/// A timestamp as the vendor writes it (RFC 3339, milliseconds).
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Order {
    /// The order as the API shows it.
    pub(super) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "idempotency_key": self.idempotency_key,
            "reference": self.reference,
            "customer_id": self.customer_id,
            "brand_id": self.brand_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// What an idempotency key stands for: a request in progress, or the answer it got.
#[derive(Debug)]
pub(super) enum KeyEntry {
    InFlight {
        fingerprint: [u8; 32],
    },
    Done {
        fingerprint: [u8; 32],
        status: u16,
        body: Bytes,
        at: Instant,
    },
}

/// One event's deliveries to one URL, for `GET /__launchgate/webhooks`.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct DeliveryLog {
    pub(super) event_id: String,
    pub(super) order_id: String,
    #[serde(rename = "type")]
    pub(super) type_: String,
    pub(super) url: String,
    pub(super) dropped: bool,
    /// HTTP status per attempt (0: no response).
    pub(super) attempts: Vec<u16>,
    pub(super) delivered: bool,
}

/// Everything the mock remembers between requests.
#[derive(Debug, Default)]
pub(super) struct VState {
    pub(super) seq: u64,
    pub(super) orders: BTreeMap<u64, Order>,
    pub(super) by_id: HashMap<String, u64>,
    pub(super) keys: HashMap<String, KeyEntry>,
    pub(super) key_order: VecDeque<(String, Instant)>,
    pub(super) webhooks: Vec<String>,
    pub(super) log: VecDeque<DeliveryLog>,
}

impl VState {
    /// Forgets idempotency keys past the retention window.
    pub(super) fn expire_keys(&mut self, retention: Duration) {
        while let Some((k, at)) = self.key_order.front() {
            if at.elapsed() < retention {
                break;
            }
            let k = k.clone();
            self.key_order.pop_front();
            if matches!(self.keys.get(&k), Some(KeyEntry::Done { at, .. }) if at.elapsed() >= retention)
            {
                self.keys.remove(&k);
            }
        }
    }

    /// Adds an order; over `max` orders, forgets the oldest and its idempotency key.
    pub(super) fn insert_order(&mut self, order: Order, max: usize) {
        self.by_id.insert(order.id.clone(), order.seq);
        self.orders.insert(order.seq, order);
        while self.orders.len() > max.max(1) {
            if let Some((_, old)) = self.orders.pop_first() {
                self.by_id.remove(&old.id);
                if let Some(k) = &old.idempotency_key {
                    self.keys.remove(k);
                }
            }
        }
    }

    /// Remembers a finished key; the key map is bounded like the orders.
    pub(super) fn remember_key(&mut self, key: String, done: KeyEntry, max: usize) {
        self.keys.insert(key.clone(), done);
        self.key_order.push_back((key, Instant::now()));
        while self.key_order.len() > max.max(1) {
            if let Some((k, _)) = self.key_order.pop_front() {
                self.keys.remove(&k);
            }
        }
    }
}
