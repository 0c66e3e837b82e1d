//! The Slack Web API client: `chat.postMessage`, `chat.update`, `auth.test`, and file
//! uploads (`files.getUploadURLExternal`, the bytes to the upload URL,
//! `files.completeUploadExternal`).
//!
//! Every call is a POST to `{base}/{method}` (JSON arguments, or form-encoded for the methods
//! that want them) with the bot token in the `Authorization` header (never in a URL, never
//! logged); the bytes of an upload go to the URL Slack gave for it, without the token. Slack answers HTTP 200 with `ok: false` and an
//! error code for most failures ([`ApiError::Slack`], with advice for the common ones); a
//! 429 carries `Retry-After` and is retried after that long; network errors and 5xx answers
//! are retried a few times with exponential backoff.

use super::config::Secret;
use serde_json::Value;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Slack refused {method}: {code}{}", advice(method, code))]
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
    #[error("the Slack Web API answered {method} without `{field}`")]
    Incomplete { method: String, field: &'static str },
    #[error("cannot encode the arguments of {method}: {reason}")]
    Encoding { method: String, reason: String },
}

impl ApiError {
    /// Whether the token itself is bad (no call can succeed: stop instead of retrying).
    pub fn is_auth(&self) -> bool {
        matches!(self, ApiError::Slack { code, .. } if matches!(code.as_str(),
            "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired" | "no_permission"))
    }
}

fn advice(method: &str, code: &str) -> &'static str {
    match code {
        "missing_scope" if method.starts_with("files.") => {
            " (uploading charts needs the files:write scope: add it under OAuth & Permissions → Bot Token Scopes, then reinstall the app; until then replies carry the charts' text form only)"
        }
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

/// Slack's limit on an upload's alternative text (`alt_txt`).
pub const ALT_TXT_MAX: usize = 1000;

/// A file to share in a channel with [`WebApi::upload_file`].
#[derive(Debug, Clone, Copy)]
pub struct FileUpload<'a> {
    /// The conversation id (`C024BE91L`).
    pub channel: &'a str,
    /// The `ts` of the thread's first message, to upload into that thread.
    pub thread_ts: Option<&'a str>,
    pub filename: &'a str,
    pub title: &'a str,
    /// The alternative text for screen readers (cut at [`ALT_TXT_MAX`] characters).
    pub alt_txt: &'a str,
    pub bytes: &'a [u8],
}

/// A request's body.
enum Payload<'a> {
    /// A Web API call with JSON arguments.
    Json(&'a Value),
    /// A Web API call with form-encoded arguments.
    Form(String),
    /// Raw bytes for an upload URL.
    Bytes(&'a [u8]),
}

/// What an answer (not a 429 or a 5xx) means.
enum Answer<T> {
    Done(Result<T, ApiError>),
    /// Rate limited without a 429 (`ok: false`, `ratelimited`): try again after a backoff.
    RateLimited,
}

/// A Web API answer: its JSON when `ok` is true, else the error.
fn web_api_answer(method: &str, status: reqwest::StatusCode, body: &str) -> Answer<Value> {
    if !status.is_success() {
        return Answer::Done(Err(ApiError::Http {
            method: method.into(),
            status: status.as_u16(),
            body: body.chars().take(200).collect(),
        }));
    }
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return Answer::Done(Err(ApiError::NotJson {
                method: method.into(),
                reason: e.to_string(),
            }))
        }
    };
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        if let Some(w) = v.get("warning").and_then(Value::as_str) {
            tracing::debug!("{method}: Slack warns: {w}");
        }
        return Answer::Done(Ok(v));
    }
    let code = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error")
        .to_string();
    if code == "ratelimited" {
        return Answer::RateLimited;
    }
    Answer::Done(Err(ApiError::Slack {
        method: method.into(),
        code,
    }))
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
        self.call_with(method, &Payload::Json(args)).await
    }

    /// Calls a method with form-encoded arguments (the methods that take no JSON, such as
    /// `files.getUploadURLExternal`); returns the answer when `ok` is true.
    pub async fn call_form(&self, method: &str, args: &[(&str, &str)]) -> Result<Value, ApiError> {
        let form = serde_urlencoded::to_string(args).map_err(|e| ApiError::Encoding {
            method: method.into(),
            reason: e.to_string(),
        })?;
        self.call_with(method, &Payload::Form(form)).await
    }

    async fn call_with(&self, method: &str, payload: &Payload<'_>) -> Result<Value, ApiError> {
        let url = format!("{}/{method}", self.base);
        self.send(method, &url, payload, |status, body| {
            web_api_answer(method, status, &body)
        })
        .await
    }

    /// Sends one request with the retries: network errors and 5xx answers after a backoff
    /// (doubled each time), 429 after its `Retry-After`; `answer` judges the rest (and may
    /// ask for another try after a backoff, e.g. for `ok: false` with `ratelimited`).
    async fn send<T>(
        &self,
        method: &str,
        url: &str,
        payload: &Payload<'_>,
        answer: impl Fn(reqwest::StatusCode, String) -> Answer<T>,
    ) -> Result<T, ApiError> {
        let mut backoff = self.retry.backoff;
        let mut last_failure = String::new();
        let mut limited = false;
        let attempts = self.retry.attempts.max(1);
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            if attempt > 1 {
                tracing::debug!("retrying {method} (attempt {attempt})");
            }
            let request = self.http.post(url);
            let request = match payload {
                Payload::Json(args) => request.bearer_auth(self.token.expose()).json(args),
                Payload::Form(form) => request
                    .bearer_auth(self.token.expose())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form.clone()),
                // an upload URL is signed by Slack and may be on another host: no token
                Payload::Bytes(bytes) => request
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(bytes.to_vec()),
            };
            let resp = match request.send().await {
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
            match answer(status, body) {
                Answer::Done(result) => return result,
                Answer::RateLimited => {
                    limited = true;
                    if last {
                        break;
                    }
                    tracing::warn!("{method}: rate limited by Slack; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
            }
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

    /// Uploads a file into a channel (and thread) with Slack's external upload flow:
    /// `files.getUploadURLExternal` (name, length, alternative text), the bytes POSTed to the
    /// URL it gives (without the token), then `files.completeUploadExternal` to share it.
    /// Returns the file's id. Needs the `files:write` scope.
    pub async fn upload_file(&self, file: &FileUpload<'_>) -> Result<String, ApiError> {
        const GET_URL: &str = "files.getUploadURLExternal";
        const COMPLETE: &str = "files.completeUploadExternal";
        let length = file.bytes.len().to_string();
        let alt: String = file.alt_txt.chars().take(ALT_TXT_MAX).collect();
        let mut args = vec![("filename", file.filename), ("length", length.as_str())];
        if !alt.is_empty() {
            args.push(("alt_txt", alt.as_str()));
        }
        let v = self.call_form(GET_URL, &args).await?;
        let field = |name: &'static str| {
            v.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::Incomplete {
                    method: GET_URL.into(),
                    field: name,
                })
        };
        let (upload_url, file_id) = (field("upload_url")?, field("file_id")?.to_string());

        // the URL itself is never logged (it is signed)
        let what = format!("the upload of {}", file.filename);
        self.send(
            &what,
            upload_url,
            &Payload::Bytes(file.bytes),
            |status, body| {
                if status.is_success() {
                    Answer::Done(Ok(()))
                } else {
                    Answer::Done(Err(ApiError::Http {
                        method: what.clone(),
                        status: status.as_u16(),
                        body: body.chars().take(200).collect(),
                    }))
                }
            },
        )
        .await?;

        let files = serde_json::json!([{ "id": file_id, "title": file.title }]).to_string();
        let mut args = vec![("files", files.as_str()), ("channel_id", file.channel)];
        if let Some(ts) = file.thread_ts {
            args.push(("thread_ts", ts));
        }
        self.call_form(COMPLETE, &args).await?;
        Ok(file_id)
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

    /// A request as the upload mock saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        auth: Option<String>,
        content_type: Option<String>,
        body: Vec<u8>,
        at: std::time::Instant,
    }

    impl Seen {
        fn form(&self) -> std::collections::HashMap<String, String> {
            serde_urlencoded::from_bytes(&self.body).unwrap()
        }
    }

    type Script = Vec<(u16, &'static str, Option<&'static str>)>;

    /// A Web API with the upload flow: the Web API calls are answered with the next of
    /// `script`, then as Slack would (`files.getUploadURLExternal` gives an upload URL on
    /// this server); the upload URL takes any bytes. Every request is recorded.
    async fn upload_mock(script: Script) -> (String, Arc<std::sync::Mutex<Vec<Seen>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::<Seen>::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (record, script) = (seen.clone(), Arc::new(script));
        let calls = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/{*path}",
            axum::routing::post(
                move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
                    let header = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    record.lock().unwrap().push(Seen {
                        path: uri.path().to_string(),
                        auth: header("authorization"),
                        content_type: header("content-type"),
                        body: body.to_vec(),
                        at: std::time::Instant::now(),
                    });
                    let path = uri.path().to_string();
                    let n = if path.starts_with("/api/") {
                        Some(calls.fetch_add(1, Ordering::SeqCst))
                    } else {
                        None
                    };
                    let scripted = n.and_then(|n| script.get(n).copied());
                    async move {
                        if let Some((status, body, retry_after)) = scripted {
                            let body = body.replace("{addr}", &addr.to_string());
                            let mut r =
                                (StatusCode::from_u16(status).unwrap(), body).into_response();
                            if let Some(s) = retry_after {
                                r.headers_mut().insert("retry-after", s.parse().unwrap());
                            }
                            return r;
                        }
                        match path.as_str() {
                            "/api/files.getUploadURLExternal" => serde_json::json!({
                                "ok": true,
                                "upload_url": format!("http://{addr}/upload/v1/F0CHART1?sig=abc"),
                                "file_id": "F0CHART1",
                            })
                            .to_string()
                            .into_response(),
                            "/upload/v1/F0CHART1" => format!("OK - {}", body.len()).into_response(),
                            "/upload/refused" => {
                                (StatusCode::FORBIDDEN, "Forbidden").into_response()
                            }
                            _ => r#"{"ok":true,"files":[{"id":"F0CHART1"}]}"#.into_response(),
                        }
                    }
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/api"), seen)
    }

    fn chart_png() -> Vec<u8> {
        use crate::domain::chart::{Chart, DurationPoint};
        let runs = (1..=5)
            .map(|i| DurationPoint {
                id: 1000 + i,
                secs: 10.0 + i as f64,
                ok: i != 3,
            })
            .collect();
        let chart = Chart::Duration {
            job: "backup-database".into(),
            runs,
            median: Some(12.0),
            lang: crate::i18n::Lang::En,
        };
        chart.image().unwrap().png
    }

    fn upload<'a>(png: &'a [u8], thread: Option<&'a str>) -> FileUpload<'a> {
        FileUpload {
            channel: "C024BE91L",
            thread_ts: thread,
            filename: "backup-database-duration.png",
            title: "backup-database: duration of the last 5 runs",
            alt_txt: "backup-database: duration of the last 5 runs. Duration, last 5 runs: ▁▃▅▆█",
            bytes: png,
        }
    }

    #[tokio::test]
    async fn a_file_is_uploaded_in_three_calls_into_the_thread() {
        let png = chart_png();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let (base, seen) = upload_mock(vec![]).await;
        let id = client(&base)
            .upload_file(&upload(&png, Some("1700000001.000100")))
            .await
            .unwrap();
        assert_eq!(id, "F0CHART1");
        let seen = seen.lock().unwrap().clone();
        let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/api/files.getUploadURLExternal",
                "/upload/v1/F0CHART1",
                "/api/files.completeUploadExternal"
            ]
        );
        // 1. the upload URL: name, length in bytes, alternative text; form-encoded, with the token
        let get = &seen[0];
        assert_eq!(get.auth.as_deref(), Some("Bearer xoxb-secret-token"));
        assert_eq!(
            get.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        let form = get.form();
        assert_eq!(form["filename"], "backup-database-duration.png");
        assert_eq!(form["length"], png.len().to_string());
        assert!(form["alt_txt"].starts_with("backup-database: duration"));
        // 2. the bytes, intact, without the token
        let up = &seen[1];
        assert_eq!(up.body.len(), png.len());
        assert!(up.body.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(up.body, png);
        assert_eq!(up.auth, None, "the token went to the upload URL");
        // 3. shared into the channel's thread with its title
        let done = &seen[2];
        assert_eq!(done.auth.as_deref(), Some("Bearer xoxb-secret-token"));
        let form = done.form();
        assert_eq!(form["channel_id"], "C024BE91L");
        assert_eq!(form["thread_ts"], "1700000001.000100");
        let files: Value = serde_json::from_str(&form["files"]).unwrap();
        assert_eq!(
            files,
            serde_json::json!([{"id": "F0CHART1", "title": "backup-database: duration of the last 5 runs"}])
        );
    }

    #[tokio::test]
    async fn outside_a_thread_no_thread_ts_is_sent_and_long_alt_texts_are_cut() {
        let png = vec![0x89, b'P', b'N', b'G', 0, 255, 13, 10];
        let alt = "x".repeat(3000);
        let (base, seen) = upload_mock(vec![]).await;
        let mut file = upload(&png, None);
        file.alt_txt = &alt;
        client(&base).upload_file(&file).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[0].form()["alt_txt"].chars().count(), ALT_TXT_MAX);
        assert_eq!(seen[1].body, png);
        let form = seen[2].form();
        assert_eq!(form["channel_id"], "C024BE91L");
        assert!(!form.contains_key("thread_ts"), "{form:?}");
    }

    #[tokio::test]
    async fn a_missing_files_write_scope_is_a_typed_error_with_advice() {
        let (base, seen) = upload_mock(vec![(
            200,
            r#"{"ok":false,"error":"missing_scope","needed":"files:write","provided":"chat:write"}"#,
            None,
        )])
        .await;
        let png = chart_png();
        let e = client(&base)
            .upload_file(&upload(&png, Some("1.2")))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ApiError::Slack { method, code }
                if method == "files.getUploadURLExternal" && code == "missing_scope"),
            "{e:?}"
        );
        assert!(e.to_string().contains("files:write"), "{e}");
        assert!(!e.is_auth());
        // nothing was uploaded
        assert_eq!(seen.lock().unwrap().len(), 1);
        // the same code from another method keeps the general advice
        assert!(!ApiError::Slack {
            method: "chat.postMessage".into(),
            code: "missing_scope".into()
        }
        .to_string()
        .contains("files:write"));
    }

    #[tokio::test]
    async fn a_rate_limited_upload_url_request_is_retried_after_retry_after() {
        let (base, seen) = upload_mock(vec![(429, "", Some("1"))]).await;
        let png = chart_png();
        let start = std::time::Instant::now();
        client(&base)
            .upload_file(&upload(&png, Some("1.2")))
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        let gets: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.path == "/api/files.getUploadURLExternal")
            .collect();
        assert_eq!(gets.len(), 2);
        assert!(gets[1].at.duration_since(gets[0].at) >= Duration::from_millis(950));
        assert!(start.elapsed() >= Duration::from_millis(950));
        assert_eq!(gets[1].form()["length"], png.len().to_string());
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!(seen[2].body, png);
    }

    #[tokio::test]
    async fn a_refused_upload_and_an_incomplete_answer_are_errors() {
        let png = chart_png();
        // the upload URL refuses the bytes: an HTTP error, and the file is not shared
        let (base, seen) = upload_mock(vec![(
            200,
            r#"{"ok":true,"upload_url":"http://{addr}/upload/refused","file_id":"F2"}"#,
            None,
        )])
        .await;
        let e = client(&base)
            .upload_file(&upload(&png, None))
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::Http { status: 403, .. }), "{e}");
        let paths: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.path.clone())
            .collect();
        assert_eq!(
            paths,
            ["/api/files.getUploadURLExternal", "/upload/refused"]
        );
        // an answer without upload_url
        let (base, _) = upload_mock(vec![(200, r#"{"ok":true,"file_id":"F1"}"#, None)]).await;
        let e = client(&base)
            .upload_file(&upload(&png, None))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ApiError::Incomplete {
                    field: "upload_url",
                    ..
                }
            ),
            "{e}"
        );
    }
}
