//! Slack request signatures (v0): `X-Slack-Signature` is
//! `v0=` + hex(HMAC-SHA256(signing secret, "v0:{X-Slack-Request-Timestamp}:{raw body}")).
//! A request is accepted only with a valid signature (compared in constant time) and a
//! timestamp within five minutes of now, so a captured request cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now (either way), in seconds.
pub const MAX_AGE_SECS: i64 = 5 * 60;

/// Why a request was refused. The HTTP answer is a bare 401 whatever the reason; the reason
/// is only logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Slack-Request-Timestamp or X-Slack-Signature header")]
    Missing,
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the timestamp is {0} s away from now (at most {MAX_AGE_SECS} s): a replay or a wrong clock; check the server's clock (NTP)")]
    Stale(i64),
    #[error("the signature is not `v0=` and 64 hex digits")]
    Malformed,
    #[error("the signature does not match: a forged or altered request, or the wrong signing secret (check BOT_SLACK_SIGNING_SECRET)")]
    Mismatch,
}

/// The MAC over a request (HMAC takes keys of any length, so this is always `Some`).
fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    m.update(b"v0:");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(body);
    Some(m)
}

/// The `X-Slack-Signature` value for a request (what Slack computes; used by tests).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut s = String::with_capacity(3 + 64);
    s.push_str("v0=");
    if let Some(m) = mac(secret, timestamp, body) {
        for b in m.finalize().into_bytes() {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a request: its timestamp header, its signature header and its raw body, at `now`
/// (Unix seconds).
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let t: i64 = ts
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let skew = now.saturating_sub(t);
    if skew.saturating_abs() > MAX_AGE_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let given = sig
        .trim()
        .strip_prefix("v0=")
        .and_then(unhex)
        .filter(|b| b.len() == 32)
        .ok_or(SignatureError::Malformed)?;
    // verify_slice compares in constant time
    mac(secret, ts.trim(), body)
        .ok_or(SignatureError::Mismatch)?
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // the example of Slack's documentation ("Verifying requests from Slack")
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(sign(SECRET, TS, BODY), SIG);
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), BODY, 1531420618 + 10),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let now = 1531420618;
        assert_eq!(
            verify(SECRET, None, Some(SIG), BODY, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(TS), None, BODY, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(SIG), BODY, now),
            Err(SignatureError::BadTimestamp)
        );
        // replayed six minutes later, or from the future
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), BODY, now + 360),
            Err(SignatureError::Stale(360))
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), BODY, now - 301),
            Err(SignatureError::Stale(-301))
        );
        // tampered body, wrong secret, malformed signature
        let mut tampered = BODY.to_vec();
        tampered[6] = b'X';
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), &tampered, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", Some(TS), Some(SIG), BODY, now),
            Err(SignatureError::Mismatch)
        );
        for bad in ["a2114d57", "v1=a2114d57", "v0=zz", "v0=", "v0=a2114d"] {
            assert_eq!(
                verify(SECRET, Some(TS), Some(bad), BODY, now),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        // a signature for another timestamp does not fit this one
        let other = sign(SECRET, "1531420619", BODY);
        assert_eq!(
            verify(SECRET, Some(TS), Some(&other), BODY, now),
            Err(SignatureError::Mismatch)
        );
    }
}
