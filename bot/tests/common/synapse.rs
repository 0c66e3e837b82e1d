//! A throwaway Synapse homeserver for the Matrix tests (installed from PyPI into
//! `.cache/synapse-venv` by `scripts/setup-test-env.sh`), a small client-server API client
//! for the test users, and the real `bot matrix` binary as a child process.
//!
//! Synapse listens on a free loopback port, keeps its data (SQLite) in a temporary folder,
//! has no federation and raised rate limits. Users are registered through the shared-secret
//! admin API. Processes are stopped by their PID when dropped, and get SIGTERM if the test
//! binary dies (they are spawned with `PR_SET_PDEATHSIG` from a thread that lives as long as
//! the test binary).

#![allow(dead_code)]

use super::common::fixtures::{
    self, bot_section, job, BACKUP_DATABASE, FLAKY_TASK, HOSTS, LONG_TASK, SLEEP_SH,
};
use super::common::{repo_root, spawn_guarded};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub const SHARED_SECRET: &str = "opsnlu-test-registration-secret";
pub const SERVER_NAME: &str = "localhost";
/// A fixed signing key (the server never federates; only the format matters).
const SIGNING_KEY: &str = "ed25519 a_test 48S6HMF6GqBCyXpY/4yLiHnN4XJSrkN3rjqkYX94EGw\n";

/// The Python of the Synapse virtual environment; panics with what to do when it is missing.
pub fn synapse_python() -> PathBuf {
    let py = repo_root().join(".cache/synapse-venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import synapse"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Synapse is not installed in {}: run scripts/setup-test-env.sh (it installs the pinned matrix-synapse from PyPI, about 20 s and 240 MB)",
        repo_root().join(".cache/synapse-venv").display()
    );
    py
}

// ---- processes that die with the test binary --------------------------------------------

/// SIGTERM, then SIGKILL when it has not exited within `grace`.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- the homeserver ------------------------------------------------------------------------

pub struct Synapse {
    pub port: u16,
    pub url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Synapse {
    /// A homeserver of its own (for tests that restart it).
    pub fn start() -> Synapse {
        let python = synapse_python();
        let dir = tempfile::Builder::new()
            .prefix("synapse-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let mut s = Synapse {
            port,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            child: None,
        };
        s.write_config();
        s.launch(&python);
        s
    }

    /// The homeserver shared by the tests of one test binary: started by the first test that
    /// asks, stopped when the last one holding it ends.
    pub fn shared() -> Arc<Synapse> {
        static SHARED: Mutex<Weak<Synapse>> = Mutex::new(Weak::new());
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.upgrade() {
            return s;
        }
        let s = Arc::new(Synapse::start());
        *slot = Arc::downgrade(&s);
        s
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn write_config(&self) {
        let d = self.dir.path().display();
        let limit = "{per_second: 1000, burst_count: 1000}";
        let config = format!(
            r#"server_name: "{SERVER_NAME}"
pid_file: {d}/homeserver.pid
public_baseurl: "{url}/"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {d}/homeserver.db
log_config: {d}/log.yaml
media_store_path: {d}/media
signing_key_path: {d}/signing.key
registration_shared_secret: "{SHARED_SECRET}"
macaroon_secret_key: "opsnlu-test-macaroon"
form_secret: "opsnlu-test-form"
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence:
  enabled: false
bcrypt_rounds: 4
rc_message: {limit}
rc_registration: {limit}
rc_login:
  address: {limit}
  account: {limit}
  failed_attempts: {limit}
rc_joins:
  local: {limit}
  remote: {limit}
rc_joins_per_room: {limit}
rc_invites:
  per_room: {limit}
  per_user: {limit}
  per_issuer: {limit}
rc_3pid_validation: {limit}
rc_admin_redaction: {limit}
rc_media_create: {limit}
"#,
            url = self.url,
            port = self.port
        );
        std::fs::write(self.dir.path().join("homeserver.yaml"), config).unwrap();
        std::fs::write(
            self.dir.path().join("log.yaml"),
            format!(
                "version: 1\nformatters:\n  precise:\n    format: '%(asctime)s - %(name)s - %(levelname)s - %(message)s'\nhandlers:\n  file:\n    class: logging.FileHandler\n    formatter: precise\n    filename: {d}/homeserver.log\nroot:\n  level: WARNING\n  handlers: [file]\ndisable_existing_loggers: false\n"
            ),
        )
        .unwrap();
        std::fs::write(self.dir.path().join("signing.key"), SIGNING_KEY).unwrap();
    }

    fn launch(&mut self, python: &Path) {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stdout.log"))
            .unwrap();
        let mut cmd = Command::new(python);
        cmd.args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.path().join("homeserver.yaml"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let started = Instant::now();
        self.child = Some(spawn_guarded(cmd).expect("cannot spawn the process"));
        let deadline = started + Duration::from_secs(90);
        loop {
            if health(self.port) {
                eprintln!(
                    "synapse on port {} ready after {:.1}s",
                    self.port,
                    started.elapsed().as_secs_f64()
                );
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "Synapse exited ({status}) before it was ready:\n{}\n{}",
                    self.log_tail("stdout.log"),
                    self.log_tail("homeserver.log")
                );
            }
            assert!(
                Instant::now() < deadline,
                "Synapse was not ready within 90 s:\n{}",
                self.log_tail("homeserver.log")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_tail(&self, file: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Stops the homeserver (SIGTERM by its PID).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::from_secs(15));
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart_after(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        self.launch(&synapse_python());
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `GET /health` answers 200 (a raw request: no runtime needed).
fn health(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200")
}

// ---- test users ------------------------------------------------------------------------------

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique name for a user or room in a shared homeserver.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// A room event seen by a test user.
#[derive(Debug, Clone)]
pub struct Event {
    pub room: String,
    pub v: Value,
    /// When the test's sync received it.
    pub seen_at: Instant,
}

impl Event {
    pub fn id(&self) -> &str {
        self.v["event_id"].as_str().unwrap_or_default()
    }
    pub fn sender(&self) -> &str {
        self.v["sender"].as_str().unwrap_or_default()
    }
    pub fn kind(&self) -> &str {
        self.v["type"].as_str().unwrap_or_default()
    }
    pub fn body(&self) -> &str {
        self.v["content"]["body"].as_str().unwrap_or_default()
    }
    pub fn msgtype(&self) -> &str {
        self.v["content"]["msgtype"].as_str().unwrap_or_default()
    }
    pub fn ts(&self) -> i64 {
        self.v["origin_server_ts"].as_i64().unwrap_or_default()
    }
    /// The thread root of an event posted in a thread.
    pub fn thread(&self) -> Option<&str> {
        let r = &self.v["content"]["m.relates_to"];
        (r["rel_type"] == "m.thread").then(|| r["event_id"].as_str().unwrap_or_default())
    }
}

/// A registered user with an HTTP client and its own sync position.
pub struct User {
    pub user_id: String,
    pub token: String,
    pub password: String,
    base: String,
    http: reqwest::Client,
    since: Option<String>,
    /// Every room message (and member event) this user's syncs returned, in order.
    pub events: Vec<Event>,
    /// Per thread root: how many of the bot's messages in it [`User::expect_in_thread`] has
    /// gone past.
    consumed: std::collections::HashMap<String, usize>,
    /// Fragments of bot messages a test does not care about (see [`User::tolerate`]).
    tolerated: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn check(resp: reqwest::Response, what: &str) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{what}: {status} {body}");
    body
}

impl User {
    /// Registers `name` through the shared-secret admin API.
    pub async fn register(hs: &Synapse, name: &str) -> User {
        let http = client();
        let url = format!("{}/_synapse/admin/v1/register", hs.url);
        let nonce = check(http.get(&url).send().await.unwrap(), "register nonce").await["nonce"]
            .as_str()
            .unwrap()
            .to_string();
        let password = format!("pw-{name}");
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SHARED_SECRET.as_bytes()).unwrap();
        mac.update(format!("{nonce}\0{name}\0{password}\0notadmin").as_bytes());
        let body = json!({
            "nonce": nonce,
            "username": name,
            "password": password,
            "admin": false,
            "mac": hex(&mac.finalize().into_bytes()),
        });
        let v = check(
            http.post(&url).json(&body).send().await.unwrap(),
            "register",
        )
        .await;
        User {
            user_id: v["user_id"].as_str().unwrap().to_string(),
            token: v["access_token"].as_str().unwrap().to_string(),
            password,
            base: hs.url.clone(),
            http,
            since: None,
            events: Vec::new(),
            consumed: Default::default(),
            tolerated: Vec::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_matrix/client/v3/{path}", self.base)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        check(r, path).await
    }

    /// Creates a room and invites `invite`; returns its id.
    pub async fn create_room(&self, invite: &[&str]) -> String {
        let v = self
            .post(
                "createRoom",
                json!({"preset": "public_chat", "invite": invite, "name": unique("room")}),
            )
            .await;
        v["room_id"].as_str().unwrap().to_string()
    }

    pub async fn invite(&self, room: &str, user: &str) {
        self.post(&format!("rooms/{room}/invite"), json!({"user_id": user}))
            .await;
    }

    pub async fn join(&self, room: &str) {
        self.post(&format!("join/{room}"), json!({})).await;
    }

    pub async fn joined_members(&self, room: &str) -> Vec<String> {
        let r = self
            .http
            .get(self.url(&format!("rooms/{room}/joined_members")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let v = check(r, "joined_members").await;
        v["joined"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends a text message (optionally in a thread); returns the event id.
    pub async fn send(&self, room: &str, body: &str, thread: Option<&str>) -> String {
        let mut content = json!({"msgtype": "m.text", "body": body});
        if let Some(t) = thread {
            content["m.relates_to"] = json!({"rel_type": "m.thread", "event_id": t,
                "is_falling_back": true, "m.in_reply_to": {"event_id": t}});
        }
        let txn = unique("txn");
        let r = self
            .http
            .put(self.url(&format!("rooms/{room}/send/m.room.message/{txn}")))
            .bearer_auth(&self.token)
            .json(&content)
            .send()
            .await
            .unwrap();
        check(r, "send").await["event_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// One sync (long poll up to `timeout`); new room messages are added to `events`.
    pub async fn sync(&mut self, timeout: Duration) -> usize {
        let filter = json!({"room": {"timeline": {"types": ["m.room.message"], "limit": 500},
            "state": {"types": []}, "ephemeral": {"types": []}}, "presence": {"types": []}})
        .to_string();
        let mut q = vec![
            ("filter", filter),
            ("timeout", timeout.as_millis().to_string()),
        ];
        if let Some(s) = &self.since {
            q.push(("since", s.clone()));
        }
        let r = self
            .http
            .get(self.url("sync"))
            .bearer_auth(&self.token)
            .query(&q)
            .send()
            .await
            .unwrap();
        let v = check(r, "sync").await;
        let now = Instant::now();
        let mut n = 0;
        if let Some(rooms) = v["rooms"]["join"].as_object() {
            for (room, r) in rooms {
                for ev in r["timeline"]["events"].as_array().into_iter().flatten() {
                    self.events.push(Event {
                        room: room.clone(),
                        v: ev.clone(),
                        seen_at: now,
                    });
                    n += 1;
                }
            }
        }
        self.since = v["next_batch"].as_str().map(str::to_string);
        n
    }

    /// Syncs until an event matches `pred`; returns it (panics with what was seen after `within`).
    pub async fn wait_for(
        &mut self,
        within: Duration,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.events.iter().find(|e| pred(e)) {
                return e.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: no event {what} within {within:?}; seen:\n{}",
                self.user_id,
                self.transcript()
            );
            self.sync(left.min(Duration::from_secs(5))).await;
        }
    }

    /// The bot's events in the thread under `root`, oldest first.
    pub fn thread_events(&self, bot: &str, root: &str) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| e.sender() == bot && e.thread() == Some(root))
            .cloned()
            .collect()
    }

    /// Waits for the next message of `bot` in the thread under `root`, which must contain
    /// `needle`: a message of the bot's in that thread before it, after the last one expected,
    /// fails the test unless it contains a fragment given to [`User::tolerate`].
    pub async fn expect_in_thread(&mut self, bot: &str, root: &str, needle: &str) -> Event {
        let within = Duration::from_secs(60);
        let deadline = Instant::now() + within;
        loop {
            let thread = self.thread_events(bot, root);
            let start = self.consumed.get(root).copied().unwrap_or(0);
            for (i, e) in thread.iter().enumerate().skip(start) {
                if e.body().contains(needle) {
                    self.consumed.insert(root.to_string(), i + 1);
                    return e.clone();
                }
                if !self.tolerated.iter().any(|t| e.body().contains(t.as_str())) {
                    panic!(
                        "{}: unexpected message {:?} in thread {root} while waiting for {needle:?}; \
                         expect it, or tolerate it if it does not matter; seen:\n{}",
                        self.user_id,
                        e.body(),
                        self.transcript()
                    );
                }
            }
            self.consumed.insert(root.to_string(), thread.len());
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: no message of {bot} in thread {root} containing {needle:?} within {within:?}; seen:\n{}",
                self.user_id,
                self.transcript()
            );
            self.sync(left.min(Duration::from_secs(5))).await;
        }
    }

    /// From now on, the bot's messages containing `fragment` may come between the expected
    /// ones (pushed progress, say, whose timing the test does not control).
    pub fn tolerate(&mut self, fragment: &str) {
        self.tolerated.push(fragment.to_string());
    }

    pub fn transcript(&self) -> String {
        self.events
            .iter()
            .map(|e| {
                format!(
                    "  [{}] {} {}{}: {}",
                    e.id(),
                    e.sender(),
                    e.msgtype(),
                    e.thread()
                        .map(|t| format!(" (thread {t})"))
                        .unwrap_or_default(),
                    e.body().replace('\n', " / ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The ids of this account's devices (sessions).
    pub async fn devices(&self) -> Vec<String> {
        let r = self
            .http
            .get(self.url("devices"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let v = check(r, "devices").await;
        v["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["device_id"].as_str().map(str::to_string))
            .collect()
    }

    /// Downloads an `mxc://` URI (authenticated media).
    pub async fn download(&self, mxc: &str) -> Vec<u8> {
        let rest = mxc.strip_prefix("mxc://").expect("an mxc URI");
        let r = self
            .http
            .get(format!(
                "{}/_matrix/client/v1/media/download/{rest}",
                self.base
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "download {mxc}: {}", r.status());
        r.bytes().await.unwrap().to_vec()
    }
}

// ---- the bot -----------------------------------------------------------------------------------

/// `bot matrix` as a child process, with its stdout lines and its log file.
pub struct BotProcess {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub dir: PathBuf,
}

impl BotProcess {
    /// Starts `bot matrix --config DIR/bot.toml --log DIR/bot.log` with the token in
    /// `BOT_MATRIX_TOKEN`; waits until it serves.
    pub fn start(dir: &Path, token: &str) -> BotProcess {
        Self::start_with(dir, &[("BOT_MATRIX_TOKEN", token)])
    }

    /// Starts it with these environment variables (credentials) and waits until it serves.
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> BotProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
        cmd.env_remove("BOT_MATRIX_TOKEN")
            .env_remove("BOT_MATRIX_PASSWORD")
            .envs(env.iter().copied());
        cmd.arg("matrix")
            .arg("--config")
            .arg(dir.join("bot.toml"))
            .arg("--log")
            .arg(dir.join("bot.log"))
            .env(
                "BOT_LOG",
                std::env::var("BOT_LOG").unwrap_or_else(|_| "info".into()),
            )
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_guarded(cmd).expect("cannot spawn the process");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx); // the output ends when the bot exits
        let mut bot = BotProcess {
            child,
            lines,
            dir: dir.to_path_buf(),
        };
        bot.expect_line("bot: serving Matrix as", Duration::from_secs(90));
        bot
    }

    pub fn expect_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(l) => seen.push(l),
                Err(_) => panic!(
                    "the bot did not print {needle:?} within {within:?}; output:\n{}\nlog:\n{}",
                    seen.join("\n"),
                    self.log()
                ),
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bot.log")).unwrap_or_default()
    }

    /// (current, peak) resident memory in KiB, from /proc.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Kills it without warning (a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        stop_child(&mut self.child, Duration::from_secs(30));
        self.child
            .try_wait()
            .ok()
            .flatten()
            .is_some_and(|s| s.success())
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

// ---- a bot with a room -------------------------------------------------------------------------

/// The configuration of the Matrix tests without `[adapters.matrix]`: its jobs run the
/// [`SCRIPTS`] in `scripts/` of the bot's folder.
pub fn config() -> String {
    let wait_task = r#"
[[jobs]]
id = "wait-task"
description = "Runs a few seconds"
  [[jobs.parameters]]
  name = "seconds"
  kind = "integer"
  default = 3
  [jobs.run]
  argv = ["scripts/wait.sh"]
  timeout = "1m"
"#;
    fixtures::config(&[
        &bot_section("cancel_grace = \"1s\""),
        r#"
[rate_limit]
per_user = { capacity = 100, refill = "100ms" }
global = { capacity = 1000, refill = "10ms" }
"#,
        HOSTS,
        &job(BACKUP_DATABASE, "", "timeout = \"20s\"\nconcurrency = 8"),
        &job(FLAKY_TASK, "", "concurrency = 4"),
        LONG_TASK,
        wait_task,
    ])
}

pub const SCRIPTS: &[(&str, &str)] = &[
    (
        "quick.sh",
        "#!/bin/sh\necho \"start ${JOB_PARAM_TARGET:-}\"\nsleep 0.3\necho done\n",
    ),
    (
        "fail.sh",
        "#!/bin/sh\necho 'step 1/2 connect'\necho 'fatal: connection refused' >&2\nexit 3\n",
    ),
    SLEEP_SH,
    (
        "wait.sh",
        "#!/bin/sh\necho waiting\nsleep \"${JOB_PARAM_SECONDS:-3}\"\necho done\n",
    ),
];

/// A bot account, a user (`alice`) and a room they share, and the bot's folder with its
/// configuration (`bot.toml`: [`config`] plus `[adapters.matrix]` with `matrix_extra`).
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub bot: User,
    pub alice: User,
    pub room: String,
}

impl Setup {
    pub async fn new(hs: &Synapse, matrix_extra: &str) -> Setup {
        let bot = User::register(hs, &unique("opsbot")).await;
        let alice = User::register(hs, &unique("alice")).await;
        let room = alice.create_room(&[&bot.user_id]).await;
        let dir = tempfile::Builder::new()
            .prefix("matrix-bot-")
            .tempdir()
            .unwrap();
        let text = format!(
            "{}\n[adapters.matrix]\nhomeserver = \"{}\"\nuser_id = \"{}\"\nrooms = [\"{room}\"]\n{matrix_extra}\n",
            config(),
            hs.url,
            bot.user_id
        );
        fixtures::write_bot_folder(dir.path(), &text, SCRIPTS);
        Setup {
            dir,
            bot,
            alice,
            room,
        }
    }

    pub fn start_bot(&self) -> BotProcess {
        BotProcess::start(self.dir.path(), &self.bot.token)
    }

    pub fn bot_id(&self) -> String {
        self.bot.user_id.clone()
    }
}
