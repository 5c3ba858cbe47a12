//! `launchgate webhook sign|send`: tools for the integration's own webhook
//! receiver. `send` plays a vendor: it delivers a correctly signed event and
//! its tampered, unsigned and replayed variants, and reports which the
//! receiver accepted. Accepting a tampered or unsigned event is a failure.

use std::time::Duration;

use serde_json::{json, Value};

use crate::signature;

/// One variant `send` delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A correct event, signed over its raw body: must be accepted.
    Signed,
    /// The same signature over a body changed after signing: must be refused.
    Tampered,
    /// No signature header: must be refused.
    Unsigned,
    /// The signed event again, same id: should be accepted (and deduplicated on `id`).
    Replayed,
    /// Signed in compact form but sent pretty-printed: a receiver that verifies the
    /// raw bytes refuses it; one that re-serialises the parsed body accepts it.
    Reserialized,
}

impl Variant {
    /// In delivery order.
    pub const ALL: &'static [Variant] = &[
        Variant::Signed,
        Variant::Tampered,
        Variant::Unsigned,
        Variant::Replayed,
        Variant::Reserialized,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Signed => "signed",
            Variant::Tampered => "tampered",
            Variant::Unsigned => "unsigned",
            Variant::Replayed => "replayed",
            Variant::Reserialized => "re-serialised",
        }
    }

    /// What a correct receiver does with it.
    fn wanted(self) -> &'static str {
        match self {
            Variant::Signed | Variant::Replayed => "accept",
            Variant::Tampered | Variant::Unsigned => "refuse",
            Variant::Reserialized => "refuse (verify the raw bytes)",
        }
    }
}

/// What the receiver did with one variant.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Which variant.
    pub variant: Variant,
    /// The HTTP status, or `None` when no response came.
    pub status: Option<u16>,
    /// The transport error, if any.
    pub error: Option<String>,
    /// True when this answer fails the receiver (a forged event accepted, a good one refused).
    pub failed: bool,
    /// True when it is only worth a warning.
    pub warning: bool,
}

impl Outcome {
    fn accepted(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        let answer = match (self.status, &self.error) {
            (Some(s), _) if self.accepted() => format!("accepted (HTTP {s})"),
            (Some(s), _) => format!("refused (HTTP {s})"),
            (None, Some(e)) => format!("no response ({e})"),
            (None, None) => "no response".into(),
        };
        let verdict = if self.failed {
            "FAIL"
        } else if self.warning {
            "warn"
        } else {
            "ok"
        };
        format!(
            "{:<14} {:<28} {:<5} (should {})",
            self.variant.name(),
            answer,
            verdict,
            self.variant.wanted()
        )
    }
}

/// The event `send` delivers: a Part B `order.fulfilled` for an order that exists nowhere.
pub fn sample_event() -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "id": format!("evt_launchgate_{}", uuid::Uuid::new_v4().simple()),
        "type": "order.fulfilled",
        "created_at": now,
        "data": {"order": {
            "id": "ord_launchgate_test",
            "idempotency_key": "launchgate-webhook-send",
            "reference": "launchgate-webhook-send",
            "amount": 25,
            "currency": "USD",
            "status": "fulfilled",
            "created_at": now,
        }},
    })
}

/// Sends every variant to `url` and judges the answers.
pub async fn send(
    url: &str,
    secret: &[u8],
    signature_header: &str,
    timeout: Duration,
) -> Result<Vec<Outcome>, String> {
    let client = crate::http::control_client(timeout, crate::http::is_loopback(url))
        .map_err(|e| e.to_string())?;
    let event = sample_event();
    let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
    let sig = signature::sign(secret, &body);
    let mut tampered_event = event.clone();
    tampered_event["data"]["order"]["amount"] = json!(2500);
    let tampered = serde_json::to_vec(&tampered_event).map_err(|e| e.to_string())?;
    let mut pretty_event = sample_event();
    pretty_event["id"] = json!(format!("evt_launchgate_{}", uuid::Uuid::new_v4().simple()));
    let compact = serde_json::to_vec(&pretty_event).map_err(|e| e.to_string())?;
    let pretty = serde_json::to_vec_pretty(&pretty_event).map_err(|e| e.to_string())?;
    let pretty_sig = signature::sign(secret, &compact);

    let mut out = Vec::new();
    for &v in Variant::ALL {
        let (payload, signature) = match v {
            Variant::Signed | Variant::Replayed => (body.clone(), Some(sig.clone())),
            Variant::Tampered => (tampered.clone(), Some(sig.clone())),
            Variant::Unsigned => (body.clone(), None),
            Variant::Reserialized => (pretty.clone(), Some(pretty_sig.clone())),
        };
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header(
                "x-webhook-timestamp",
                chrono::Utc::now().timestamp().to_string(),
            )
            .body(payload);
        if let Some(s) = signature {
            req = req.header(signature_header, s);
        }
        let (status, error) = match req.send().await {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let mut o = Outcome {
            variant: v,
            status,
            error,
            failed: false,
            warning: false,
        };
        let accepted = o.accepted();
        match v {
            Variant::Tampered | Variant::Unsigned => o.failed = accepted,
            Variant::Signed => o.failed = !accepted,
            Variant::Replayed => o.warning = !accepted,
            Variant::Reserialized => o.warning = accepted,
        }
        out.push(o);
    }
    if out.iter().all(|o| o.status.is_none()) {
        return Err(format!(
            "{url} never answered: {}",
            out.first()
                .and_then(|o| o.error.clone())
                .unwrap_or_default()
        ));
    }
    Ok(out)
}
