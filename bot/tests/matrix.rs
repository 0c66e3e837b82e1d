//! The Matrix adapter against a real Synapse homeserver (one per test binary), through the
//! real `bot matrix` binary: threads, watch, invites, charts as images, and a crash of the
//! bot in the middle of an execution.
//!
//! Needs Synapse in `.cache/synapse-venv` (`scripts/setup-test-env.sh`).

mod common;
#[path = "common/synapse.rs"]
mod synapse;

use common::{fixtures, repo_root};
use std::time::Duration;
use synapse::{Setup, Synapse, User};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_answered_in_their_thread_and_updates_follow() {
    let hs = Synapse::shared();
    let mut s = Setup::new(&hs, "").await;
    let me = s.bot_id();
    // sent before the bot ever ran: the backlog is skipped, not run
    let old = s
        .alice
        .send(&s.room, "!run backup-database target=db-02", None)
        .await;
    let _bot = s.start_bot();

    let cmd = s
        .alice
        .send(&s.room, "!run backup-database target=db-01", None)
        .await;
    let started = s
        .alice
        .expect_in_thread(&me, &cmd, "Started backup-database as #1001 (target=db-01)")
        .await;
    assert_eq!(started.msgtype(), "m.notice");
    assert_eq!(started.v["content"]["format"], "org.matrix.custom.html");
    assert_eq!(
        started.v["content"]["m.relates_to"]["m.in_reply_to"]["event_id"],
        cmd.as_str()
    );
    let summary = s
        .alice
        .expect_in_thread(&me, &cmd, "#1001 backup-database succeeded in")
        .await;
    assert!(summary.body().contains("exit code 0"), "{}", summary.body());

    // a question in the thread is answered in the same thread
    s.alice.send(&s.room, "!status 1001", Some(&cmd)).await;
    s.alice
        .expect_in_thread(&me, &cmd, "#1001 backup-database succeeded")
        .await;

    // watch from another room: bob invites the bot to his room (it joins on its own)
    let mut bob = User::register(&hs, &synapse::unique("bob")).await;
    let bob_room = bob.create_room(&[&me]).await;
    wait_until_joined(&bob, &bob_room, &me).await;
    let sched = s
        .alice
        .send(&s.room, "!run backup-database target=db-02 at=+5s", None)
        .await;
    s.alice
        .expect_in_thread(&me, &sched, "Scheduled backup-database as #1002")
        .await;
    let watch = bob.send(&bob_room, "!watch 1002", None).await;
    bob.expect_in_thread(&me, &watch, "Watching #1002 backup-database")
        .await;
    bob.expect_in_thread(&me, &watch, "#1002 backup-database started as scheduled")
        .await;
    bob.expect_in_thread(&me, &watch, "#1002 backup-database succeeded in")
        .await;
    s.alice
        .expect_in_thread(&me, &sched, "#1002 backup-database started as scheduled")
        .await;
    s.alice
        .expect_in_thread(&me, &sched, "#1002 backup-database succeeded in")
        .await;

    // each command was answered once, and the old one not at all
    let starts = s
        .alice
        .thread_events(&me, &cmd)
        .iter()
        .filter(|e| e.body().starts_with("Started"))
        .count();
    assert_eq!(starts, 1, "{}", s.alice.transcript());
    assert!(
        s.alice.thread_events(&me, &old).is_empty(),
        "the backlog was answered:\n{}",
        s.alice.transcript()
    );
    // nothing of the bot's landed outside a thread
    assert!(
        s.alice
            .events
            .iter()
            .all(|e| e.sender() != me || e.thread().is_some()),
        "{}",
        s.alice.transcript()
    );
}

async fn wait_until_joined(user: &User, room: &str, who: &str) {
    for _ in 0..300 {
        if user.joined_members(room).await.iter().any(|m| m == who) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{who} did not join {room}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_are_accepted_from_allowed_inviters_only() {
    let hs = Synapse::shared();
    let eve = User::register(&hs, &synapse::unique("eve")).await;
    let alice_name = synapse::unique("alice");
    let alice_id = format!("@{alice_name}:{}", synapse::SERVER_NAME);
    let mut s = Setup::new(&hs, &format!("invite_from = [\"{alice_id}\"]")).await;
    let me = s.bot_id();
    let alice = User::register(&hs, &alice_name).await;
    let _bot = s.start_bot();
    // eve is not in invite_from: her invite stays unanswered
    let eve_room = eve.create_room(&[&me]).await;
    // alice is: the bot joins and answers
    let room = alice.create_room(&[&me]).await;
    wait_until_joined(&alice, &room, &me).await;
    s.alice = alice;
    // addressed by name, as clients write mentions
    let name = me
        .trim_start_matches('@')
        .split(':')
        .next()
        .unwrap()
        .to_string();
    let cmd = s.alice.send(&room, &format!("{name}: !jobs"), None).await;
    s.alice.expect_in_thread(&me, &cmd, "backup-database").await;
    assert!(
        !eve.joined_members(&eve_room).await.contains(&me),
        "the bot joined a room of an inviter not in invite_from"
    );
    let log = _bot.log();
    assert!(log.contains("who is not in `invite_from`"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_are_uploaded_as_png_images_in_the_thread() {
    let hs = Synapse::shared();
    let mut s = Setup::new(&hs, "").await;
    let me = s.bot_id();
    let _bot = s.start_bot();
    for id in [1001, 1002] {
        let cmd = s.alice.send(&s.room, "!run flaky-task", None).await;
        s.alice
            .expect_in_thread(&me, &cmd, &format!("Started flaky-task as #{id}"))
            .await;
        s.alice
            .expect_in_thread(&me, &cmd, &format!("#{id} flaky-task failed"))
            .await;
    }
    let cmd = s.alice.send(&s.room, "!history flaky-task", None).await;
    s.alice
        .expect_in_thread(&me, &cmd, "Success rate: 0/2")
        .await;
    let (me2, cmd2) = (me.clone(), cmd.clone());
    let image = s
        .alice
        .wait_for(MINUTE, "an m.image in the history thread", move |e| {
            e.sender() == me2 && e.thread() == Some(cmd2.as_str()) && e.msgtype() == "m.image"
        })
        .await;
    let content = &image.v["content"];
    assert_eq!(content["info"]["mimetype"], "image/png");
    let url = content["url"].as_str().unwrap();
    let png = s.alice.download(url).await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(content["info"]["size"].as_u64(), Some(png.len() as u64));
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(content["info"]["w"].as_u64(), Some(u64::from(w)));
    assert_eq!(content["info"]["h"].as_u64(), Some(u64::from(h)));
    assert!(!image.body().is_empty(), "an alternative text");
    // the text came first, then the images, all in the thread
    let thread = s.alice.thread_events(&me, &cmd);
    assert_eq!(thread[0].msgtype(), "m.notice", "{}", s.alice.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_execution_is_reported_in_the_thread_and_nothing_is_answered_twice() {
    let hs = Synapse::shared();
    // a small sync page: what was said while the bot was down is fetched page by page
    let mut s = Setup::new(&hs, "timeline_limit = 2").await;
    let me = s.bot_id();
    let mut bot = s.start_bot();
    let long = s.alice.send(&s.room, "!run long-task", None).await;
    s.alice
        .expect_in_thread(&me, &long, "Started long-task as #1001")
        .await;
    let sched = s
        .alice
        .send(&s.room, "!run backup-database target=db-01 at=+6s", None)
        .await;
    s.alice
        .expect_in_thread(&me, &sched, "Scheduled backup-database as #1002")
        .await;
    let job_pid: i32 = {
        let p = s.dir.path().join("long-task-1001.pid");
        let mut pid = None;
        for _ in 0..100 {
            if let Some(v) = std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                pid = Some(v);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        pid.expect("the job wrote its pid")
    };
    bot.kill();
    // while the bot is down: more messages than one sync page holds
    let missed = s.alice.send(&s.room, "!jobs", None).await;
    let mut also_missed = Vec::new();
    for n in 0..4 {
        also_missed.push(
            s.alice
                .send(&s.room, &format!("!status 100{}", 1 + n % 2), None)
                .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = s.start_bot();
    // the interrupted run is reported where it was started
    let l = s
        .alice
        .expect_in_thread(&me, &long, "#1001 long-task was interrupted")
        .await;
    assert!(
        l.body().contains(&format!("group {job_pid}")),
        "{}",
        l.body()
    );
    // the scheduled run fires after the restart, its updates in its thread
    s.alice
        .expect_in_thread(&me, &sched, "#1002 backup-database started as scheduled")
        .await;
    s.alice
        .expect_in_thread(&me, &sched, "#1002 backup-database succeeded in")
        .await;
    // the messages sent while it was down are answered, once
    s.alice
        .expect_in_thread(&me, &missed, "backup-database")
        .await;
    for id in &also_missed {
        s.alice.expect_in_thread(&me, id, "#100").await;
    }
    let after = s.alice.send(&s.room, "!status 1001", None).await;
    s.alice
        .expect_in_thread(&me, &after, "#1001 long-task was interrupted")
        .await;
    // let any duplicate arrive before counting
    s.alice.sync(Duration::from_secs(2)).await;
    for (root, prefix) in [
        (&long, "Started long-task"),
        (&sched, "Scheduled backup-database"),
        (&missed, ""),
        (&after, ""),
    ]
    .into_iter()
    .chain(also_missed.iter().map(|id| (id, "")))
    {
        let replies = s
            .alice
            .thread_events(&me, root)
            .into_iter()
            .filter(|e| e.msgtype() == "m.notice" && e.body().starts_with(prefix))
            .count();
        assert_eq!(
            replies,
            1,
            "answers to {root} starting with {prefix:?}:\n{}",
            s.alice.transcript()
        );
    }
    let log = restarted.log();
    assert!(
        log.contains("that did not fit in the sync"),
        "no page was fetched:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_keeps_its_device_and_a_bad_token_is_refused() {
    let hs = Synapse::shared();
    let mut s = Setup::new(&hs, "device_name = \"ops bot (test)\"").await;
    let me = s.bot_id();
    let password = s.bot.password.clone();
    let before = s.bot.devices().await;
    for round in 0..2 {
        let mut bot = synapse::BotProcess::start_with(
            s.dir.path(),
            &[("BOT_MATRIX_PASSWORD", password.as_str())],
        );
        let cmd = s.alice.send(&s.room, "!jobs", None).await;
        s.alice.expect_in_thread(&me, &cmd, "backup-database").await;
        assert!(bot.stop(), "round {round}: the bot did not stop cleanly");
    }
    // one new session for both starts, named as configured
    let after = s.bot.devices().await;
    assert_eq!(after.len(), before.len() + 1, "{before:?} -> {after:?}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["matrix", "--config"])
        .arg(s.dir.path().join("bot.toml"))
        .current_dir(repo_root())
        .env("BOT_MATRIX_TOKEN", "syt_not_a_token")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused the bot's access token") && err.contains("set BOT_MATRIX_TOKEN"),
        "{err}"
    );
    assert!(!err.contains("syt_not_a_token"), "the token leaked: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_rules_know_matrix_identities() {
    let hs = Synapse::shared();
    let alice_name = synapse::unique("alice");
    let alice_id = format!("@{alice_name}:{}", synapse::SERVER_NAME);
    let access = format!(
        "\n[access]\ncontact = \"the ops leads\"\n  [access.roles]\n  runner = [\"run:*\", \"status\", \"list\", \"history\"]\n  [[access.users]]\n  name = \"alice\"\n  chat = [\"matrix:{alice_id}\"]\n  roles = [\"runner\"]\n"
    );
    let mut s = Setup::new(&hs, &access).await;
    let me = s.bot_id();
    let alice = User::register(&hs, &alice_name).await;
    alice.join(&s.room).await;
    let _bot = s.start_bot();
    // a user the rules do not know is refused, named as the rules would name them
    let refused = s.alice.send(&s.room, "!jobs", None).await;
    let r = s
        .alice
        .expect_in_thread(&me, &refused, "I don't know you")
        .await;
    assert!(
        r.body().contains(&format!("matrix:{}", s.alice.user_id)),
        "{}",
        r.body()
    );
    // the mapped one is served
    let mut alice = alice;
    let cmd = alice
        .send(&s.room, "!run backup-database target=db-01", None)
        .await;
    let started = alice
        .expect_in_thread(&me, &cmd, "Started backup-database as #1001")
        .await;
    assert_eq!(started.thread(), Some(cmd.as_str()));
}

#[test]
fn a_missing_section_or_token_is_a_clear_error() {
    let dir = fixtures::bot_folder(&synapse::config(), synapse::SCRIPTS);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["matrix", "--config"])
        .arg(dir.path().join("bot.toml"))
        .current_dir(repo_root())
        .env_remove("BOT_MATRIX_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no [adapters.matrix] section"), "{err}");

    std::fs::write(
        dir.path().join("bot.toml"),
        format!(
            "{}\n[adapters.matrix]\nhomeserver = \"http://127.0.0.1:9\"\nuser_id = \"@b:x\"\n",
            synapse::config()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["matrix", "--config"])
        .arg(dir.path().join("bot.toml"))
        .current_dir(repo_root())
        .env_remove("BOT_MATRIX_TOKEN")
        .env_remove("BOT_MATRIX_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no Matrix credentials: set BOT_MATRIX_TOKEN"),
        "{err}"
    );
    // nothing ran: the platform was not started
}
