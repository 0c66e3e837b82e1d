//! 50 users in one room send a command at the same moment: each gets exactly one answer, in
//! the thread of its command. Prints the throughput, the latency from sending a message to
//! seeing the bot's reply (p50, p99) and the bot's memory:
//!
//! ```sh
//! cargo test -p bot --test matrix_load -- --nocapture
//! ```
//!
//! Needs Synapse in `.cache/synapse-venv` (`scripts/setup-test-env.sh`).

mod common;
#[path = "common/synapse.rs"]
mod synapse;

use std::collections::HashMap;
use std::time::{Duration, Instant};
use synapse::{Setup, Synapse, User};

const USERS: usize = 50;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_users_at_once_each_get_one_answer() {
    let hs = Synapse::start();
    let mut s = Setup::new(&hs, "").await;
    let me = s.bot_id();
    let mut users = Vec::new();
    for i in 0..USERS {
        let u = User::register(&hs, &synapse::unique(&format!("user{i}"))).await;
        u.join(&s.room).await;
        users.push(u);
    }
    eprintln!("{USERS} users registered and joined");
    let bot = s.start_bot();
    eprintln!("the bot serves");
    let (rss_idle, _) = bot.rss_kib();
    // warm up (the first command loads lazily initialized parts)
    let w = s.alice.send(&s.room, "!jobs", None).await;
    s.alice.expect_in_thread(&me, &w, "backup-database").await;

    // everyone at once
    let room = s.room.clone();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, u) in users.into_iter().enumerate() {
        let room = room.clone();
        tasks.spawn(async move {
            let text = if i % 2 == 0 {
                format!("!run backup-database target=db-0{}", 1 + i % 2)
            } else {
                "!history backup-database count=3".to_string()
            };
            let sent_at = Instant::now();
            let id = u.send(&room, &text, None).await;
            (id, sent_at, text)
        });
    }
    let mut sent: HashMap<String, (Instant, String)> = HashMap::new();
    while let Some(r) = tasks.join_next().await {
        let (id, at, text) = r.unwrap();
        sent.insert(id, (at, text));
    }
    let all_sent = start.elapsed();
    // wait for one reply per command
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answered = sent
            .keys()
            .filter(|id| {
                s.alice
                    .thread_events(&me, id)
                    .iter()
                    .any(|e| e.msgtype() == "m.notice")
            })
            .count();
        if answered == sent.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {answered}/{} commands answered:\n{}",
            sent.len(),
            s.alice.transcript()
        );
        s.alice.sync(Duration::from_secs(2)).await;
    }
    let all_answered = start.elapsed();
    let (rss_busy, _) = bot.rss_kib();
    // let the runs end and any duplicate arrive, then count
    let ends = Instant::now() + Duration::from_secs(60);
    loop {
        let finished = sent
            .iter()
            .filter(|(_, (_, t))| t.starts_with("!run"))
            .filter(|(id, _)| {
                s.alice
                    .thread_events(&me, id)
                    .iter()
                    .any(|e| e.body().contains("succeeded in"))
            })
            .count();
        if finished == USERS / 2 || Instant::now() > ends {
            break;
        }
        s.alice.sync(Duration::from_secs(2)).await;
    }
    s.alice.sync(Duration::from_secs(2)).await;

    let mut latencies = Vec::new();
    let mut server_latencies = Vec::new();
    for (id, (sent_at, text)) in &sent {
        let thread = s.alice.thread_events(&me, id);
        let replies: Vec<_> = thread
            .iter()
            .filter(|e| e.msgtype() == "m.notice" && !e.body().contains("succeeded in"))
            .collect();
        assert_eq!(
            replies.len(),
            1,
            "{text} ({id}) got {} answers:\n{}",
            replies.len(),
            s.alice.transcript()
        );
        let b = replies[0].body();
        let ok = if text.starts_with("!run") {
            b.starts_with("Started backup-database") || b.starts_with("Queued backup-database")
        } else {
            b.contains("backup-database")
        };
        assert!(
            ok && !b.contains("Something went wrong"),
            "{text}: {b}\nthe bot's warnings and errors:\n{}",
            bot.log()
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        if text.starts_with("!run") {
            let ends = thread
                .iter()
                .filter(|e| e.body().contains("succeeded in"))
                .count();
            assert_eq!(ends, 1, "summaries of {id}:\n{}", s.alice.transcript());
        }
        latencies.push(replies[0].seen_at.duration_since(*sent_at).as_secs_f64() * 1000.0);
        let cmd_ts = s
            .alice
            .events
            .iter()
            .find(|e| e.id() == id)
            .map(|e| e.ts())
            .unwrap_or(replies[0].ts());
        server_latencies.push((replies[0].ts() - cmd_ts) as f64);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    server_latencies.sort_by(|a, b| a.total_cmp(b));
    let (rss_after, peak) = bot.rss_kib();
    println!(
        "matrix load: {USERS} users, one command each (half !run, half !history), concurrency 8"
    );
    println!(
        "  the {USERS} messages were accepted by the homeserver after {:.2}s",
        all_sent.as_secs_f64()
    );
    if std::env::var_os("MATRIX_LOAD_LOG").is_some() {
        std::fs::copy(
            bot.dir.join("bot.log"),
            std::env::var_os("MATRIX_LOAD_LOG").unwrap(),
        )
        .unwrap();
    }
    println!(
        "  all answered after {:.2}s: {:.1} commands/s",
        all_answered.as_secs_f64(),
        USERS as f64 / all_answered.as_secs_f64()
    );
    println!(
        "  send -> reply seen by a client: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies[latencies.len() - 1]
    );
    println!(
        "  command -> reply on the server (origin_server_ts): p50 {:.0} ms, p99 {:.0} ms",
        percentile(&server_latencies, 50.0),
        percentile(&server_latencies, 99.0)
    );
    println!(
        "  bot RSS: {:.1} MiB idle, {:.1} MiB when all were answered, {:.1} MiB after the runs, peak {:.1} MiB",
        rss_idle as f64 / 1024.0,
        rss_busy as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}
