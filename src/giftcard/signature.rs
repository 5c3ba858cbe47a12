//! Webhook signatures: hex HMAC-SHA256 of the raw body under a shared secret
//! (contract §B.2), verified in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The signature of `body` under `secret`: lowercase hex HMAC-SHA256.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `header` is a valid signature of the raw `body` under `secret`.
///
/// Accepts the bare hex form and the `sha256=` prefix some vendors use; hex
/// case is ignored. The comparison runs in constant time over the decoded
/// bytes, so a timing side channel cannot reveal how much of a guess matched.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let given = header.trim();
    let given = given
        .strip_prefix("sha256=")
        .or_else(|| given.strip_prefix("SHA256="))
        .unwrap_or(given);
    let Ok(given) = hex::decode(given) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    given.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verifies_raw_bytes_only() {
        let body = br#"{"id":"evt_1","type":"order.fulfilled"}"#;
        let sig = sign(b"s3cret", body);
        assert!(verify(b"s3cret", body, &sig));
        assert!(verify(
            b"s3cret",
            body,
            &format!("sha256={}", sig.to_uppercase())
        ));
        assert!(!verify(b"other", body, &sig));
        assert!(!verify(
            b"s3cret",
            br#"{"id":"evt_1", "type":"order.fulfilled"}"#,
            &sig
        ));
        assert!(!verify(b"s3cret", body, "not hex"));
        assert!(!verify(b"s3cret", body, &sig[..10]));
    }
}
