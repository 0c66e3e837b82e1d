//! The few client-server API calls the bot needs, over `reqwest`, and the shapes of their
//! answers. Each call is one HTTP request; retrying is the caller's ([`super::retry`](mod@super::retry)).

use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the homeserver: {0}")]
    Network(#[source] reqwest::Error),
    #[error("the homeserver answered {status}{}: {message}", if errcode.is_empty() { String::new() } else { format!(" {errcode}") })]
    Http {
        status: u16,
        /// The Matrix error code (`M_LIMIT_EXCEEDED`, `M_FORBIDDEN`, ...), empty when none.
        errcode: String,
        message: String,
        /// `retry_after_ms` (or `Retry-After`) of a rate-limited answer.
        retry_after: Option<Duration>,
        soft_logout: bool,
    },
    #[error("unexpected answer from the homeserver to {what}: {detail}")]
    Decode { what: &'static str, detail: String },
}

impl ApiError {
    /// The wait the homeserver asked for (rate limiting).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Http {
                status,
                errcode,
                retry_after,
                ..
            } if *status == 429 || errcode == "M_LIMIT_EXCEEDED" => {
                Some(retry_after.unwrap_or(Duration::from_secs(1)))
            }
            _ => None,
        }
    }

    /// Whether trying again later may succeed: network errors, rate limits, 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Network(_) => true,
            ApiError::Http {
                status, errcode, ..
            } => *status == 429 || *status >= 500 || errcode == "M_LIMIT_EXCEEDED",
            // a truncated body (a proxy cut the connection) is worth another try
            ApiError::Decode { .. } => true,
        }
    }

    /// The access token is not (or no longer) valid.
    pub fn is_unknown_token(&self) -> bool {
        matches!(self, ApiError::Http { status: 401, .. })
            || matches!(self, ApiError::Http { errcode, .. } if errcode == "M_UNKNOWN_TOKEN" || errcode == "M_MISSING_TOKEN")
    }

    /// The HTTP status, when the homeserver answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `GET /account/whoami`.
#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmI {
    pub user_id: String,
    pub device_id: Option<String>,
}

/// `POST /login`.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub user_id: String,
    pub access_token: String,
    pub device_id: String,
}

/// The parts of a `/sync` answer the bot reads. Events stay JSON values: one odd event must
/// not make the whole batch unreadable.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SyncResponse {
    pub next_batch: String,
    #[serde(default)]
    pub rooms: SyncRooms,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SyncRooms {
    #[serde(default)]
    pub join: HashMap<String, JoinedRoom>,
    #[serde(default)]
    pub invite: HashMap<String, InvitedRoom>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JoinedRoom {
    #[serde(default)]
    pub timeline: Timeline,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Timeline {
    #[serde(default)]
    pub events: Vec<Value>,
    /// Events were left out between the previous batch and these.
    #[serde(default)]
    pub limited: bool,
    /// Where to page back from to fetch what was left out.
    #[serde(default)]
    pub prev_batch: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InvitedRoom {
    #[serde(default)]
    pub invite_state: InviteState,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InviteState {
    #[serde(default)]
    pub events: Vec<Value>,
}

/// A room event as the bot reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub sender: String,
    #[serde(default)]
    pub event_id: String,
    #[serde(default)]
    pub state_key: Option<String>,
    #[serde(default)]
    pub content: Value,
}

/// A client of one homeserver with one access token.
pub struct Api {
    http: reqwest::Client,
    base: reqwest::Url,
    token: RwLock<String>,
}

/// How long a request other than `/sync` may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Api {
    /// A client for `homeserver` (validated by the configuration).
    pub fn new(homeserver: &str) -> Result<Api, ApiError> {
        let base = reqwest::Url::parse(homeserver).map_err(|e| ApiError::Decode {
            what: "the homeserver URL",
            detail: e.to_string(),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("opsnlu-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Network)?;
        Ok(Api {
            http,
            base,
            token: RwLock::new(String::new()),
        })
    }

    pub fn set_token(&self, token: &str) {
        let mut t = self.token.write().unwrap_or_else(|p| p.into_inner());
        *t = token.to_string();
    }

    fn token(&self) -> String {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `base` + the path segments (each percent-encoded).
    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn client(&self, segments: &[&str]) -> reqwest::Url {
        let mut all = vec!["_matrix", "client", "v3"];
        all.extend_from_slice(segments);
        self.url(&all)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let resp = req.send().await.map_err(ApiError::Network)?;
        let status = resp.status();
        let header_retry = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(ApiError::Network)?;
        if !status.is_success() {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            return Err(ApiError::Http {
                status: status.as_u16(),
                errcode: v["errcode"].as_str().unwrap_or_default().to_string(),
                message: v["error"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
                retry_after: v["retry_after_ms"]
                    .as_u64()
                    .map(Duration::from_millis)
                    .or(header_retry),
                soft_logout: v["soft_logout"].as_bool().unwrap_or(false),
            });
        }
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            what,
            detail: e.to_string(),
        })
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(self.token())
    }

    pub async fn whoami(&self) -> Result<WhoAmI, ApiError> {
        let req = self
            .http
            .get(self.client(&["account", "whoami"]))
            .timeout(REQUEST_TIMEOUT);
        self.call("whoami", self.authed(req)).await
    }

    /// Password login; reuses `device_id` when given (no new session per start).
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        device_id: Option<&str>,
        device_name: &str,
    ) -> Result<Login, ApiError> {
        let mut body = json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": device_name,
        });
        if let Some(d) = device_id {
            body["device_id"] = json!(d);
        }
        let req = self
            .http
            .post(self.client(&["login"]))
            .timeout(REQUEST_TIMEOUT)
            .json(&body);
        self.call("login", req).await
    }

    pub async fn set_device_name(&self, device_id: &str, name: &str) -> Result<(), ApiError> {
        let req = self
            .http
            .put(self.client(&["devices", device_id]))
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({ "display_name": name }));
        self.call::<Value>("set the device name", self.authed(req))
            .await
            .map(|_| ())
    }

    /// Joins a room by id or alias; returns the room id.
    pub async fn join(&self, room: &str) -> Result<String, ApiError> {
        let req = self
            .http
            .post(self.client(&["join", room]))
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({}));
        let v: Value = self.call("join", self.authed(req)).await?;
        v["room_id"]
            .as_str()
            .map(str::to_string)
            .ok_or(ApiError::Decode {
                what: "join",
                detail: "no room_id".into(),
            })
    }

    /// A user's display name (None when unset).
    pub async fn display_name(&self, user: &str) -> Result<Option<String>, ApiError> {
        let req = self
            .http
            .get(self.client(&["profile", user, "displayname"]))
            .timeout(REQUEST_TIMEOUT);
        match self.call::<Value>("displayname", self.authed(req)).await {
            Ok(v) => Ok(v["displayname"].as_str().map(str::to_string)),
            Err(ApiError::Http { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a room's messages going back from `from` towards `to` (newest first),
    /// and the token of the next page (None at the end).
    pub async fn messages_back(
        &self,
        room: &str,
        from: &str,
        to: &str,
        filter: &str,
        limit: u32,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let mut url = self.client(&["rooms", room, "messages"]);
        url.query_pairs_mut()
            .append_pair("dir", "b")
            .append_pair("from", from)
            .append_pair("to", to)
            .append_pair("limit", &limit.to_string())
            .append_pair("filter", filter);
        let req = self.http.get(url).timeout(REQUEST_TIMEOUT);
        let v: Value = self.call("messages", self.authed(req)).await?;
        let chunk = v["chunk"].as_array().cloned().unwrap_or_default();
        Ok((chunk, v["end"].as_str().map(str::to_string)))
    }

    /// The rooms the account is in.
    pub async fn joined_rooms(&self) -> Result<Vec<String>, ApiError> {
        let req = self
            .http
            .get(self.client(&["joined_rooms"]))
            .timeout(REQUEST_TIMEOUT);
        let v: Value = self.call("joined_rooms", self.authed(req)).await?;
        Ok(v["joined_rooms"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// One `/sync` long poll of at most `timeout`.
    pub async fn sync(
        &self,
        since: Option<&str>,
        filter: &str,
        timeout: Duration,
    ) -> Result<SyncResponse, ApiError> {
        let mut url = self.client(&["sync"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("filter", filter);
            q.append_pair("timeout", &timeout.as_millis().to_string());
            if let Some(s) = since {
                q.append_pair("since", s);
            }
        }
        let req = self
            .http
            .get(url)
            .timeout(timeout + Duration::from_secs(30));
        self.call("sync", self.authed(req)).await
    }

    /// Sends a room message with transaction id `txn` (the same id on a retry: the
    /// homeserver then returns the first event instead of posting twice).
    pub async fn send_message(
        &self,
        room: &str,
        txn: &str,
        content: &Value,
    ) -> Result<String, ApiError> {
        let req = self
            .http
            .put(self.client(&["rooms", room, "send", "m.room.message", txn]))
            .timeout(REQUEST_TIMEOUT)
            .json(content);
        let v: Value = self.call("send", self.authed(req)).await?;
        v["event_id"]
            .as_str()
            .map(str::to_string)
            .ok_or(ApiError::Decode {
                what: "send",
                detail: "no event_id".into(),
            })
    }

    /// Uploads a file to the media repository; returns its `mxc://` URI.
    pub async fn upload(
        &self,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, ApiError> {
        let mut url = self.url(&["_matrix", "media", "v3", "upload"]);
        url.query_pairs_mut().append_pair("filename", file_name);
        let req = self
            .http
            .post(url)
            .timeout(REQUEST_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        let v: Value = self.call("upload", self.authed(req)).await?;
        v["content_uri"]
            .as_str()
            .map(str::to_string)
            .ok_or(ApiError::Decode {
                what: "upload",
                detail: "no content_uri".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::matrix::retry::{retry, RetryPolicy};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn paths_are_percent_encoded() {
        let api = Api::new("https://m.example.org/base/").unwrap();
        let u = api.client(&["rooms", "!abc:example.org", "send", "m.room.message", "1.2"]);
        assert_eq!(
            u.as_str(),
            "https://m.example.org/base/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/1.2"
        );
        let u = api.client(&["join", "#ops/x:example.org"]);
        assert!(u.as_str().ends_with("/join/%23ops%2Fx:example.org"), "{u}");
    }

    /// A homeserver that answers each request with the next canned response.
    async fn fake_server(
        responses: Vec<(u16, &'static str)>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for (status, body) in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                // read the head and the declared body
                loop {
                    let n = sock.read(&mut buf).await.unwrap();
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len || n == 0 {
                            break;
                        }
                    }
                }
                seen.push(
                    String::from_utf8_lossy(&got)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                );
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.ok();
            }
            seen
        });
        (format!("http://{addr}"), task)
    }

    #[tokio::test]
    async fn rate_limited_and_failing_sends_are_retried_with_the_same_transaction() {
        let (url, server) = fake_server(vec![
            (429, r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":300}"#),
            (502, "bad gateway"),
            (200, r#"{"event_id":"$ev1"}"#),
        ])
        .await;
        let api = Api::new(&url).unwrap();
        api.set_token("t");
        let started = std::time::Instant::now();
        let content = json!({"msgtype": "m.notice", "body": "hi"});
        let id = retry("send", RetryPolicy::SEND, || {
            api.send_message("!r:x", "7.1", &content)
        })
        .await
        .unwrap();
        assert_eq!(id, "$ev1");
        // the 300 ms the homeserver asked for were honoured
        assert!(started.elapsed() >= Duration::from_millis(300));
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter().all(
                |l| l.starts_with("PUT /_matrix/client/v3/rooms/!r:x/send/m.room.message/7.1 ")
            ),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let (url, server) = fake_server(vec![(
            403,
            r#"{"errcode":"M_FORBIDDEN","error":"User not in room"}"#,
        )])
        .await;
        let api = Api::new(&url).unwrap();
        let content = json!({});
        let e = retry("send", RetryPolicy::SEND, || {
            api.send_message("!r:x", "1", &content)
        })
        .await
        .unwrap_err();
        assert_eq!(e.status(), Some(403));
        assert!(e.to_string().contains("M_FORBIDDEN"), "{e}");
        assert_eq!(server.await.unwrap().len(), 1);
    }
}
