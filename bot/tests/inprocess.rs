//! The bot in-process, without the language model: exact commands, dialogs and their expiry.

mod common;

use bot::config::Config;
use bot::policy::{Action, Actor, Decision, Policy};
use bot::{Bot, Message};
use common::fixtures::{self, APP_AND_ENVIRONMENT};
use std::sync::Arc;

fn config() -> String {
    format!(
        r#"
[bot]
dialog_timeout = "300ms"
[[apps]]
id = "api"
[[environments]]
id = "staging"
[[jobs]]
id = "deploy-app"
sensitive = true
{APP_AND_ENVIRONMENT}  [jobs.run]
  argv = ["/bin/true"]
[[jobs]]
id = "sleeper"
  [jobs.run]
  argv = ["/bin/sleep", "30"]
"#
    )
}

struct DenyDeploys;

impl Policy for DenyDeploys {
    fn check(&self, _actor: &Actor, action: &Action<'_>) -> Decision {
        match action {
            Action::Execute { job, .. } if *job == "deploy-app" => {
                Decision::Deny("deployments are frozen".into())
            }
            _ => Decision::Allow,
        }
    }
}

fn bot(dir: &std::path::Path, policy: Arc<dyn Policy>) -> Bot {
    let config = Config::from_toml_str(&config(), "t.toml", dir).unwrap();
    fixtures::in_process_bot(config, dir, |_, _| policy)
}

/// The pushes for the end of execution `id` (waiting up to 10 s for it).
async fn final_pushes(
    b: &Bot,
    events: &mut tokio::sync::broadcast::Receiver<bot::jobs::ExecEvent>,
    id: bot::jobs::ExecId,
) -> Vec<bot::Outgoing> {
    loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
            .await
            .expect("the run ends within 10 s")
            .unwrap();
        if ev.execution.id == id && ev.execution.status.is_terminal() {
            return b.pushes_for(&ev).await;
        }
    }
}

fn msg(text: &str) -> Message {
    Message {
        user: "ann".into(),
        channel: "c1".into(),
        text: text.into(),
        thread: None,
    }
}

#[tokio::test]
async fn dialogs_expire_and_are_per_user_and_channel() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path(), Arc::new(bot::policy::AllowAll));
    let r = b.handle(&msg("!run deploy-app")).await;
    assert!(r.texts[0].starts_with("deploy-app needs `app`"), "{r:?}");
    // another user in the same channel has no dialog
    let other = Message {
        user: "bob".into(),
        ..msg("api")
    };
    let r = b.handle(&other).await;
    assert!(r.texts[0].contains("free text"), "{r:?}");
    // the dialog survives a new Bot on the same database (it is stored)
    let b = bot(dir.path(), Arc::new(bot::policy::AllowAll));
    let r = b.handle(&msg("api")).await;
    assert!(
        r.texts[0].starts_with("deploy-app needs `environment`"),
        "{r:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let r = b.handle(&msg("staging")).await;
    assert!(
        r.texts[0].starts_with("(The earlier question about running deploy-app expired"),
        "{r:?}"
    );
}

#[tokio::test]
async fn the_policy_is_asked_before_execution() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path(), Arc::new(DenyDeploys));
    let r = b
        .handle(&msg("!run deploy-app app=api environment=staging"))
        .await;
    assert!(r.texts[0].contains("is sensitive"), "{r:?}");
    let r = b.handle(&msg("!yes")).await;
    assert_eq!(
        r.texts,
        ["Sorry, you can't do that: deployments are frozen"],
        "{r:?}"
    );
    let r = b.handle(&msg("!history")).await;
    assert_eq!(r.texts, ["No runs found."]);
}

#[tokio::test]
async fn updates_go_to_the_thread_of_the_command_that_started_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path(), Arc::new(bot::policy::AllowAll));
    let mut events = b.platform.events();
    let in_thread = |text: &str| Message {
        thread: Some("$root:example.org".into()),
        ..msg(text)
    };
    let r = b
        .handle(&in_thread("!run deploy-app app=api environment=staging"))
        .await;
    assert!(r.texts[0].contains("is sensitive"), "{r:?}");
    let r = b.handle(&in_thread("!yes")).await;
    let id = r.track[0];
    // the final summary of that run is pushed into the same thread
    let final_push = final_pushes(&b, &mut events, id).await;
    assert_eq!(final_push.len(), 1, "{final_push:?}");
    assert_eq!(final_push[0].channel, "c1");
    assert_eq!(final_push[0].thread.as_deref(), Some("$root:example.org"));
    assert_eq!(final_push[0].final_for, Some(id));
    // a run started from the main timeline has no thread
    b.handle(&msg("!run deploy-app app=api environment=staging"))
        .await;
    let r = b.handle(&msg("!yes")).await;
    assert_eq!(b.store.follows().thread_of(r.track[0], "c1").unwrap(), None);
}

#[tokio::test]
async fn a_run_named_by_no_id_is_the_askers_own_latest_else_anyones() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path(), Arc::new(bot::policy::AllowAll));
    let as_user = |user: &str, text: &str| Message {
        user: user.into(),
        ..msg(text)
    };
    let r = b.handle(&as_user("ann", "!run sleeper")).await;
    let ann = r.track[0];
    let r = b.handle(&as_user("bob", "!run sleeper")).await;
    let bob = r.track[0];
    assert!(bob > ann);
    // "status" with no id: each asker gets their own run, not the newest one
    let r = b.handle(&as_user("ann", "!status")).await;
    assert!(r.texts[0].starts_with(&format!("#{ann} sleeper")), "{r:?}");
    let r = b.handle(&as_user("bob", "!status")).await;
    assert!(r.texts[0].starts_with(&format!("#{bob} sleeper")), "{r:?}");
    // someone with no runs of their own gets the newest
    let r = b.handle(&as_user("carol", "!status")).await;
    assert!(r.texts[0].starts_with(&format!("#{bob} sleeper")), "{r:?}");
    for id in [ann, bob] {
        let r = b.handle(&msg(&format!("!cancel {id}"))).await;
        assert!(r.texts[0].contains("cancelled"), "{r:?}");
    }
}

/// Pushes reach each person in that person's language: the requester's channel in hers
/// (Chinese, chosen with `!lang zh`), a watcher's channel in his (English, his last message).
#[tokio::test]
async fn pushes_speak_each_persons_language() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path(), Arc::new(bot::policy::AllowAll));
    let mut events = b.platform.events();
    let r = b.handle(&msg("!lang zh")).await;
    assert_eq!(r.texts, ["好的，从现在起我用中文回复你。"]);
    let r = b.handle(&msg("!run sleeper")).await;
    assert!(r.texts[0].starts_with("已启动 sleeper，编号 #"), "{r:?}");
    let id = r.track[0];
    let bob = |text: &str| Message {
        user: "bob".into(),
        channel: "c2".into(),
        text: text.into(),
        thread: None,
    };
    let r = b.handle(&bob(&format!("!watch {id}"))).await;
    assert!(
        r.texts[0].starts_with(&format!("Watching #{id} sleeper (running for ")),
        "{r:?}"
    );
    // ann cancels it in Chinese; bob's push is English, and ann got her answer already
    let r = b.handle(&msg(&format!("!cancel {id}"))).await;
    assert!(
        r.texts[0].starts_with(&format!("#{id} sleeper 已被 ann 取消，运行了 ")),
        "{r:?}"
    );
    let pushes = final_pushes(&b, &mut events, id).await;
    let to = |c: &str| {
        pushes
            .iter()
            .find(|p| p.channel == c)
            .map(|p| p.text.as_str())
    };
    assert!(
        to("c2")
            .is_some_and(|t| t.starts_with(&format!("#{id} sleeper was cancelled by ann after "))),
        "{pushes:?}"
    );
    assert_eq!(to("c1"), Some(""), "{pushes:?}");
    // the choice survives a new bot on the same database
    let b = bot(dir.path(), Arc::new(bot::policy::AllowAll));
    let r = b.handle(&msg("!jobs")).await;
    assert!(r.texts[0].starts_with("你可以运行的作业："), "{r:?}");
}
