//! Admission: who is asking (identity), message size and rate limits, before anything is
//! parsed.

use super::*;

impl Guard {
    /// Every message passes here first: size, identity, rate limit; then it is recorded.
    /// `Err` is the reply (already logged and recorded).
    pub fn admit(&self, actor: &Actor, raw_len: usize) -> Result<Identity, String> {
        let refuse = |mapped: Option<&str>, e: UserError, what: &str| {
            let mut a = actor.clone();
            if a.text.len() > 200 {
                let mut cut = 200;
                while !a.text.is_char_boundary(cut) {
                    cut -= 1;
                }
                a.text = format!("{}…", &a.text[..cut]);
            }
            let _ = self.record(
                &a,
                Entry {
                    kind: "command".into(),
                    mapped_user: mapped.map(str::to_string),
                    text: Some(a.text.clone()),
                    decision: Some("deny".into()),
                    reason: Some(format!("{what}: {}", e.recorded_message())),
                    error_id: Some(e.id.clone()),
                    ..Default::default()
                },
            );
            self.redact(&e.reply(actor.lang))
        };
        let lang = actor.lang;
        let max = self.sec().max_message_bytes;
        if raw_len > max {
            return Err(refuse(
                None,
                UserError::localized(lang, |l| {
                    UserError::invalid(tr!(l, "message-too-long", bytes = raw_len, max = max))
                        .suggest(tr!(l, "message-send-shorter"))
                }),
                "too long",
            ));
        }
        let who = match self.identify(actor) {
            Ok(w) => w,
            Err(e) => return Err(refuse(None, e, "identity")),
        };
        if let Err(limited) = self.limiter.take(&who.name, Instant::now()) {
            let (own, wait) = match limited {
                Limited::User(w) => (true, w),
                Limited::Global(w) => (false, w),
            };
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            return Err(refuse(
                Some(&who.name),
                UserError::localized(lang, |l| {
                    let message = if own {
                        tr!(l, "rate-limit-user")
                    } else {
                        tr!(l, "rate-limit-global")
                    };
                    UserError::policy(message).suggest(tr!(l, "rate-limit-retry", secs = secs))
                }),
                "rate limit",
            ));
        }
        if let Err(e) = self.record(
            actor,
            Entry {
                kind: "command".into(),
                mapped_user: Some(who.name.clone()),
                text: Some(actor.text.clone()),
                decision: Some("admitted".into()),
                ..Default::default()
            },
        ) {
            // nothing happens without a record
            return Err(self.redact(&e.reply(actor.lang)));
        }
        Ok(who)
    }
}
