//! `nlu serve`: the real binary on a free loopback port, driven over HTTP/1.1 with a
//! minimal client (std's TcpStream; exact bytes, no client library in between).

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret";

/// A running `nlu serve`; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    _models: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let models = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nlu"))
            .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .arg("--models")
            .arg(models.path())
            .args(extra)
            .current_dir(common::repo_root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run nlu serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("nlu serve: listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line from nlu serve: {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            _models: models,
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(&self.addr, method, path, headers, body)
    }

    /// Posts the small training set (YAML) to `/model/train`.
    fn train(&self) -> Resp {
        train_request(&self.addr)
    }

    fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection (`Connection: close`), the response read to the end.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // with `Expect: 100-continue` the body is sent only after a 100 response
    let expect = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue"));
    let mut raw = Vec::new();
    if expect {
        let mut first = [0u8; 4096];
        let n = s.read(&mut first).unwrap();
        raw.extend_from_slice(&first[..n]);
        if raw.starts_with(b"HTTP/1.1 100") {
            raw.clear();
            s.write_all(body).unwrap();
        }
    } else {
        s.write_all(body).unwrap();
    }
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
}

fn authed(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}token={TOKEN}")
}

fn error_body(code: u16, reason: &str, message: &str, help: Value) -> Value {
    json!({
        "version": "3.6.20",
        "status": "failure",
        "message": message,
        "reason": reason,
        "details": {},
        "help": help,
        "code": code,
    })
}

fn entities(r: &Value) -> Vec<(String, String, u64, u64)> {
    r["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
                e["start"].as_u64().unwrap(),
                e["end"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn ents(list: &[(&str, &str, u64, u64)]) -> Vec<(String, String, u64, u64)> {
    list.iter()
        .map(|(a, b, s, e)| (a.to_string(), b.to_string(), *s, *e))
        .collect()
}

#[test]
fn parses_english_and_chinese_with_the_committed_model() {
    let server = Server::start(&[]);
    let hello = server.get("/");
    assert_eq!(hello.status, 200);
    assert_eq!(hello.text(), "Hello from Rasa: 3.6.20 (nlu 0.1.0)");
    let version = server.get("/version");
    assert_eq!(version.status, 200);
    assert_eq!(
        version.json(),
        json!({"version": "3.6.20", "minimum_compatible_version": "3.5.0", "nlu_version": "0.1.0"})
    );
    let status = server.get(&authed("/status"));
    assert_eq!(status.status, 200);
    let status = status.json();
    assert_eq!(status["model_id"], "ops-intents");
    assert_eq!(status["num_active_training_jobs"], 0);
    assert!(status["model_file"]
        .as_str()
        .unwrap()
        .ends_with("models/ops-intents"));

    let r = server.post_json(
        &authed("/model/parse"),
        &json!({"text": "deploy api 2.4.1 to prod", "message_id": "m-1"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = r.json();
    assert_eq!(r["text"], "deploy api 2.4.1 to prod");
    assert_eq!(r["message_id"], "m-1");
    assert_eq!(r["intent"]["name"], "deploy_app");
    assert!(r["intent"]["confidence"].as_f64().unwrap() > 0.99);
    assert_eq!(r["intent_ranking"].as_array().unwrap().len(), 12);
    assert_eq!(r["intent_ranking"][0], r["intent"]);
    assert_eq!(r["outcome"], "understood");
    assert_eq!(r["clarification"], Value::Null);
    assert_eq!(
        entities(&r),
        ents(&[
            ("app", "api", 7, 10),
            ("version", "2.4.1", 11, 16),
            ("environment", "production", 20, 24)
        ])
    );
    assert_eq!(r["entities"][0]["extractor"], "gazetteer");
    assert_eq!(r["entities"][0]["confidence"], 1.0);

    // Chinese; opsdroid sends its JSON without a content type (aiohttp: text/plain)
    let r = server.request(
        "POST",
        &authed("/model/parse"),
        &[("Content-Type", "text/plain; charset=utf-8")],
        json!({"text": "把支付服务发布到生产"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200);
    let r = r.json();
    assert_eq!(r["intent"]["name"], "deploy_app");
    assert_eq!(r["outcome"], "understood");
    assert!(r.get("message_id").is_none());
    assert_eq!(
        entities(&r),
        ents(&[
            ("app", "payment", 1, 5),
            ("environment", "production", 8, 10)
        ])
    );

    // the empty text opsdroid sends to warm the model up
    let r = server.post_json(&authed("/model/parse"), &json!({"text": ""}));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["outcome"], "out_of_scope");

    let r = server.post_json(
        &authed("/model/parse/batch"),
        &json!({"texts": ["cancel 4812", "重启预发的认证服务", "帮我点个外卖"]}),
    );
    assert_eq!(r.status, 200);
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["intent"]["name"], "cancel_job");
    assert_eq!(
        entities(&results[0]),
        ents(&[("execution_id", "4812", 7, 11)])
    );
    assert_eq!(results[1]["intent"]["name"], "run_job");
    assert_eq!(
        entities(&results[1]),
        ents(&[
            ("job", "restart-service", 0, 2),
            ("environment", "staging", 2, 4),
            ("app", "auth", 5, 9)
        ])
    );
    assert_eq!(results[2]["outcome"], "out_of_scope");
}

#[test]
fn refuses_bad_requests_with_rasa_errors() {
    let server = Server::start(&["--max-body-bytes", "4096"]);
    let auth_help = json!(
        "https://rasa.com/docs/rasa/user-guide/configuring-http-api/#security-considerations"
    );
    let unauthenticated = error_body(
        401,
        "NotAuthenticated",
        "User is not authenticated.",
        auth_help,
    );
    for (method, path) in [
        ("POST", "/model/parse"),
        ("POST", "/model/parse?token=wrong"),
        ("GET", "/status"),
        ("PUT", "/model?token="),
        ("POST", "/model/train?token=s3cre"),
    ] {
        let r = server.request(method, path, &[], br#"{"text":"hi"}"#);
        assert_eq!(r.status, 401, "{method} {path}");
        assert_eq!(r.json(), unauthenticated, "{method} {path}");
    }
    // opsdroid's spelling of the query
    let r = server.post_json(
        &format!("/model/parse?&token={TOKEN}"),
        &json!({"text": "hi"}),
    );
    assert_eq!(r.status, 200);

    let r = server.request("POST", &authed("/model/parse"), &[], b"{\"text\": ");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        error_body(
            400,
            "BadRequest",
            "The request body is not valid JSON of the expected shape: EOF while parsing a value at line 1 column 9",
            json!("https://rasa.com/docs/rasa/pages/http-api")
        )
    );
    let r = server.post_json(&authed("/model/parse"), &json!({"message_id": "x"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "The request body has no 'text' field; send {\"text\": \"...\"}."
    );
    let r = server.post_json(&authed("/model/parse"), &json!({"text": 42}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "The field 'text' must be a string.");

    let too_large = error_body(
        413,
        "PayloadTooLarge",
        "The request body is larger than the server's limit of 4096 bytes.",
        Value::Null,
    );
    let big = json!({"text": "x".repeat(5000)}).to_string();
    // declared too large: answered before the body is sent
    let r = server.request(
        "POST",
        &authed("/model/parse"),
        &[("Expect", "100-continue")],
        big.as_bytes(),
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.json(), too_large);
    // sent without a length (chunked): cut off at the limit
    let r = chunked_post(&server.addr, &authed("/model/parse"), big.as_bytes());
    assert_eq!(r.status, 413);
    assert_eq!(r.json(), too_large);
    // just under the limit is parsed
    let fits = json!({"text": "y".repeat(4000)}).to_string();
    assert_eq!(
        server
            .request("POST", &authed("/model/parse"), &[], fits.as_bytes())
            .status,
        200
    );

    let r = server.get("/nope");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        error_body(
            404,
            "NotFound",
            "Requested URL /nope not found",
            Value::Null
        )
    );
    let r = server.request("DELETE", "/version", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["reason"], "MethodNotAllowed");

    let r = server.request(
        "PUT",
        &authed("/model"),
        &[],
        br#"{"model_file": "models/../../etc/passwd"}"#,
    );
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["reason"], "LoadingError");
    let r = server.request("PUT", &authed("/model"), &[], br#"{}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "The request body has no 'model_file' field."
    );
}

/// A POST whose body is sent chunked, in 1 KiB chunks (no Content-Length).
fn chunked_post(addr: &str, path: &str, body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    // the server may answer and close before reading everything
    let _ = s.write_all(&out);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    Resp {
        status,
        headers: Vec::new(),
        body: raw[split + 4..].to_vec(),
    }
}

const TRAINING_YAML: &str = r#"version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
    - hello, how are you
    - 你好
    - 早上好
    - 嗨
- intent: order_coffee
  examples: |
    - I'd like a coffee
    - get me a latte please
    - order an espresso
    - one cappuccino please
    - can I have a flat white
    - 来一杯咖啡
    - 我要一杯拿铁
    - 帮我点一杯美式
- intent: weather
  examples: |
    - what's the weather like
    - will it rain tomorrow
    - is it sunny today
    - weather forecast please
    - how hot is it outside
    - 今天天气怎么样
    - 明天会下雨吗
    - 外面冷不冷
"#;

#[test]
fn trains_loads_and_parses_with_the_new_model() {
    let server = Server::start(&[]);
    let r = server.train();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/x-tar"));
    let file = r.header("filename").unwrap().to_string();
    assert!(file.ends_with(".tar"), "{file}");
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"{file}\"").as_str())
    );
    // the tar holds the model directory
    let stem = file.strip_suffix(".tar").unwrap();
    assert_eq!(&r.body[257..262], b"ustar");
    // entries in name order: the cascade's early head first, then the full head
    let first_entry = format!("{stem}/early-head.onnx");
    assert_eq!(&r.body[..first_entry.len()], first_entry.as_bytes());
    let head = format!("{stem}/head.onnx");
    assert!(r.body.windows(head.len()).any(|w| w == head.as_bytes()));

    // still the old model until PUT /model
    let before = server.post_json(&authed("/model/parse"), &json!({"text": "我要一杯拿铁"}));
    assert_ne!(before.json()["intent"]["name"], "order_coffee");

    let r = server.request(
        "PUT",
        &authed("/model"),
        &[],
        json!({"model_file": format!("models/{file}")})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.is_empty());
    let status = server.get(&authed("/status")).json();
    assert_eq!(status["model_id"], stem);
    assert!(status["model_file"].as_str().unwrap().ends_with(&file));

    for (text, intent) in [
        ("hi there, good morning", "greet"),
        ("one latte please", "order_coffee"),
        ("is it going to rain today", "weather"),
        ("你好呀", "greet"),
        ("来一杯拿铁", "order_coffee"),
        ("明天天气怎么样", "weather"),
    ] {
        let r = server.post_json(&authed("/model/parse"), &json!({ "text": text }));
        assert_eq!(r.status, 200);
        let r = r.json();
        assert_eq!(r["intent"]["name"], intent, "{text}: {r}");
        assert_eq!(r["intent_ranking"].as_array().unwrap().len(), 3);
    }

    // Rasa's JSON form of the request, and bad training data
    let r = server.post_json(&authed("/model/train"), &json!({"nlu": "nlu: [oops"}));
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["reason"], "BadRequest");
    let r = server.post_json(&authed("/model/train"), &json!({"domain": "x"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "A JSON training request needs an 'nlu' field holding the NLU training data as a YAML string."
    );
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("nlu_training_jobs_total{result=\"ok\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("nlu_model_loads_total{result=\"ok\"} 1\n"));
}

/// Posts the small training set on a thread of its own.
fn spawn_training(addr: &str) -> std::thread::JoinHandle<Resp> {
    let addr = addr.to_string();
    std::thread::spawn(move || train_request(&addr))
}

/// Posts the small training set (YAML) to `/model/train` of the server at `addr`.
fn train_request(addr: &str) -> Resp {
    request(
        addr,
        "POST",
        &authed("/model/train"),
        &[("Content-Type", "application/x-yaml")],
        TRAINING_YAML.as_bytes(),
    )
}

#[test]
fn refuses_a_second_training_job_while_one_runs() {
    let server = Server::start(&["--max-training-jobs", "1"]);
    // a job short enough for a test may end before the second request: try a few times
    for _ in 0..5 {
        let first = spawn_training(&server.addr);
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = false;
        while !first.is_finished() && Instant::now() < deadline {
            if server.get(&authed("/status")).json()["num_active_training_jobs"] == 1 {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if seen {
            let second = server.request(
                "POST",
                &authed("/model/train"),
                &[("Content-Type", "application/x-yaml")],
                TRAINING_YAML.as_bytes(),
            );
            let first = first.join().unwrap();
            if first.status == 200 && second.status == 200 {
                continue; // the first ended between the two requests
            }
            assert_eq!(
                second.status,
                429,
                "{}",
                String::from_utf8_lossy(&second.body)
            );
            assert_eq!(second.header("retry-after"), Some("10"));
            assert_eq!(
                second.json(),
                error_body(
                    429,
                    "TooManyTrainingJobs",
                    "1 training job(s) are already running, the most this server runs at once; try again when one has finished.",
                    Value::Null
                )
            );
            assert_eq!(first.status, 200);
            return;
        }
        assert_eq!(first.join().unwrap().status, 200);
    }
    panic!("never saw a training job running");
}

#[test]
fn metrics_count_requests_latency_and_outcomes() {
    let server = Server::start(&[]);
    for text in [
        "deploy api 2.4.1 to prod",
        "把支付服务发布到生产",
        "帮我点个外卖",
    ] {
        assert_eq!(
            server
                .post_json(&authed("/model/parse"), &json!({ "text": text }))
                .status,
            200
        );
    }
    assert_eq!(
        server
            .post_json(
                &authed("/model/parse/batch"),
                &json!({"texts": ["cancel 4812", "cancel 4813"]})
            )
            .status,
        200
    );
    assert_eq!(
        server
            .post_json("/model/parse", &json!({"text": "x"}))
            .status,
        401
    );
    assert_eq!(server.get("/version").status, 200);
    assert_eq!(server.get("/nope").status, 404);
    let r = server.get("/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let m = r.text();
    for line in [
        "nlu_http_requests_total{route=\"/model/parse\",method=\"POST\",status=\"200\"} 3",
        "nlu_http_requests_total{route=\"/model/parse\",method=\"POST\",status=\"401\"} 1",
        "nlu_http_requests_total{route=\"/model/parse/batch\",method=\"POST\",status=\"200\"} 1",
        "nlu_http_requests_total{route=\"/version\",method=\"GET\",status=\"200\"} 1",
        "nlu_http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 1",
        "nlu_http_request_duration_seconds_bucket{route=\"/model/parse\",le=\"+Inf\"} 4",
        "nlu_http_request_duration_seconds_count{route=\"/model/parse\"} 4",
        "nlu_parse_outcomes_total{intent=\"deploy_app\",outcome=\"understood\"} 2",
        "nlu_parse_outcomes_total{intent=\"out_of_scope\",outcome=\"out_of_scope\"} 1",
        "nlu_parse_outcomes_total{intent=\"cancel_job\",outcome=\"understood\"} 2",
        "nlu_training_jobs_active 0",
        "# TYPE nlu_http_request_duration_seconds histogram",
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line:?} in:\n{m}");
    }
    // each parse counted by the stage of the cascade that answered it, as the parser says
    let mut stages = std::collections::BTreeMap::new();
    for text in [
        "deploy api 2.4.1 to prod",
        "把支付服务发布到生产",
        "帮我点个外卖",
        "cancel 4812",
        "cancel 4813",
    ] {
        let stage = common::parser().parse_staged(text).unwrap().1;
        *stages.entry(stage.name()).or_insert(0) += 1;
    }
    for (stage, n) in stages {
        let line = format!("nlu_parse_stages_total{{stage=\"{stage}\"}} {n}");
        assert!(m.lines().any(|l| l == line), "missing {line:?} in:\n{m}");
    }
    // the scrape itself is counted after it is answered
    assert!(!m.contains("route=\"/metrics\""));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start(&[]);
    assert_eq!(server.get("/version").status, 200);
    // a training request in flight when SIGTERM comes is still answered
    let mut in_flight = None;
    for _ in 0..5 {
        let job = spawn_training(&server.addr);
        while !job.is_finished() {
            if server.get(&authed("/status")).json()["num_active_training_jobs"] == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !job.is_finished() {
            in_flight = Some(job);
            break;
        }
        assert_eq!(job.join().unwrap().status, 200);
    }
    let in_flight = in_flight.expect("never caught a training job running");
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(TcpStream::connect(&server.addr).is_err());
    let answered = in_flight.join().unwrap();
    assert_eq!(
        answered.status,
        200,
        "{}",
        String::from_utf8_lossy(&answered.body)
    );
    assert_eq!(answered.header("content-type"), Some("application/x-tar"));
}

#[test]
fn token_file_and_training_off_without_models_dir() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "from-file\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nlu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(&token_file)
        .current_dir(common::repo_root())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit('/').next().unwrap().to_string();
    let ok = request(&addr, "GET", "/status?token=from-file", &[], b"");
    let refused = request(&addr, "GET", &authed("/status"), &[], b"");
    let train = request(
        &addr,
        "POST",
        "/model/train?token=from-file",
        &[],
        b"nlu: []",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ok.status, 200);
    assert_eq!(refused.status, 401);
    assert_eq!(train.status, 501);
    assert_eq!(train.json()["reason"], "TrainingDisabled");
}

#[test]
fn put_model_swaps_while_requests_are_served() {
    let server = Server::start(&[]);
    let r = server.train();
    assert_eq!(r.status, 200);
    let trained = r.header("filename").unwrap().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop) = (server.addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut intents = std::collections::BTreeSet::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = request(
                        &addr,
                        "POST",
                        &authed("/model/parse"),
                        &[],
                        br#"{"text": "cancel 4812"}"#,
                    );
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                    intents.insert(r.json()["intent"]["name"].as_str().unwrap().to_string());
                }
                intents
            })
        })
        .collect();
    for i in 0..6 {
        let file = if i % 2 == 0 {
            trained.as_str()
        } else {
            "ops-intents"
        };
        let r = server.request(
            "PUT",
            &authed("/model"),
            &[],
            json!({ "model_file": file }).to_string().as_bytes(),
        );
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = std::collections::BTreeSet::new();
    for c in clients {
        seen.extend(c.join().unwrap());
    }
    // every answer came from one model or the other, none failed
    let allowed = ["cancel_job", "greet", "order_coffee", "weather"];
    assert!(seen.contains("cancel_job"), "{seen:?}");
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(
        seen.iter().all(|i| allowed.contains(&i.as_str())),
        "{seen:?}"
    );
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("nlu_model_loads_total{result=\"ok\"} 6\n"));
}
