//! The Slack Web API client: `chat.postMessage`, `chat.update`, `auth.test`.
//!
//! Every call is a JSON POST to `{base}/{method}` with the bot token in the `Authorization`
//! header (never in a URL, never logged). Slack answers HTTP 200 with `ok: false` and an
//! error code for most failures ([`ApiError::Slack`], with advice for the common ones); a
//! 429 carries `Retry-After` and is retried after that long; network errors and 5xx answers
//! are retried a few times with exponential backoff.

use super::config::Secret;
use serde_json::Value;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Slack refused {method}: {code}{}", advice(code))]
    Slack { method: String, code: String },
    #[error("Slack kept answering {method} with 429 (rate limited) after {attempts} attempts; the bot posts too much, try again later")]
    RateLimited { method: String, attempts: u32 },
    #[error("cannot reach the Slack Web API for {method} after {attempts} attempts: {reason}; check the network and `api_base`")]
    Unreachable {
        method: String,
        attempts: u32,
        reason: String,
    },
    #[error("the Slack Web API answered {method} with HTTP {status}: {body}")]
    Http {
        method: String,
        status: u16,
        body: String,
    },
    #[error("the Slack Web API answered {method} with something that is not JSON: {reason}")]
    NotJson { method: String, reason: String },
}

impl ApiError {
    /// Whether the token itself is bad (no call can succeed: stop instead of retrying).
    pub fn is_auth(&self) -> bool {
        matches!(self, ApiError::Slack { code, .. } if matches!(code.as_str(),
            "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired" | "no_permission"))
    }
}

fn advice(code: &str) -> &'static str {
    match code {
        "not_in_channel" => " (invite the bot to the channel: `/invite @your-bot`)",
        "channel_not_found" => " (the channel does not exist or the bot cannot see it; invite the bot)",
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            " (the bot token is wrong or revoked: check BOT_SLACK_TOKEN or `token_file`, and reinstall the app if needed)"
        }
        "missing_scope" => " (add the missing OAuth scope under OAuth & Permissions, e.g. chat:write, then reinstall the app)",
        "msg_too_long" => " (the message is too long)",
        "invalid_blocks" | "invalid_blocks_format" => " (the message's blocks were refused; this is a bug in the bot, please report it)",
        "message_not_found" | "cant_update_message" => " (the message to update is gone or not the bot's)",
        "is_archived" => " (the channel is archived)",
        _ => "",
    }
}

/// How hard a call tries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub attempts: u32,
    /// The first backoff after a network error or 5xx; doubled each time.
    pub backoff: Duration,
    /// `Retry-After` values are capped at this.
    pub max_wait: Duration,
    /// Each attempt's timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(15),
        }
    }
}

/// A Web API client.
#[derive(Debug, Clone)]
pub struct WebApi {
    http: reqwest::Client,
    base: String,
    token: Secret,
    retry: RetryPolicy,
}

impl WebApi {
    pub fn new(base: &str, token: Secret, retry: RetryPolicy) -> Result<WebApi, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .user_agent(concat!("opsnlu-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Unreachable {
                method: "(client setup)".into(),
                attempts: 0,
                reason: e.to_string(),
            })?;
        Ok(WebApi {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            retry,
        })
    }

    /// Calls a method with JSON arguments; returns the answer when `ok` is true.
    pub async fn call(&self, method: &str, args: &Value) -> Result<Value, ApiError> {
        let url = format!("{}/{method}", self.base);
        let mut backoff = self.retry.backoff;
        let mut last_failure = String::new();
        let mut limited = false;
        let attempts = self.retry.attempts.max(1);
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            if attempt > 1 {
                tracing::debug!("retrying {method} (attempt {attempt})");
            }
            let sent = self
                .http
                .post(&url)
                .bearer_auth(self.token.expose())
                .json(args)
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    // reqwest's errors name the URL (no secrets in it) but never the headers
                    last_failure = without_url(&e);
                    limited = false;
                    if last {
                        break;
                    }
                    tracing::warn!("{method}: {last_failure}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    continue;
                }
            };
            let status = resp.status();
            if status.as_u16() == 429 {
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .unwrap_or(backoff)
                    .min(self.retry.max_wait);
                limited = true;
                if last {
                    break;
                }
                tracing::warn!("{method}: rate limited by Slack; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                last_failure = format!("HTTP {status}");
                limited = false;
                if last {
                    break;
                }
                tracing::warn!("{method}: {last_failure}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
                continue;
            }
            let body = resp.text().await.map_err(|e| ApiError::NotJson {
                method: method.into(),
                reason: without_url(&e),
            })?;
            if !status.is_success() {
                return Err(ApiError::Http {
                    method: method.into(),
                    status: status.as_u16(),
                    body: body.chars().take(200).collect(),
                });
            }
            let v: Value = serde_json::from_str(&body).map_err(|e| ApiError::NotJson {
                method: method.into(),
                reason: e.to_string(),
            })?;
            if v.get("ok").and_then(Value::as_bool) == Some(true) {
                if let Some(w) = v.get("warning").and_then(Value::as_str) {
                    tracing::debug!("{method}: Slack warns: {w}");
                }
                return Ok(v);
            }
            let code = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error")
                .to_string();
            if code == "ratelimited" && !last {
                limited = true;
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
                continue;
            }
            return Err(ApiError::Slack {
                method: method.into(),
                code,
            });
        }
        if limited {
            Err(ApiError::RateLimited {
                method: method.into(),
                attempts,
            })
        } else {
            Err(ApiError::Unreachable {
                method: method.into(),
                attempts,
                reason: last_failure,
            })
        }
    }

    /// `chat.postMessage`; returns the new message's `ts`.
    pub async fn post_message(&self, args: &Value) -> Result<Option<String>, ApiError> {
        let v = self.call("chat.postMessage", args).await?;
        Ok(v.get("ts").and_then(Value::as_str).map(str::to_string))
    }

    /// `chat.update` of a message of the bot.
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &[Value],
    ) -> Result<(), ApiError> {
        self.call(
            "chat.update",
            &serde_json::json!({"channel": channel, "ts": ts, "text": text, "blocks": blocks}),
        )
        .await
        .map(|_| ())
    }

    /// `auth.test`: the bot's own user id.
    pub async fn auth_test(&self) -> Result<Option<String>, ApiError> {
        let v = self.call("auth.test", &serde_json::json!({})).await?;
        Ok(v.get("user_id").and_then(Value::as_str).map(str::to_string))
    }
}

/// A reqwest error without its URL (short, and nothing from the query string).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_request() {
        "request failed"
    } else if e.is_body() || e.is_decode() {
        "the answer could not be read"
    } else {
        "HTTP error"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A Web API that answers each call with the next of `script` (then `{"ok":true}`),
    /// counting calls and checking the token.
    async fn mock(
        script: Vec<(u16, &'static str, Option<&'static str>)>,
    ) -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let script = Arc::new(script);
        let app = axum::Router::new().route(
            "/api/{method}",
            axum::routing::post(move |headers: HeaderMap| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let script = script.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if auth != Some("Bearer xoxb-secret-token") {
                        return (StatusCode::OK, r#"{"ok":false,"error":"not_authed"}"#)
                            .into_response();
                    }
                    match script.get(n) {
                        Some((status, body, retry_after)) => {
                            let mut r =
                                (StatusCode::from_u16(*status).unwrap(), *body).into_response();
                            if let Some(s) = retry_after {
                                r.headers_mut().insert("retry-after", s.parse().unwrap());
                            }
                            r
                        }
                        None => (StatusCode::OK, r#"{"ok":true,"ts":"1.2"}"#).into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/api"), calls)
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(20),
            max_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }

    fn client(base: &str) -> WebApi {
        WebApi::new(base, Secret::new("xoxb-secret-token"), quick()).unwrap()
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out() {
        let (base, calls) = mock(vec![(429, "", Some("1"))]).await;
        let start = std::time::Instant::now();
        let ts = client(&base)
            .post_message(&serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(ts.as_deref(), Some("1.2"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(start.elapsed() >= Duration::from_millis(950));
        // always limited: a clear error after the attempts
        let (base, calls) = mock(vec![(429, "", Some("0")); 5]).await;
        let e = client(&base)
            .call("chat.postMessage", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ApiError::RateLimited { attempts: 3, .. }),
            "{e}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn server_errors_and_network_errors_are_retried_a_few_times() {
        let (base, calls) = mock(vec![(503, "busy", None), (500, "oops", None)]).await;
        assert!(client(&base)
            .call("chat.postMessage", &serde_json::json!({}))
            .await
            .is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // nothing listens: Unreachable after 3 attempts, without the token in the message
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!("http://{}/api", l.local_addr().unwrap());
        drop(l);
        let e = client(&closed)
            .call("auth.test", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ApiError::Unreachable { attempts: 3, .. }),
            "{e}"
        );
        assert!(!e.to_string().contains("xoxb-secret-token"), "{e}");
        assert!(!format!("{:?}", client(&closed)).contains("xoxb-secret-token"));
    }

    #[tokio::test]
    async fn ok_false_is_an_error_with_advice() {
        let (base, _) = mock(vec![(
            200,
            r#"{"ok":false,"error":"not_in_channel"}"#,
            None,
        )])
        .await;
        let e = client(&base)
            .call("chat.postMessage", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(&e, ApiError::Slack { code, .. } if code == "not_in_channel"));
        assert!(e.to_string().contains("/invite"), "{e}");
        assert!(!e.is_auth());
        // a wrong token
        let (base, _) = mock(vec![]).await;
        let api = WebApi::new(&base, Secret::new("xoxb-wrong"), quick()).unwrap();
        let e = api.auth_test().await.unwrap_err();
        assert!(e.is_auth(), "{e}");
        assert!(e.to_string().contains("BOT_SLACK_TOKEN"), "{e}");
        // an answer that is not JSON
        let (base, _) = mock(vec![(200, "<html>", None)]).await;
        let e = client(&base)
            .call("auth.test", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::NotJson { .. }), "{e}");
    }
}
