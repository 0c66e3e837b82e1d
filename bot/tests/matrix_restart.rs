//! The homeserver restarts under a running bot: the bot reconnects on its own, a summary
//! that became due while the server was down is delivered once it is back, and a message
//! sent after the restart is answered exactly once. Its own Synapse (it is stopped here).
//!
//! Needs Synapse in `.cache/synapse-venv` (`scripts/setup-test-env.sh`).

mod common;
#[path = "common/synapse.rs"]
mod synapse;

use std::time::Duration;
use synapse::{Setup, Synapse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_survives_a_homeserver_restart() {
    let mut hs = Synapse::start();
    let mut s = Setup::new(&hs, "").await;
    let me = s.bot_id();
    let bot = s.start_bot();

    // a run that ends while the homeserver is down
    let cmd = s
        .alice
        .send(&s.room, "!run wait-task seconds=2", None)
        .await;
    s.alice
        .expect_in_thread(&me, &cmd, "Started wait-task as #1001")
        .await;
    hs.restart_after(Duration::from_secs(4));

    // its summary was kept and retried until the homeserver answered again
    s.alice
        .expect_in_thread(&me, &cmd, "#1001 wait-task succeeded in")
        .await;
    // a message after the restart: answered, once
    let after = s.alice.send(&s.room, "!status 1001", None).await;
    s.alice
        .expect_in_thread(&me, &after, "#1001 wait-task succeeded")
        .await;
    s.alice.sync(Duration::from_secs(3)).await;
    let count = |root: &str, prefix: &str| {
        s.alice
            .thread_events(&me, root)
            .iter()
            .filter(|e| e.msgtype() == "m.notice" && e.body().starts_with(prefix))
            .count()
    };
    assert_eq!(
        count(&cmd, "#1001 wait-task succeeded"),
        1,
        "{}",
        s.alice.transcript()
    );
    assert_eq!(count(&cmd, "Started"), 1, "{}", s.alice.transcript());
    assert_eq!(count(&after, ""), 1, "{}", s.alice.transcript());
    let log = bot.log();
    assert!(
        log.contains("syncing with"),
        "no reconnect in the log:\n{log}"
    );
    assert!(
        log.contains("matrix: send failed"),
        "the summary was not retried:\n{log}"
    );
}
