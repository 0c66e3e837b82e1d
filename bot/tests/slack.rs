//! The Slack adapter end to end: the real `bot slack` binary on a free loopback port, driven
//! with requests signed here (HMAC-SHA256 computed with hmac/sha2), posting its replies to a
//! local Web API mock (axum) that records every call, and uploading its charts to it (the
//! mock serves `files.getUploadURLExternal` with upload URLs on itself, takes the bytes, and
//! `files.completeUploadExternal`).

mod common;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use common::fixtures::{
    self, bot_section, deploy_app, job, API_AND_ENVIRONMENTS, BACKUP_DATABASE, HOSTS, QUICK_SH,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "test-signing-secret-8f742231b10e";
const TOKEN: &str = "xoxb-test-token-1234";
const ALICE: &str = "U024BE7LH";
const BOB: &str = "U0BOB0001";
const BOT_USER: &str = "U0BOT0001";

// ---- the Web API mock ----

#[derive(Debug, Clone)]
struct Call {
    method: String,
    auth: Option<String>,
    body: Value,
    status: u16,
    /// The `ts` given to a posted message.
    ts: Option<String>,
    at: Instant,
}

impl Call {
    fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or("")
    }
}

#[derive(Default)]
struct MockState {
    /// The mock's own address (the upload URLs point at it).
    addr: std::sync::OnceLock<SocketAddr>,
    calls: Mutex<Vec<Call>>,
    /// The bytes POSTed to each upload URL, by file id.
    uploads: Mutex<Vec<(String, Vec<u8>)>>,
    next_file: AtomicU64,
    /// chat.postMessage calls still to answer with 429.
    rate_limited: AtomicUsize,
    /// Delay before answering chat.postMessage (a slow Slack).
    delay_ms: AtomicU64,
    next_ts: AtomicU64,
}

struct Mock {
    addr: SocketAddr,
    state: Arc<MockState>,
    /// How many posts `wait_post` has gone past.
    consumed: std::sync::atomic::AtomicUsize,
}

async fn api(
    State(st): State<Arc<MockState>>,
    UrlPath(method): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let form = headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    let body: Value = if form {
        // form-encoded arguments (the files.* methods), recorded as a JSON object
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map(|args| {
                Value::Object(
                    args.into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )
            })
            .unwrap_or(Value::Null)
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let mut call = Call {
        method: method.clone(),
        auth: auth.clone(),
        body: body.clone(),
        status: 200,
        ts: None,
        at: Instant::now(),
    };
    let ok = |v: Value| {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response()
    };
    if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        st.calls.lock().unwrap().push(call);
        return ok(json!({"ok": false, "error": "invalid_auth"}));
    }
    let answer = match method.as_str() {
        "auth.test" => json!({"ok": true, "user_id": BOT_USER, "bot_id": "B0BOT"}),
        "chat.postMessage" => {
            let delay = st.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let limited = st
                .rate_limited
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if limited {
                call.status = 429;
                st.calls.lock().unwrap().push(call);
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "").into_response();
            }
            let n = st.next_ts.fetch_add(1, Ordering::SeqCst);
            let ts = format!("1800000000.{:06}", n + 1);
            call.ts = Some(ts.clone());
            json!({"ok": true, "channel": body["channel"], "ts": ts})
        }
        "chat.update" => json!({"ok": true, "channel": body["channel"], "ts": body["ts"]}),
        "files.getUploadURLExternal" => {
            let n = st.next_file.fetch_add(1, Ordering::SeqCst);
            let id = format!("F0FILE{:04}", n + 1);
            let addr = st.addr.get().copied();
            match (addr, body["filename"].as_str(), body["length"].as_str()) {
                (Some(addr), Some(_), Some(_)) => json!({
                    "ok": true,
                    "upload_url": format!("http://{addr}/upload/{id}?sig=mock"),
                    "file_id": id,
                }),
                _ => json!({"ok": false, "error": "invalid_arguments"}),
            }
        }
        "files.completeUploadExternal" => {
            let files: Value = body["files"]
                .as_str()
                .and_then(|f| serde_json::from_str(f).ok())
                .unwrap_or(Value::Null);
            let id = files[0]["id"].as_str().unwrap_or_default();
            let uploaded = st.uploads.lock().unwrap().iter().any(|(f, _)| f == id);
            if uploaded {
                json!({"ok": true, "files": [{"id": id, "title": files[0]["title"]}]})
            } else {
                json!({"ok": false, "error": "file_not_found"})
            }
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    st.calls.lock().unwrap().push(call);
    ok(answer)
}

/// An upload URL: takes the bytes (no token needed), recorded as the call `(upload)`.
async fn upload(
    State(st): State<Arc<MockState>>,
    UrlPath(file_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    st.calls.lock().unwrap().push(Call {
        method: "(upload)".into(),
        auth: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: json!({"file_id": file_id, "length": body.len()}),
        status: 200,
        ts: None,
        at: Instant::now(),
    });
    let n = body.len();
    st.uploads.lock().unwrap().push((file_id, body.to_vec()));
    (StatusCode::OK, format!("OK - {n}")).into_response()
}

impl Mock {
    /// Serves on its own thread and runtime, so that the tests may block.
    fn start() -> Mock {
        let state = Arc::new(MockState::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                st.addr.set(addr).unwrap();
                tx.send(addr).unwrap();
                let app = Router::new()
                    .route("/api/{method}", post(api))
                    .route("/upload/{file_id}", post(upload))
                    .with_state(st);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Mock {
            addr: rx.recv().unwrap(),
            state,
            consumed: Default::default(),
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The successful chat.postMessage calls.
    fn posts(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "chat.postMessage" && c.status == 200)
            .collect()
    }

    /// The bytes uploaded for a file id.
    fn uploaded(&self, file_id: &str) -> Option<Vec<u8>> {
        self.state
            .uploads
            .lock()
            .unwrap()
            .iter()
            .find(|(f, _)| f == file_id)
            .map(|(_, b)| b.clone())
    }

    fn dump(&self) -> String {
        self.calls()
            .iter()
            .map(|c| format!("{} {} {}", c.method, c.status, c.body))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for a call matching `pred`.
    fn wait_for(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(c) = self
                .calls()
                .into_iter()
                .find(|c| c.status == 200 && pred(c))
            {
                return c;
            }
            if Instant::now() > deadline {
                panic!("no {what} within 30 s; calls:\n{}", self.dump());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits for the next posted message, which must contain `needle`: a post before it,
    /// after the last one waited for, fails the test.
    #[track_caller]
    fn wait_post(&self, needle: &str) -> Call {
        use std::sync::atomic::Ordering;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let posts = self.posts();
            let start = self.consumed.load(Ordering::SeqCst);
            if let Some(c) = posts.get(start) {
                if c.text().contains(needle) {
                    self.consumed.store(start + 1, Ordering::SeqCst);
                    return c.clone();
                }
                panic!(
                    "unexpected post {:?} while waiting for one containing {needle:?}; calls:\n{}",
                    c.text(),
                    self.dump()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "no post containing {needle:?} within 30 s; calls:\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn count_posts(&self, needle: &str) -> usize {
        self.posts()
            .iter()
            .filter(|c| c.text().contains(needle))
            .count()
    }
}

// ---- signed requests ----

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("v0={hex}")
}

struct Reply {
    status: u16,
    body: String,
    took: Duration,
}

struct Client {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

#[derive(Clone)]
struct Req {
    path: &'static str,
    content_type: &'static str,
    body: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn event(v: &Value) -> Req {
        Req {
            path: "/slack/events",
            content_type: "application/json",
            body: v.to_string(),
            headers: Vec::new(),
        }
    }

    fn command(user: &str, channel: &str, text: &str) -> Req {
        let body = serde_urlencoded::to_string([
            ("token", "legacy-verification-token"),
            ("team_id", "T1"),
            ("channel_id", channel),
            ("channel_name", "ops"),
            ("user_id", user),
            ("user_name", "someone"),
            ("command", "/ops"),
            ("text", text),
            ("response_url", "https://hooks.slack.com/commands/T1/1/x"),
            ("trigger_id", "1.2.3"),
        ])
        .unwrap();
        Req {
            path: "/slack/commands",
            content_type: "application/x-www-form-urlencoded",
            body,
            headers: Vec::new(),
        }
    }

    fn interaction(payload: &Value) -> Req {
        Req {
            path: "/slack/interactions",
            content_type: "application/x-www-form-urlencoded",
            body: serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap(),
            headers: Vec::new(),
        }
    }

    /// Signed with `secret` at `ts`.
    fn signed_as(mut self, secret: &str, ts: i64) -> Req {
        let sig = sign(secret, ts, &self.body);
        self.headers
            .push(("X-Slack-Request-Timestamp".into(), ts.to_string()));
        self.headers.push(("X-Slack-Signature".into(), sig));
        self
    }

    fn signed(self) -> Req {
        self.signed_as(SECRET, now())
    }

    fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }
}

impl Client {
    fn new(addr: &str) -> Client {
        Client {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    async fn send_async(http: reqwest::Client, base: String, r: Req) -> Reply {
        let mut b = http
            .post(format!("{base}{}", r.path))
            .header("content-type", r.content_type)
            .body(r.body);
        for (k, v) in r.headers {
            b = b.header(k, v);
        }
        let start = Instant::now();
        let resp = b.send().await.unwrap();
        let took = start.elapsed();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        Reply { status, body, took }
    }

    fn send(&self, r: Req) -> Reply {
        self.rt
            .block_on(Self::send_async(self.http.clone(), self.base.clone(), r))
    }

    /// Sends all at once; the replies in the same order.
    fn send_all(&self, reqs: Vec<Req>) -> Vec<Reply> {
        self.rt.block_on(async {
            let handles: Vec<_> = reqs
                .into_iter()
                .map(|r| tokio::spawn(Self::send_async(self.http.clone(), self.base.clone(), r)))
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap());
            }
            out
        })
    }
}

fn envelope(event_id: &str, event: Value) -> Value {
    json!({
        "token": "legacy-verification-token",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "authorizations": [{"enterprise_id": null, "team_id": "T1", "user_id": BOT_USER, "is_bot": true}],
        "event": event,
    })
}

fn mention(event_id: &str, user: &str, channel: &str, ts: &str, text: &str) -> Value {
    envelope(
        event_id,
        json!({"type": "app_mention", "user": user, "channel": channel, "text": format!("<@{BOT_USER}> {text}"), "ts": ts, "event_ts": ts}),
    )
}

/// A click on a button of a posted message (as Slack sends it).
fn click(user: &str, post: &Call, thread: &str, value: &str) -> Value {
    let blocks = post.body["blocks"].clone();
    let label = blocks
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .find(|e| e["value"] == value)
        .unwrap_or_else(|| panic!("no button {value} in {blocks}"))["text"]["text"]
        .clone();
    let ts = post.ts.clone().unwrap();
    let channel = post.body["channel"].clone();
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": "1.2.3",
        "team": {"id": "T1"},
        "channel": {"id": channel, "name": "ops"},
        "message": {"type": "message", "user": BOT_USER, "ts": ts, "thread_ts": thread, "text": post.body["text"], "blocks": blocks},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"type": "button", "action_id": "opsbot-answer-0", "block_id": "opsbot-buttons-0", "value": value, "text": {"type": "plain_text", "text": label}, "action_ts": "1800000001.0"}],
    })
}

fn buttons_of(post: &Call) -> Vec<(String, String, String)> {
    post.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["text"]["text"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
                e["style"].as_str().unwrap_or("default").to_string(),
            )
        })
        .collect()
}

// ---- the bot ----

const SCRIPTS: &[(&str, &str)] = &[
    QUICK_SH,
    ("touch.sh", "#!/bin/sh\necho touched > \"$MARKER\"\n"),
];

fn config(api_base: &str) -> String {
    let touch_marker = r#"
[[jobs]]
id = "touch-marker"
description = "Writes a marker file"
  [jobs.run]
  argv = ["scripts/touch.sh"]
  env = { MARKER = "marker-{execution_id}" }
"#;
    let access = format!(
        r##"
[access]
default_role = "viewer"
contact = "#ops-admins"
  [access.roles]
  viewer = ["status", "list", "history"]
  operator = ["run:*", "deploy:*", "env:*", "cancel", "status", "list", "history"]
  approver = ["status", "list", "history"]
  [[access.users]]
  name = "alice"
  chat = ["slack:{ALICE}"]
  roles = ["operator"]
  [[access.users]]
  name = "bob"
  chat = ["slack:{BOB}"]
  roles = ["approver"]
  [[access.users]]
  name = "carol"
  chat = ["slack:U0USER002", "slack:U0USER003", "slack:U0USER004"]
  roles = ["operator"]

[[approvals]]
environments = ["production"]
role = "approver"
timeout = "30m"
"##
    );
    fixtures::config(&[
        &bot_section("dialog_timeout = \"5m\""),
        &format!("\n[adapters.slack]\napi_base = \"{api_base}\"\n"),
        HOSTS,
        API_AND_ENVIRONMENTS,
        &job(
            BACKUP_DATABASE,
            r#"aliases = ["database backup"]"#,
            "timeout = \"20s\"\nconcurrency = 8",
        ),
        &deploy_app(),
        touch_marker,
        &access,
    ])
}

struct Harness {
    dir: tempfile::TempDir,
    mock: Mock,
    bot: common::Bot,
    client: Client,
}

impl Harness {
    fn start(mock: Mock) -> Harness {
        let dir = fixtures::bot_folder(&config(&format!("http://{}/api", mock.addr)), SCRIPTS);
        let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
        cmd.arg("slack")
            .arg("--config")
            .arg(dir.path().join("bot.toml"))
            .args(["--listen", "127.0.0.1:0"])
            .env("BOT_SLACK_TOKEN", TOKEN)
            .env("BOT_SLACK_SIGNING_SECRET", SECRET)
            .env("BOT_LOG", "debug")
            .stderr(log);
        let mut bot = common::Bot::spawn(cmd);
        let line = bot.expect_within("serving Slack on http://", Duration::from_secs(90));
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap()
            .to_string();
        Harness {
            dir,
            mock,
            bot,
            client: Client::new(&addr),
        }
    }

    fn send(&self, r: Req) -> Reply {
        self.client.send(r)
    }

    /// SIGTERM; the bot must exit cleanly, and its log must not hold the secrets.
    fn stop(mut self) {
        let pid = self.bot.child.id() as i32;
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.bot.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the bot did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap();
        assert!(status.success(), "{status:?}; log:\n{log}");
        assert!(
            !log.contains(TOKEN) && !log.contains(SECRET),
            "a secret in the log:\n{log}"
        );
    }
}

// ---- the tests ----

#[test]
fn requests_without_a_valid_signature_are_refused_and_nothing_runs() {
    let h = Harness::start(Mock::start());
    let ev = mention(
        "Ev0SEC1",
        ALICE,
        "C1",
        "1700000000.000100",
        "!run touch-marker",
    );
    let refused = [
        ("unsigned", Req::event(&ev)),
        (
            "no timestamp",
            Req::event(&ev).header("X-Slack-Signature", &sign(SECRET, now(), &ev.to_string())),
        ),
        (
            "wrong secret",
            Req::event(&ev).signed_as("not-the-secret", now()),
        ),
        (
            "replayed (10 minutes old)",
            Req::event(&ev).signed_as(SECRET, now() - 600),
        ),
        (
            "from the future",
            Req::event(&ev).signed_as(SECRET, now() + 600),
        ),
        (
            "malformed signature",
            Req::event(&ev)
                .header("X-Slack-Request-Timestamp", &now().to_string())
                .header("X-Slack-Signature", "v0=zz"),
        ),
        (
            "unsigned command",
            Req::command(ALICE, "C1", "!run touch-marker"),
        ),
        (
            "unsigned click",
            Req::interaction(
                &json!({"type": "block_actions", "user": {"id": ALICE}, "channel": {"id": "C1"}, "message": {"ts": "1.0", "text": "x"}, "actions": [{"type": "button", "value": "!run touch-marker"}]}),
            ),
        ),
    ];
    for (what, req) in refused {
        let r = h.send(req);
        assert_eq!(r.status, 401, "{what}");
        assert_eq!(r.body, "", "{what}: no details");
    }
    // a signed body altered on the way
    let mut tampered = Req::event(&ev).signed();
    tampered.body = tampered.body.replace("touch-marker", "touch-markers");
    assert_eq!(h.send(tampered).status, 401, "tampered");
    let mut tampered = Req::command(ALICE, "C1", "!jobs").signed();
    tampered.body = tampered.body.replace("jobs", "run+touch-marker");
    assert_eq!(h.send(tampered).status, 401, "tampered command");

    std::thread::sleep(Duration::from_millis(1500));
    assert!(h.mock.posts().is_empty(), "{}", h.mock.dump());
    assert!(!h.dir.path().join("marker-1001").exists());

    // the same request, signed: runs
    let r = h.send(Req::event(&ev).signed());
    assert_eq!(r.status, 200);
    h.mock.wait_post("Started touch-marker as #1001");
    h.mock.wait_post("#1001 touch-marker succeeded");
    assert!(h.dir.path().join("marker-1001").exists());
    h.stop();
}

#[test]
fn a_conversation_through_slack() {
    let h = Harness::start(Mock::start());
    // the bot asked Slack who it is, with its token
    let auth = h.mock.wait_for("auth.test", |c| c.method == "auth.test");
    assert_eq!(
        auth.auth.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // url_verification
    let r = h.send(Req::event(&json!({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})).signed());
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    // a mention runs a job: the reply and the final summary go into the command's thread
    let t1 = "1700000001.000100";
    let ev = mention("Ev01", ALICE, "C1", t1, "run backup-database on db-01");
    assert_eq!(h.send(Req::event(&ev).signed()).status, 200);
    let started = h
        .mock
        .wait_post("Started backup-database as #1001 (target=db-01).");
    assert_eq!(started.body["channel"], "C1");
    assert_eq!(started.body["thread_ts"], t1);
    assert_eq!(
        started.auth.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(started.body["blocks"][0]["type"], "section");
    assert_eq!(started.body["blocks"][0]["text"]["type"], "mrkdwn");
    assert!(started.body["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Started backup-database as #1001"));
    // Slack retries the event, and delivers the same message as a `message` event too
    let retry = Req::event(&ev)
        .signed()
        .header("X-Slack-Retry-Num", "1")
        .header("X-Slack-Retry-Reason", "http_timeout");
    assert_eq!(h.send(retry).status, 200);
    let as_message = envelope(
        "Ev01b",
        json!({"type": "message", "channel_type": "channel", "user": ALICE, "channel": "C1", "text": format!("<@{BOT_USER}> run backup-database on db-01"), "ts": t1}),
    );
    assert_eq!(h.send(Req::event(&as_message).signed()).status, 200);
    let summary = h.mock.wait_post("#1001 backup-database succeeded");
    assert_eq!(summary.body["thread_ts"], t1);
    let section = summary.body["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(section.contains("```\nstart"), "{section}");

    // a user not in [access] gets the default role (viewer): refused
    let ev = mention(
        "Ev02",
        "U0NOBODY1",
        "C1",
        "1700000002.000100",
        "!run backup-database target=db-02",
    );
    assert_eq!(h.send(Req::event(&ev).signed()).status, 200);
    let refused = h.mock.wait_post("guest:slack:U0NOBODY1");
    assert_eq!(refused.body["thread_ts"], "1700000002.000100");

    // a sensitive job: confirmed by clicking Yes
    let t3 = "1700000003.000100";
    let ev = mention(
        "Ev03",
        ALICE,
        "C1",
        t3,
        "!run deploy-app app=api environment=staging",
    );
    assert_eq!(h.send(Req::event(&ev).signed()).status, 200);
    let question = h.mock.wait_post("deploy-app is sensitive.");
    assert_eq!(question.body["thread_ts"], t3);
    assert_eq!(
        buttons_of(&question),
        [
            ("Yes".to_string(), "!yes".to_string(), "primary".to_string()),
            ("No".to_string(), "!no".to_string(), "default".to_string())
        ]
    );
    let r = h.send(Req::interaction(&click(ALICE, &question, t3, "!yes")).signed());
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    let started = h.mock.wait_post("Started deploy-app as #1002");
    assert_eq!(started.body["thread_ts"], t3);
    // the question lost its buttons and says who answered
    let update = h
        .mock
        .wait_for("chat.update", |c| c.method == "chat.update");
    assert_eq!(update.body["channel"], "C1");
    assert_eq!(update.body["ts"], question.ts.clone().unwrap());
    let blocks = update.body["blocks"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["type"] != "actions"), "{blocks:?}");
    assert_eq!(
        blocks.last().unwrap()["elements"][0]["text"],
        format!("<@{ALICE}> answered *Yes*")
    );
    h.mock.wait_post("#1002 deploy-app succeeded");
    // a second click on the same message is ignored
    let r = h.send(Req::interaction(&click(ALICE, &question, t3, "!yes")).signed());
    assert_eq!(r.status, 200);

    // production: Yes is dangerous, then an approval request with Approve/Reject buttons
    let t4 = "1700000004.000100";
    let ev = mention("Ev04", ALICE, "C1", t4, "!deploy api production");
    assert_eq!(h.send(Req::event(&ev).signed()).status, 200);
    let question = h.mock.wait_post("deploy-app is sensitive");
    assert_eq!(question.body["thread_ts"], t4);
    assert_eq!(buttons_of(&question)[0].2, "danger");
    h.send(Req::interaction(&click(ALICE, &question, t4, "!yes")).signed());
    let request = h.mock.wait_post("needs approval");
    assert_eq!(request.body["thread_ts"], t4);
    assert_eq!(
        buttons_of(&request),
        [
            (
                "Approve #1".to_string(),
                "!approve 1".to_string(),
                "danger".to_string()
            ),
            (
                "Reject".to_string(),
                "!reject 1".to_string(),
                "default".to_string()
            )
        ]
    );
    // bob clicks Approve
    h.send(Req::interaction(&click(BOB, &request, t4, "!approve 1")).signed());
    let approved = h
        .mock
        .wait_post("Approved request 1 by bob: started deploy-app as #1003");
    assert_eq!(approved.body["thread_ts"], t4);
    let summary = h.mock.wait_post("#1003 deploy-app succeeded");
    assert_eq!(summary.body["thread_ts"], t4);

    // a slash command: shown in the channel, answered in the channel's timeline
    let r = h.send(Req::command(ALICE, "C1", "!status 1001").signed());
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["response_type"], "in_channel");
    let status = h.mock.wait_for("the slash command's answer", |c| {
        c.method == "chat.postMessage"
            && c.text().contains("#1001 backup-database succeeded")
            && c.body.get("thread_ts").is_none()
    });
    assert_eq!(status.body["channel"], "C1");

    // a direct message needs no mention; chatter in a channel is not for the bot
    let dm = envelope(
        "Ev05",
        json!({"type": "message", "channel_type": "im", "user": ALICE, "channel": "D1", "text": "!jobs", "ts": "1700000005.000100"}),
    );
    assert_eq!(h.send(Req::event(&dm).signed()).status, 200);
    let jobs = h.mock.wait_for("the DM's answer", |c| {
        c.method == "chat.postMessage" && c.body["channel"] == "D1"
    });
    assert!(jobs.text().contains("touch-marker"), "{}", jobs.text());
    let chatter = envelope(
        "Ev06",
        json!({"type": "message", "channel_type": "channel", "user": ALICE, "channel": "C1", "text": "lunch anyone?", "ts": "1700000006.000100"}),
    );
    assert_eq!(h.send(Req::event(&chatter).signed()).status, 200);
    // the bot's own messages and other bots' are ignored
    let own = envelope(
        "Ev07",
        json!({"type": "message", "channel_type": "im", "user": BOT_USER, "channel": "D1", "text": "!jobs", "ts": "1700000007.000100"}),
    );
    assert_eq!(h.send(Req::event(&own).signed()).status, 200);
    let other_bot = envelope(
        "Ev08",
        json!({"type": "message", "subtype": "bot_message", "bot_id": "B9", "channel_type": "im", "channel": "D1", "text": "!jobs", "ts": "1700000008.000100"}),
    );
    assert_eq!(h.send(Req::event(&other_bot).signed()).status, 200);

    std::thread::sleep(Duration::from_millis(1500));
    // each message was handled once: one run of #1001, nothing for the duplicates
    assert_eq!(
        h.mock.count_posts("Started backup-database"),
        1,
        "{}",
        h.mock.dump()
    );
    assert_eq!(h.mock.count_posts("Started deploy-app as #1002"), 1);
    assert_eq!(
        h.mock.count_posts("nothing waiting"),
        0,
        "{}",
        h.mock.dump()
    );
    assert_eq!(h.mock.count_posts("#1004"), 0, "{}", h.mock.dump());
    let updates = h
        .mock
        .calls()
        .iter()
        .filter(|c| c.method == "chat.update")
        .count();
    assert_eq!(updates, 3, "{}", h.mock.dump());
    let to_dm = h
        .mock
        .posts()
        .iter()
        .filter(|c| c.body["channel"] == "D1")
        .count();
    assert_eq!(to_dm, 1, "{}", h.mock.dump());
    assert!(
        h.mock.posts().iter().all(
            |c| c.body.get("thread_ts").is_none() || c.body["thread_ts"] != "1700000006.000100"
        ),
        "{}",
        h.mock.dump()
    );
    h.stop();
}

#[test]
fn acks_stay_fast_while_the_bot_is_busy_and_rate_limits_are_waited_out() {
    let mock = Mock::start();
    // a slow Slack that rate-limits the first two posts
    mock.state.delay_ms.store(250, Ordering::SeqCst);
    mock.state.rate_limited.store(2, Ordering::SeqCst);
    let h = Harness::start(mock);
    let users = [ALICE, "U0USER002", "U0USER003", "U0USER004"];
    let texts = [
        "!run backup-database target=db-01",
        "run backup-database on db-02",
        "what failed today?",
        "!history backup-database",
        "show me the last 5 runs of backup-database",
    ];
    let mut burst = Vec::new();
    for i in 0..20 {
        let user = if i % 5 == 0 {
            ALICE
        } else {
            users[i % users.len()]
        };
        let ts = format!("1700001000.{:06}", i);
        let ev = mention(
            &format!("EvB{i}"),
            user,
            &format!("C{}", i % 4),
            &ts,
            texts[i % texts.len()],
        );
        burst.push(Req::event(&ev).signed());
    }
    let mut replies = h.client.send_all(burst);
    // while the bot works through that (and waits for the slow, rate-limited Web API),
    // more messages keep arriving
    let mut probes = Vec::new();
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(300));
        let ev = mention(
            &format!("EvP{i}"),
            users[i % 4],
            "C9",
            &format!("1700002000.{i:06}"),
            "!jobs",
        );
        probes.push(h.send(Req::event(&ev).signed()));
    }
    // the bot was still busy answering when the last probe was acknowledged
    let answered_by_then = h.mock.posts().len();
    replies.extend(probes);
    assert!(replies.iter().all(|r| r.status == 200));
    let mut ms: Vec<u128> = replies.iter().map(|r| r.took.as_millis()).collect();
    ms.sort_unstable();
    let (median, p90, max) = (ms[ms.len() / 2], ms[ms.len() * 9 / 10], ms[ms.len() - 1]);
    eprintln!(
        "Slack ack latency while busy over {} requests: median {median} ms, p90 {p90} ms, max {max} ms",
        ms.len()
    );
    assert!(max < 3000, "an ack took {max} ms");

    // everything is answered in the end, and the first post was retried after Retry-After
    let deadline = Instant::now() + Duration::from_secs(90);
    let probes_answered = || {
        h.mock
            .posts()
            .iter()
            .filter(|c| c.body["channel"] == "C9")
            .count()
    };
    while h.mock.count_posts("Started backup-database") < 8 || probes_answered() < 10 {
        assert!(
            Instant::now() < deadline,
            "not all answered; calls:\n{}",
            h.mock.dump()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let total = h.mock.posts().len();
    eprintln!("posts answered when the last probe was acknowledged: {answered_by_then} of {total}");
    assert!(
        answered_by_then < total / 2,
        "{answered_by_then} of {total}"
    );
    let calls = h.mock.calls();
    let posts: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .collect();
    assert_eq!(posts[0].status, 429);
    assert_eq!(posts[1].status, 429);
    let retried = posts
        .iter()
        .find(|c| c.status == 200 && c.body == posts[0].body)
        .expect("the rate-limited post was retried");
    assert!(
        retried.at.duration_since(posts[0].at) >= Duration::from_millis(900),
        "Retry-After was not waited out"
    );
    h.stop();
}

#[test]
fn charts_are_uploaded_as_png_images_in_the_thread_after_the_text() {
    let h = Harness::start(Mock::start());
    for (n, id) in [1001, 1002, 1003].into_iter().enumerate() {
        let t = format!("1700003000.{:06}", n + 1);
        let ev = mention(
            &format!("EvC{n}"),
            ALICE,
            "C1",
            &t,
            "!run backup-database target=db-01",
        );
        assert_eq!(h.send(Req::event(&ev).signed()).status, 200);
        h.mock
            .wait_post(&format!("Started backup-database as #{id}"));
        let done = h
            .mock
            .wait_post(&format!("#{id} backup-database succeeded"));
        assert_eq!(done.body["thread_ts"], t.as_str());
    }
    // the history of the job, asked in a thread
    let root = "1700003100.000100";
    let asked = "1700003100.000200";
    let ev = envelope(
        "EvC9",
        json!({"type": "app_mention", "user": ALICE, "channel": "C1", "text": format!("<@{BOT_USER}> !history backup-database"), "ts": asked, "thread_ts": root, "event_ts": asked}),
    );
    assert_eq!(h.send(Req::event(&ev).signed()).status, 200);
    let text = h.mock.wait_post("Success rate: 3/3");
    assert_eq!(text.body["channel"], "C1");
    assert_eq!(text.body["thread_ts"], root);
    let shared = h
        .mock
        .wait_for("a chart shared in the history thread", |c| {
            c.method == "files.completeUploadExternal" && c.body["thread_ts"] == root
        });
    // the text came first, then the chart's three calls, in the same channel and thread
    assert_eq!(shared.body["channel_id"], text.body["channel"]);
    assert_eq!(shared.body["thread_ts"], text.body["thread_ts"]);
    let files: Value = serde_json::from_str(shared.body["files"].as_str().unwrap()).unwrap();
    let file_id = files[0]["id"].as_str().unwrap().to_string();
    let title = files[0]["title"].as_str().unwrap();
    assert!(title.starts_with("backup-database: duration"), "{title}");
    let calls = h.mock.calls();
    let get = calls
        .iter()
        .filter(|c| c.method == "files.getUploadURLExternal" && c.at >= text.at)
        .find(|c| c.body["filename"] == "backup-database-duration.png")
        .unwrap_or_else(|| panic!("no upload URL asked for; calls:\n{}", h.mock.dump()));
    let up = calls
        .iter()
        .find(|c| c.method == "(upload)" && c.body["file_id"] == file_id.as_str())
        .unwrap();
    assert!(
        text.at <= get.at && get.at <= up.at && up.at <= shared.at,
        "not text, then upload URL, then bytes, then shared:\n{}",
        h.mock.dump()
    );
    assert_eq!(
        get.auth.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(up.auth, None, "the token went to the upload URL");
    assert!(!get.body["alt_txt"].as_str().unwrap_or("").is_empty());
    // the bytes: a PNG of the announced length, as large as the charts are drawn
    let png = h.mock.uploaded(&file_id).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(get.body["length"], png.len().to_string());
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let hgt = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(
        (w, hgt),
        (bot::render::charts::WIDTH, bot::render::charts::HEIGHT)
    );
    // every chart uploaded was shared, and each upload followed a posted text
    let gets = calls
        .iter()
        .filter(|c| c.method == "files.getUploadURLExternal")
        .count();
    let completes = calls
        .iter()
        .filter(|c| c.method == "files.completeUploadExternal" && c.status == 200)
        .count();
    assert_eq!(gets, completes, "{}", h.mock.dump());
    // the later summaries carry charts too, in their run's thread
    assert!(
        calls
            .iter()
            .any(|c| c.method == "files.completeUploadExternal"
                && c.body["thread_ts"] == "1700003000.000003"),
        "{}",
        h.mock.dump()
    );
    h.stop();
}
