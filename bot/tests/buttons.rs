//! Quick-answer buttons where the bot asks a closed question (the confirmation of a sensitive
//! job, an approval request, a clarification), in-process without the language model: each
//! button's exact reply, and that sending that reply (what a click does) answers the question.

mod common;

use bot::config::Config;
use bot::handlers::Ctx;
use bot::intent::Intent;
use bot::{Bot, Button, ButtonStyle, Message};
use common::fixtures::{self, API_AND_ENVIRONMENTS, APP_AND_ENVIRONMENT};
use nlu::{Clarification, ClarifyOption, ClarifyReason, Outcome};

const ACCESS: &str = r#"
[access]
contact = "the ops leads"
  [access.roles]
  deployer = ["deploy:*", "env:*", "run:*", "status", "list", "history"]
  approver = ["status", "list", "history"]
  [[access.users]]
  name = "ann"
  chat = ["slack:UANN"]
  roles = ["deployer"]
  [[access.users]]
  name = "bob"
  chat = ["slack:UBOB"]
  roles = ["approver"]

[[approvals]]
environments = ["production"]
role = "approver"
timeout = "30m"
"#;

fn bot(dir: &std::path::Path) -> Bot {
    // deploy-app's environment is staging unless said
    let deploy = format!(
        r#"
[[jobs]]
id = "deploy-app"
sensitive = true
{APP_AND_ENVIRONMENT}  default = "staging"
  [jobs.run]
  argv = ["/bin/true"]
[[jobs]]
id = "rotate-logs"
  [jobs.run]
  argv = ["/bin/true"]
"#
    );
    let text = fixtures::config(&[API_AND_ENVIRONMENTS, &deploy, ACCESS]);
    let config = Config::from_toml_str(&text, "t.toml", dir).unwrap();
    fixtures::in_process_bot(config, dir, fixtures::guard)
}

fn from(user: &str, text: &str) -> Message {
    Message {
        user: user.into(),
        channel: "slack:C1".into(),
        text: text.into(),
        thread: Some("1700000000.000100".into()),
    }
}

fn buttons(spec: &[(&str, &str, ButtonStyle)]) -> Vec<Button> {
    spec.iter()
        .map(|(l, r, s)| Button::new(*l, *r, *s))
        .collect()
}

#[tokio::test]
async fn a_sensitive_job_is_confirmed_with_yes_or_no_buttons() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path());
    let r = b
        .handle(&from("UANN", "!run deploy-app app=api environment=staging"))
        .await;
    assert!(r.texts.last().unwrap().ends_with("? (yes/no)"), "{r:?}");
    assert_eq!(
        r.buttons,
        buttons(&[
            ("Yes", "!yes", ButtonStyle::Primary),
            ("No", "!no", ButtonStyle::Default)
        ])
    );
    // clicking Yes sends `!yes`: the job starts
    let r = b.handle(&from("UANN", "!yes")).await;
    assert!(
        r.texts[0].starts_with("Started deploy-app as #1001"),
        "{r:?}"
    );
    assert!(r.buttons.is_empty());
    // clicking No sends `!no`: nothing runs
    b.handle(&from("UANN", "!run deploy-app app=api")).await;
    let r = b.handle(&from("UANN", "!no")).await;
    assert_eq!(r.texts, ["OK, I won't run deploy-app."]);
    // another user's click finds no question of theirs
    b.handle(&from("UANN", "!run deploy-app app=api")).await;
    let r = b.handle(&from("UBOB", "!yes")).await;
    assert_eq!(
        r.texts,
        ["There's nothing waiting for a yes or no right now."]
    );
}

#[tokio::test]
async fn production_gets_a_danger_yes_and_approve_reject_buttons() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path());
    let r = b.handle(&from("UANN", "!deploy api production")).await;
    assert_eq!(
        r.buttons,
        buttons(&[
            ("Yes", "!yes", ButtonStyle::Danger),
            ("No", "!no", ButtonStyle::Default)
        ]),
        "{r:?}"
    );
    let r = b.handle(&from("UANN", "!yes")).await;
    assert!(
        r.texts[0].contains("needs approval") && r.texts[0].contains("request 1"),
        "{r:?}"
    );
    assert_eq!(
        r.buttons,
        buttons(&[
            ("Approve #1", "!approve 1", ButtonStyle::Danger),
            ("Reject", "!reject 1", ButtonStyle::Default)
        ])
    );
    // the requester's click on Approve is refused; the approver's works
    let r = b.handle(&from("UANN", "!approve 1")).await;
    assert!(
        r.texts[0].contains("can't approve your own request 1"),
        "{r:?}"
    );
    let r = b.handle(&from("UBOB", "!approve 1")).await;
    assert!(
        r.texts[0].starts_with("Approved request 1 by bob: started deploy-app as #1001"),
        "{r:?}"
    );
    // Reject
    b.handle(&from("UANN", "!deploy api prod")).await;
    let r = b.handle(&from("UANN", "!yes")).await;
    assert_eq!(r.buttons[1].reply, "!reject 2", "{r:?}");
    let r = b.handle(&from("UBOB", "!reject 2")).await;
    assert!(r.texts[0].starts_with("Rejected request 2"), "{r:?}");
}

#[tokio::test]
async fn clarification_options_become_numbered_buttons() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path());
    let msg = from("UANN", "rotate things");
    let mut parse = bot::router::parse_command("!jobs", chrono::Utc::now())
        .unwrap()
        .unwrap();
    parse.text = msg.text.clone();
    parse.outcome = Outcome::Clarify;
    parse.clarification = Some(Clarification {
        reason: ClarifyReason::AmbiguousIntent,
        options: vec![
            ClarifyOption {
                intent: Intent::JobHistory.name(),
                label: "show the history of runs".into(),
                entity: None,
            },
            ClarifyOption {
                intent: Intent::ListJobs.name(),
                label: "list the jobs".into(),
                entity: None,
            },
        ],
    });
    let ctx = Ctx {
        bot: b.services(),
        msg: &msg,
        now: chrono::Utc::now(),
        lang: bot::i18n::Lang::En,
    };
    let r = b.dispatch(&ctx, &parse).await;
    assert!(r.texts[0].contains("  2. list the jobs"), "{r:?}");
    assert_eq!(
        r.buttons,
        buttons(&[
            ("show the history of runs", "1", ButtonStyle::Default),
            ("list the jobs", "2", ButtonStyle::Default)
        ])
    );
    // clicking the second sends `2`: the jobs are listed
    let r = b.handle(&from("UANN", "2")).await;
    assert!(r.texts.iter().any(|t| t.contains("rotate-logs")), "{r:?}");
}

#[tokio::test]
async fn replies_without_a_question_have_no_buttons() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path());
    for text in ["!jobs", "!run rotate-logs", "!help", "!history"] {
        let r = b.handle(&from("UANN", text)).await;
        assert!(r.buttons.is_empty(), "{text}: {r:?}");
    }
}
