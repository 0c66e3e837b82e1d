//! Scale-out: two `nlu serve` replicas behind nginx (Debian's package, installed by
//! scripts/setup-test-env.sh), on loopback. A bounded load test (fixed request count) kills
//! one replica a third of the way in; with nginx's retry to the next upstream configured
//! (`proxy_next_upstream error timeout non_idempotent`), no request is lost. Prints
//! requests/s and p50/p99 for one replica alone and for two behind nginx:
//!
//! ```sh
//! cargo test -p nlu --test serve_nginx -- --nocapture
//! ```

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "lb-token";
const THREADS: usize = 8;
const PER_THREAD: usize = 150;

/// Texts and the intent each must get, English and Chinese.
const TEXTS: [(&str, &str); 6] = [
    ("deploy api 2.4.1 to prod", "deploy_app"),
    ("把支付服务发布到生产", "deploy_app"),
    ("cancel 4812", "cancel_job"),
    ("重启预发的认证服务", "run_job"),
    ("help", "help"),
    ("帮我点个外卖", "out_of_scope"),
];

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx's master; stopped with SIGTERM (fast shutdown, which ends its workers too: a
/// SIGKILLed master would leave them running).
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replica() -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nlu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .current_dir(common::repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run nlu serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("nlu serve: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line from nlu serve: {line:?}"))
        .to_string();
    (Proc(child), addr)
}

/// nginx: `$NLU_NGINX`, else `nginx` on PATH, else Debian's /usr/sbin/nginx.
fn nginx_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NLU_NGINX") {
        return PathBuf::from(p);
    }
    if let Ok(out) = Command::new("sh").args(["-c", "command -v nginx"]).output() {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    let debian = PathBuf::from("/usr/sbin/nginx");
    assert!(
        debian.is_file(),
        "nginx is missing: run scripts/setup-test-env.sh (it installs Debian's nginx package), \
         or point NLU_NGINX at an nginx binary"
    );
    debian
}

/// The configuration README's "Running it as a service" shows, with this test's paths.
fn nginx_config(dir: &Path, port: u16, upstreams: &[String]) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|a| format!("        server {a} max_fails=1 fail_timeout=30s;\n"))
        .collect();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let user = if is_root { "user root;\n" } else { "" };
    format!(
        r#"{user}daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream nlu {{
{servers}        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://nlu;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            # a replica that dies or refuses: the request goes to the next one, POSTs too
            # (parsing has no side effects)
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 1s;
            proxy_read_timeout 300s;
        }}
    }}
}}
"#
    )
}

/// POST /model/parse over a fresh connection; the status and the reported intent.
fn parse(addr: &str, text: &str) -> Result<(u16, String), String> {
    let body = serde_json::json!({ "text": text }).to_string();
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "POST /model/parse?token={TOKEN} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no response head")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let v: serde_json::Value = serde_json::from_slice(&raw[split + 4..])
        .map_err(|e| format!("{status}: {e}: {}", String::from_utf8_lossy(&raw)))?;
    Ok((
        status,
        v["intent"]["name"].as_str().unwrap_or("").to_string(),
    ))
}

struct Report {
    ok: usize,
    failures: Vec<String>,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

impl Report {
    fn percentile(&self, p: f64) -> f64 {
        let mut l = self.latencies_ms.clone();
        l.sort_by(f64::total_cmp);
        l[((l.len() as f64 - 1.0) * p).round() as usize]
    }

    fn line(&self, what: &str) -> String {
        format!(
            "{what}: {} requests ({THREADS} clients) in {:.2} s: {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms, {} failed",
            self.ok + self.failures.len(),
            self.seconds,
            (self.ok + self.failures.len()) as f64 / self.seconds,
            self.percentile(0.5),
            self.percentile(0.99),
            self.failures.len()
        )
    }
}

/// THREADS clients, PER_THREAD requests each; `at_third` runs once a third are answered.
fn load(addr: &str, at_third: impl FnOnce() + Send) -> Report {
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let total = THREADS * PER_THREAD;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (done, failures, latencies) = (done.clone(), failures.clone(), latencies.clone());
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let (text, intent) = TEXTS[(t + i) % TEXTS.len()];
                    let t0 = Instant::now();
                    match parse(addr, text) {
                        Ok((200, got)) if got == intent => latencies
                            .lock()
                            .unwrap()
                            .push(t0.elapsed().as_secs_f64() * 1e3),
                        Ok((status, got)) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{text:?}: {status} {got}")),
                        Err(e) => failures.lock().unwrap().push(format!("{text:?}: {e}")),
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while done.load(Ordering::Relaxed) < total / 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        at_third();
    });
    let seconds = start.elapsed().as_secs_f64();
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    let latencies_ms = std::mem::take(&mut *latencies.lock().unwrap());
    Report {
        ok: latencies_ms.len(),
        failures,
        seconds,
        latencies_ms,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn two_replicas_behind_nginx_lose_no_request_when_one_is_killed() {
    let nginx = nginx_binary();
    let (a, addr_a) = replica();
    let (_b, addr_b) = replica();

    // one replica alone, for comparison
    let single = load(&addr_a, || {});
    eprintln!("{}", single.line("one replica, direct"));
    assert!(single.failures.is_empty(), "{:?}", single.failures);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        nginx_config(dir.path(), port, &[addr_a.clone(), addr_b.clone()]),
    )
    .unwrap();
    let lb = Nginx(
        Command::new(&nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run nginx"),
    );
    let lb_addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while parse(&lb_addr, "help").map(|r| r.0) != Ok(200) {
        assert!(
            Instant::now() < deadline,
            "nginx did not answer on {lb_addr}: {}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // both replicas behind nginx
    let both = load(&lb_addr, || {});
    eprintln!("{}", both.line("two replicas behind nginx"));
    assert!(both.failures.is_empty(), "{:?}", both.failures);

    // again, killing replica A (SIGKILL, mid-request) a third of the way in
    let mut a = Some(a);
    let killed = load(&lb_addr, || {
        if let Some(mut a) = a.take() {
            a.0.kill().unwrap();
            a.0.wait().unwrap();
        }
    });
    eprintln!(
        "{}",
        killed.line("two replicas behind nginx, one killed after a third")
    );
    assert!(
        killed.failures.is_empty(),
        "lost {} request(s): {:?}\nnginx: {}",
        killed.failures.len(),
        killed.failures,
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );
    assert_eq!(killed.ok, THREADS * PER_THREAD);
    // nginx saw replica A fail (refused or cut off mid-request) and retried on B
    let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    let about_a: Vec<&str> = log.lines().filter(|l| l.contains(&addr_a)).collect();
    eprintln!(
        "nginx logged {} upstream error(s) about the killed replica, e.g. {:?}",
        about_a.len(),
        about_a.first()
    );
    assert!(
        !about_a.is_empty(),
        "nginx never saw replica A fail:\n{log}"
    );
    drop(lb);
}
