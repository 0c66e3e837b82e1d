//! Security end to end, through the real binary: roles, disabled and unknown users,
//! approvals (self-approval refused, a second person approving), change freezes, rate limits,
//! secret masking in replies, logs and the audit trail, and `bot audit verify` catching an
//! edited row of the SQLite file.

mod common;

use common::fixtures::{self, bot_section, deploy_app, APP_AND_ENVIRONMENT, BACKUP_DATABASE};
use common::{audit, Bot};
use std::path::Path;
use std::process::Command;

/// A limit on messages, and the catalog: one host, two apps, two environments.
const CATALOG: &str = r#"
[security]
max_message_bytes = 500

[[hosts]]
id = "db-01"
[[apps]]
id = "api"
[[apps]]
id = "payments-api"
aliases = ["payments"]
[[environments]]
id = "staging"
[[environments]]
id = "production"
"#;

const SET_PASSWORD: &str = r#"
[[jobs]]
id = "set-password"
description = "Set a database password"
  [[jobs.parameters]]
  name = "password"
  kind = "string"
  required = true
  [[jobs.parameters]]
  name = "user"
  kind = "string"
  required = false
  default = "app"
  [jobs.run]
  argv = ["scripts/echo.sh", "{password}"]
  secret = ["password"]
  patterns = { user = "[a-z]+" }
"#;

const ACCESS: &str = r#"
[access]
contact = "the ops leads"
  [access.roles]
  viewer = ["status", "list", "history"]
  operator = ["run:*", "env:staging", "cancel", "status", "list", "history"]
  deployer = ["deploy:*", "status", "list", "history"]
  approver = ["status", "list", "history"]
  [[access.users]]
  name = "alice"
  chat = ["terminal:alice"]
  roles = ["operator", "deployer"]
  [[access.users]]
  name = "bob"
  chat = ["terminal:bob"]
  roles = ["approver"]
  [[access.users]]
  name = "carol"
  chat = ["terminal:carol"]
  roles = ["viewer"]
  [[access.users]]
  name = "dave"
  chat = ["terminal:dave"]
  roles = ["operator"]
  enabled = false

[[approvals]]
environments = ["production"]
role = "approver"
timeout = "10m"
"#;

fn base() -> String {
    fixtures::config(&[
        &bot_section("dialog_timeout = \"1m\""),
        CATALOG,
        BACKUP_DATABASE,
        SET_PASSWORD,
        &deploy_app(),
        ACCESS,
    ])
}

const SCRIPTS: &[(&str, &str)] = &[
    (
        "quick.sh",
        "#!/bin/sh\necho \"start ${JOB_ID}\"\nsleep 0.2\necho done\n",
    ),
    (
        "echo.sh",
        "#!/bin/sh\nprintf 'env=%s\\n' \"$JOB_PARAM_PASSWORD\"\nprintf 'arg=%s\\n' \"$1\"\n",
    ),
];

fn setup(extra: &str) -> tempfile::TempDir {
    fixtures::bot_folder(&format!("{}\n{extra}", base()), SCRIPTS)
}

/// `base` with `from` replaced by `to` (which must be there).
fn edited(base: &str, edits: &[(&str, &str)]) -> String {
    let mut text = base.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

impl Bot {
    /// Starts `bot chat --multi-user` as `user`, with info logs in `bot.log`.
    fn start(dir: &Path, user: &str) -> Bot {
        Bot::start_at(dir, user, None)
    }

    /// The same with the bot's clock starting at `now` (RFC 3339; `BOT_NOW`, for tests).
    fn start_at(dir: &Path, user: &str, now: Option<&str>) -> Bot {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
        match now {
            Some(t) => cmd.env("BOT_NOW", t),
            None => cmd.env_remove("BOT_NOW"),
        };
        cmd.args(["chat", "--multi-user", "--wait", "--user", user, "--config"])
            .arg(dir.join("bot.toml"))
            .arg("--log")
            .arg(dir.join("bot.log"))
            .env("BOT_LOG", "info")
            .stderr(std::process::Stdio::null());
        Bot::spawn(cmd)
    }

    /// Closes stdin, waits for the exit; returns the whole transcript.
    fn transcript_at_exit(self) -> Vec<String> {
        let mut transcript = self.transcript.clone();
        let rest = self.finish();
        transcript.extend(rest);
        transcript
    }
}

#[test]
fn roles_unknown_and_disabled_users_and_filtered_help() {
    let dir = setup("");
    let mut bot = Bot::start(dir.path(), "mallory");
    bot.send("!jobs");
    bot.expect("Not allowed: I don't know you (terminal:mallory), so I can't take commands from you. Suggestion: ask the ops leads to add `terminal:mallory` to the bot's users. (error id ");
    bot.send("@as dave: !run backup-database target=db-01");
    bot.expect("Not allowed: your account `dave` is disabled");
    bot.send("@as carol: !run backup-database target=db-01");
    let l = bot.expect("Not allowed: carol may not run backup-database: that needs permission `run:backup-database`.");
    assert!(l.contains("ask the ops leads for role `operator`"), "{l}");
    assert!(l.contains("(alice)"), "{l}");
    // the viewer sees no job she cannot run
    bot.send("@as carol: !jobs");
    bot.expect("Jobs you can run:");
    bot.send("@as carol: !help");
    bot.expect("Your usual requests, carol");
    bot.expect("0 jobs are available to you");
    // the operator may run it, but not in production
    bot.send("@as alice: !run backup-database target=db-01");
    bot.expect("Started backup-database as #1001");
    bot.send("@as carol: !status 1001");
    bot.expect("#1001 backup-database");
    bot.send("@as alice: !help");
    bot.expect("Your usual requests, alice");
    bot.expect("3 jobs are available to you");
    let t = bot.transcript_at_exit();
    let carol_jobs = t
        .iter()
        .skip_while(|l| !l.contains(">>> @as carol: !jobs"))
        .take_while(|l| !l.contains(">>> @as carol: !help"))
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!carol_jobs.contains("- backup-database"), "{carol_jobs}");
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    // the error id of a refusal is in the log
    let id_line = t
        .iter()
        .find(|l| l.contains("terminal:mallory") && l.contains("error id"))
        .unwrap();
    let id = id_line
        .rsplit("error id ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert!(log.contains(id), "error id {id} not in the log:\n{log}");
    let (code, out) = audit(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn production_needs_a_second_person() {
    let dir = setup("");
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!deploy api production");
    bot.expect(
        "deploy-app is sensitive. Run it now with app=api, environment=production? (yes/no)",
    );
    bot.send("yes");
    bot.expect("deploy-app needs approval: changes to production need approval. I filed approval request 1; someone with role `approver` (bob) can say `!approve 1`");
    bot.send("!approve 1");
    bot.expect("Not allowed: you can't approve your own request 1; a second person must. Suggestion: ask someone with role `approver` (bob).");
    bot.send("@as carol: !approve 1");
    bot.expect("Not allowed: carol may not approve request 1: that needs role `approver`.");
    bot.send("@as bob: !approvals");
    bot.expect("Waiting for approval:");
    bot.expect("  1. deploy-app (app=api, environment=production) for alice");
    bot.send("@as bob: !approve 1");
    bot.expect("Approved request 1 by bob: started deploy-app as #1001 for alice (app=api, environment=production).");
    bot.expect("#1001 deploy-app succeeded");
    bot.send("@as bob: !approve 1");
    bot.expect("Not right now: request 1 is already approved (by bob).");
    // staging needs no approval
    bot.send("!deploy api staging");
    bot.send("yes");
    bot.expect("deploy-app is sensitive.");
    bot.expect("Started deploy-app as #1002");
    bot.transcript_at_exit();
    let (code, out) = audit(dir.path(), &["export", "--user", "bob"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"decision\":\"approved\""), "{out}");
    assert!(out.contains("\"approval_id\":1"), "{out}");
}

/// The reason a requester gives in plain words travels with the approval request: the
/// approver sees it in `!approvals`, and the request's and the approval's audit records hold it.
#[test]
fn approvers_see_why_the_requester_asked() {
    let dir = setup("");
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("deploy api to production because the payment fix has to ship today");
    bot.expect(
        "deploy-app is sensitive. Run it now with app=api, environment=production? (yes/no)",
    );
    bot.expect("Reason: the payment fix has to ship today");
    bot.send("yes");
    bot.expect("deploy-app needs approval: changes to production need approval. I filed approval request 1");
    bot.send("@as bob: !approvals");
    bot.expect("Waiting for approval:");
    let line = bot.expect("  1. deploy-app (app=api, environment=production) for alice");
    assert!(
        line.ends_with("(asked because: the payment fix has to ship today)"),
        "{line}"
    );
    bot.send("@as bob: !approve 1");
    bot.expect("Approved request 1 by bob: started deploy-app as #1001 for alice");
    bot.transcript_at_exit();
    let (code, out) = audit(dir.path(), &["export"]);
    assert_eq!(code, 0, "{out}");
    let approvals: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("\"kind\":\"approval\""))
        .collect();
    assert_eq!(approvals.len(), 2, "{out}");
    for record in approvals {
        assert!(
            record.contains("\"justification\":\"the payment fix has to ship today\""),
            "{record}"
        );
    }
}

/// Refusal and approval in Chinese: a Chinese request, a viewer refused in her language, and
/// an approver whose language is set in `[access.users]` (`lang = "zh"`) approving with an
/// exact command.
#[test]
fn refusal_and_approval_in_chinese() {
    let config = edited(
        &base(),
        &[(
            "  name = \"bob\"\n  chat = [\"terminal:bob\"]\n",
            "  name = \"bob\"\n  chat = [\"terminal:bob\"]\n  lang = \"zh\"\n",
        )],
    );
    let dir = fixtures::bot_folder(&config, SCRIPTS);
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("@as carol: 在 db-01 上跑一下 backup-database");
    bot.expect("不允许：carol 无权运行 backup-database：需要权限 `run:backup-database`。建议：请向 the ops leads 申请角色 `operator`，或请有该角色的人（alice）代为执行。（错误编号 ");
    bot.send("!deploy api production");
    bot.expect("deploy-app is sensitive.");
    bot.send("确认");
    bot.expect("deploy-app 需要审批：变更 production 需要审批。我已提交审批请求 1；角色为 `approver` 的人（bob）可以在 10m 00s 内发送 `!approve 1`（或 `!reject 1`）。发起人不能自己审批。");
    bot.send("@as bob: !approvals");
    bot.expect("等待审批：");
    bot.expect("  1. deploy-app（app=api, environment=production），发起人 alice：变更 production 需要审批；审批角色 `approver`，");
    bot.send("@as bob: !approve 1");
    bot.expect("bob 已批准请求 1：已为 alice 启动 deploy-app，编号 #1001（app=api, environment=production）。结果会发到 terminal。");
    bot.expect("#1001 deploy-app 成功");
    bot.transcript_at_exit();
}

#[test]
fn freeze_refuses_and_says_when_it_opens() {
    let dir = setup(
        r#"
[[windows]]
environment = "staging"
outside = "refuse"
freezes = [{ from = "2000-01-01T00:00:00Z", to = "2099-01-01T00:00:00Z", reason = "migration" }]
"#,
    );
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!deploy api staging");
    bot.expect("Not right now: staging is in a change freeze (migration), so I won't change it now. Suggestion: the window opens 2099-01-01 00:00:00 UTC.");
    bot.send("!run backup-database target=db-01");
    bot.expect("Started backup-database as #1001");
    bot.transcript_at_exit();
}

/// Staging may change on weekdays 09:00-17:00 (else refused) and not during a release
/// freeze on Thursday 2026-03-05; production outside 09:00-17:00 needs an approval.
const WINDOWS: &str = r#"
[[windows]]
environment = "staging"
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-17:00"
outside = "refuse"
freezes = [{ from = "2026-03-05T00:00:00Z", to = "2026-03-06T00:00:00Z", reason = "release" }]

[[windows]]
environment = "production"
hours = "09:00-17:00"
outside = "approval"
"#;

#[test]
fn scheduled_runs_are_judged_by_the_window_at_their_time() {
    // Tuesday 2026-03-03 10:00 UTC: inside the window
    let dir = setup(WINDOWS);
    let mut bot = Bot::start_at(dir.path(), "alice", Some("2026-03-03T10:00:00Z"));
    // a run for 23:00 is outside it: refused before the confirmation, saying when it opens
    // after that time
    bot.send("!deploy api staging at=2026-03-03T23:00:00Z");
    bot.expect("Not right now: staging is outside its change window at 2026-03-03 23:00:00 UTC, when the run is scheduled, so I won't schedule that change. Suggestion: the window opens 2026-03-04 09:00:00 UTC, 10h 00m after the scheduled time. (error id ");
    // the same in plain words ("tonight" is the bot clock's tonight)
    bot.send("deploy api to staging tonight at 23:00");
    bot.expect("Not right now: staging is outside its change window at 2026-03-03 23:00:00 UTC, when the run is scheduled");
    // a freeze that covers the scheduled time (Thursday 10:00, inside the hours)
    bot.send("!deploy api staging at=2026-03-05T10:00:00Z");
    bot.expect("Not right now: staging is in a change freeze (release) at 2026-03-05 10:00:00 UTC, when the run is scheduled, so I won't schedule that change. Suggestion: the window opens 2026-03-06 09:00:00 UTC, 23h 00m after the scheduled time.");
    // production outside its hours at the scheduled time: a second person must approve
    bot.send("!deploy api production at=2026-03-03T20:00:00Z");
    bot.expect("deploy-app is sensitive. Run it at 2026-03-03 20:00:00 UTC with app=api, environment=production? (yes/no)");
    bot.send("yes");
    bot.expect("deploy-app needs approval: production is outside its change window at 2026-03-03 20:00:00 UTC, when the run is scheduled (the window opens 2026-03-04 09:00:00 UTC, 13h 00m after the scheduled time). I filed approval request 1;");
    // now is inside the window: an immediate run goes ahead
    bot.send("!deploy api staging");
    bot.send("yes");
    bot.expect("deploy-app is sensitive.");
    bot.expect("Started deploy-app as #1001 (app=api, environment=staging).");
    bot.transcript_at_exit();

    // vice versa: 07:00, before the window opens
    let dir = setup(WINDOWS);
    let mut bot = Bot::start_at(dir.path(), "alice", Some("2026-03-03T07:00:00Z"));
    bot.send("!deploy api staging");
    bot.expect("Not right now: staging is outside its change window, so I won't change it now. Suggestion: the window opens 2026-03-03 09:00:00 UTC.");
    // a run scheduled inside the window is allowed
    bot.send("!deploy api staging at=2026-03-03T10:00:00Z");
    bot.expect("deploy-app is sensitive. Run it at 2026-03-03 10:00:00 UTC with app=api, environment=staging? (yes/no)");
    bot.send("yes");
    bot.expect("Scheduled deploy-app as #1001 for 2026-03-03 10:00:00 UTC (in ");
    bot.send("!cancel 1001");
    bot.expect("#1001");
    bot.transcript_at_exit();
    let (code, out) = audit(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn rate_limit_says_when_to_retry() {
    let dir = setup(
        r#"
[rate_limit]
per_user = { capacity = 2, refill = "1m" }
"#,
    );
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!status");
    bot.send("!jobs");
    bot.send("!jobs");
    bot.expect("Nothing has run yet.");
    bot.expect("Jobs you can run:");
    bot.expect("Not right now: you are sending commands faster than allowed. Suggestion: try again in 60s.");
    // another user has their own bucket
    bot.send("@as carol: !jobs");
    bot.expect("Jobs you can run:");
    bot.transcript_at_exit();
}

#[test]
fn secrets_never_echo_and_hostile_input_is_refused() {
    let dir = setup("");
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!run set-password password=hunter2secret");
    bot.expect("Started set-password as #1001 (password=***, user=app).");
    bot.expect("#1001 set-password succeeded");
    bot.expect("  | env=***");
    bot.expect("  | arg=***");
    bot.expect("by alice; CPU");
    bot.send("!status 1001");
    bot.expect("#1001 set-password succeeded");
    bot.expect("password=***");
    // asked for in a dialog: the answer is secret too
    bot.send("!run set-password");
    bot.expect("set-password needs `password`");
    bot.send("s3cr3t-answer");
    bot.expect("Started set-password as #1002");
    // its result is pushed whenever it ends
    bot.tolerate("#1002 set-password succeeded");
    bot.send("!run set-password password=abcdef user=Bad1");
    bot.expect("Invalid input: `Bad1` is not a valid value for `user` of set-password. Suggestion: it must match the pattern `[a-z]+`.");
    bot.send(&"x".repeat(600));
    bot.expect("Invalid input: that message is too long (600 bytes; the limit is 500).");
    bot.send("!jo\u{7}bs\u{1b}");
    bot.expect("Jobs you can run:");
    let t = bot
        .transcript_at_exit()
        .into_iter()
        .filter(|l| !l.starts_with(">>> "))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in ["hunter2secret", "s3cr3t-answer", "abcdef"] {
        assert!(!t.contains(secret), "{secret} in the replies:\n{t}");
        let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        let (code, out) = audit(dir.path(), &["export"]);
        assert_eq!(code, 0);
        assert!(!out.contains(secret), "{secret} in the audit:\n{out}");
        assert!(out.contains("\"password\":\"***\""), "{out}");
    }
}

#[test]
fn audit_verify_catches_an_edited_row() {
    let dir = setup("");
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!run backup-database target=db-01");
    bot.expect("Started backup-database as #1001");
    bot.send("@as carol: !run backup-database target=db-01");
    bot.expect("Not allowed: carol may not run backup-database");
    bot.transcript_at_exit();
    let (code, out) = audit(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail OK"), "{out}");
    let (_, export) = audit(dir.path(), &["export"]);
    let lines: Vec<&str> = export.lines().collect();
    assert!(lines.len() >= 5, "{export}");
    // every record says who, what and the decision
    let refused = lines
        .iter()
        .find(|l| l.contains("\"decision\":\"deny\"") && l.contains("carol"))
        .expect("the refusal is recorded");
    assert!(refused.contains("\"intent\":\"run\""), "{refused}");
    assert!(refused.contains("\"platform\":\"terminal\""), "{refused}");
    assert!(refused.contains("run:backup-database"), "{refused}");

    // someone hides carol's refusal: edits record 4 directly in the SQLite file
    let db = dir.path().join("bot.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    assert!(c
        .execute("UPDATE audit SET record = record WHERE seq = 1", [])
        .is_err());
    c.execute_batch("DROP TRIGGER audit_no_update").unwrap();
    let seq: i64 = c
        .query_row(
            "SELECT seq FROM audit WHERE record LIKE '%\"decision\":\"deny\"%' ORDER BY seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.execute(
        "UPDATE audit SET record = replace(record, '\"decision\":\"deny\"', '\"decision\":\"allow\"') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    drop(c);
    let (code, out) = audit(dir.path(), &["verify"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(&format!("record {seq} was edited")), "{out}");
}

/// Roles that grant apps, and erin, who may work on payments-api only.
const APP_EDITS: &[(&str, &str)] = &[
    (
        "  approver = [\"status\", \"list\", \"history\"]\n",
        "  approver = [\"status\", \"list\", \"history\"]\n  payments = [\"app:payments-api\"]\n  api-team = [\"app:api\"]\n",
    ),
    (
        "  [[access.users]]\n  name = \"bob\"",
        "  [[access.users]]\n  name = \"erin\"\n  chat = [\"terminal:erin\"]\n  roles = [\"operator\", \"deployer\", \"payments\"]\n  [[access.users]]\n  name = \"bob\"",
    ),
];

/// Jobs that name an app.
fn app_jobs() -> String {
    format!(
        r#"
[[jobs]]
id = "restart-service"
description = "Restart an application's service"
{APP_AND_ENVIRONMENT}  [jobs.run]
  argv = ["scripts/quick.sh"]

[[jobs]]
id = "flush-api-cache"
description = "Flush the API's cache"
  [[jobs.parameters]]
  name = "app"
  kind = "app"
  required = false
  default = "api"
  choices = ["api"]
  [jobs.run]
  argv = ["scripts/quick.sh"]
"#
    )
}

#[test]
fn app_permissions_limit_runs_and_deploys_to_the_apps_held() {
    let text = edited(&base(), APP_EDITS) + &app_jobs();
    let dir = fixtures::bot_folder(&text, SCRIPTS);
    let mut bot = Bot::start(dir.path(), "erin");
    // erin holds app:payments-api: deploys and runs of it go ahead
    bot.send("!deploy payments-api staging");
    bot.expect(
        "deploy-app is sensitive. Run it now with app=payments-api, environment=staging? (yes/no)",
    );
    bot.send("yes");
    bot.expect("Started deploy-app as #1001");
    // its result is pushed whenever the run ends, between any of the replies below
    bot.tolerate("#1001 deploy-app succeeded");
    // another app is refused before the confirmation, naming the permission and whom to ask
    bot.send("!deploy api staging");
    bot.expect("Not allowed: erin may not deploy api to staging: that needs permission `app:api`. Suggestion: ask the ops leads for role `api-team`. (error id ");
    bot.send("!run restart-service app=api environment=staging");
    bot.expect(
        "Not allowed: erin may not run restart-service for api: that needs permission `app:api`.",
    );
    // a default names the app too
    bot.send("!run flush-api-cache");
    bot.expect(
        "Not allowed: erin may not run flush-api-cache for api: that needs permission `app:api`.",
    );
    // the app a message names in plain words is checked the same way
    bot.send("deploy the api to staging");
    bot.expect("Not allowed: erin may not deploy api to staging: that needs permission `app:api`.");
    // nothing ran: the next run gets the next id
    bot.send("!run restart-service app=payments-api environment=staging");
    bot.expect("Started restart-service as #1002");
    bot.tolerate("#1002 restart-service ");
    // production deploys of her app still need a second person; of another app she gets no
    // approval request at all
    bot.send("!deploy api production");
    bot.expect(
        "Not allowed: erin may not deploy api to production: that needs permission `app:api`.",
    );
    bot.send("!deploy payments-api production");
    bot.send("yes");
    bot.expect("deploy-app is sensitive.");
    bot.expect("deploy-app needs approval: changes to production need approval. I filed approval request 1;");
    bot.send("@as bob: !approvals");
    bot.expect("Waiting for approval:");
    bot.expect("  1. deploy-app (app=payments-api, environment=production) for erin");
    // the job list hides only the job she can run for no app (its only choice is api)
    bot.send("!jobs");
    bot.expect("Jobs you can run:");
    // alice holds no app permission: every app, as before
    bot.send("@as alice: !run restart-service app=api environment=staging");
    bot.expect("restart-service as #1003 (app=api, environment=staging)");
    bot.tolerate("#1003 restart-service ");
    bot.send("@as alice: !jobs");
    bot.expect("Jobs you can run:");
    // the replies only (what was sent is interleaved where it was sent), and in them the
    // two job lists: erin's, then alice's
    let replies: Vec<String> = bot
        .transcript_at_exit()
        .into_iter()
        .filter(|l| !l.starts_with(">>> "))
        .collect();
    let lists: Vec<String> = replies
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("Jobs you can run:"))
        .map(|(i, _)| {
            replies[i + 1..]
                .iter()
                .take_while(|l| l.starts_with("- ") || l.starts_with("  "))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert_eq!(lists.len(), 2, "{replies:?}");
    let (erin_jobs, alice_jobs) = (&lists[0], &lists[1]);
    assert!(erin_jobs.contains("- restart-service"), "{erin_jobs}");
    assert!(erin_jobs.contains("- deploy-app"), "{erin_jobs}");
    assert!(!erin_jobs.contains("- flush-api-cache"), "{erin_jobs}");
    assert!(alice_jobs.contains("- flush-api-cache"), "{alice_jobs}");
    // the refusals are in the audit trail with the permission they lacked
    let (code, out) = audit(dir.path(), &["export", "--user", "erin"]);
    assert_eq!(code, 0, "{out}");
    let denied = out
        .lines()
        .filter(|l| l.contains("\"decision\":\"deny\"") && l.contains("`app:api`"))
        .count();
    assert!(denied >= 5, "{out}");
}

/// `bot check-config` on `base` with `edit` applied: success, the first line of stderr, the
/// file's text and its path.
fn check_config(edit: impl Fn(&str) -> String) -> (bool, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = edit(&base());
    let path = dir.path().join("bot.toml");
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        text,
        path.display().to_string(),
    )
}

/// The 1-based line of the file that contains `needle` (it must be there once).
fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle:?} in {lines:?}");
    lines[0]
}

#[test]
fn security_config_errors_name_the_line_and_the_fix() {
    let cases: [(&str, &str, &str, &str); 6] = [
        // (replace, with, the offending text, the message)
        (
            r#"operator = ["run:*", "env:staging","#,
            r#"operator = ["run:*", "env:stagng","#,
            "env:stagng",
            "role `operator`: `env:stagng` names no environment of the catalog; did you mean `env:staging`? Write `env:NAME` with one of its environments (staging, production) or `env:*`",
        ),
        (
            r#"deployer = ["deploy:*","#,
            r#"deployer = ["app:ap1", "deploy:*","#,
            "app:ap1",
            "role `deployer`: `app:ap1` names no app of the catalog; did you mean `app:api`? Write `app:NAME` with one of its apps (api, payments-api) or `app:*`",
        ),
        (
            "  roles = [\"viewer\"]\n",
            "  roles = [\"viewr\"]\n",
            "viewr",
            "user `carol` has an unknown role `viewr`; did you mean `viewer`? Roles under [access.roles]: approver, deployer, operator, viewer",
        ),
        (
            "timeout = \"10m\"",
            "timeout = \"ten minutes\"",
            "ten minutes",
            "approval rule: `timeout` (how long a request waits for an approver) must be a positive duration; write e.g. timeout = \"30m\" or \"2h\"",
        ),
        (
            "[access]\n",
            "[[windows]]\nenvironment = \"production\"\nhours = \"9am-5pm\"\n\n[access]\n",
            "9am-5pm",
            "window `production`: hours `9am-5pm` must be \"HH:MM-HH:MM\" with the start before the end, in the bot's time zone; write e.g. hours = \"09:00-17:00\"",
        ),
        (
            "[access]\n",
            "[rate_limit]\nper_user = { capacity = 5, refill = \"-3s\" }\n\n[access]\n",
            "-3s",
            "rate_limit.per_user: `refill` (how often one more command is allowed) must be a positive duration; write e.g. refill = \"3s\" or \"200ms\"",
        ),
    ];
    for (from, to, needle, message) in cases {
        let (ok, err, text, path) = check_config(|base| {
            assert!(base.contains(from), "{from:?}");
            base.replacen(from, to, 1)
        });
        assert!(!ok, "{needle}: accepted");
        let line = line_of(&text, needle);
        assert_eq!(err, format!("bot: {path}:{line}: {message}"), "{needle}");
    }
    let (ok, err, _, _) = check_config(str::to_string);
    assert!(ok, "{err}");
}

/// alice's account, disabled.
const ALICE_DISABLED: (&str, &str) = (
    "  roles = [\"operator\", \"deployer\"]\n",
    "  roles = [\"operator\", \"deployer\"]\n  enabled = false\n",
);

#[test]
fn a_revoked_users_scheduled_run_and_approval_request_do_not_run() {
    let dir = setup("");
    // alice schedules a run and files a production deploy for approval; the bot stops (no
    // --wait: the scheduled run stays scheduled)
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
    cmd.args(["chat", "--multi-user", "--user", "alice", "--config"])
        .arg(dir.path().join("bot.toml"))
        .stderr(std::process::Stdio::null());
    let mut bot = Bot::spawn(cmd);
    bot.send("!run backup-database target=db-01 at=+5s");
    bot.expect("Scheduled backup-database as #1001");
    bot.send("!deploy api production");
    bot.expect("deploy-app is sensitive.");
    bot.send("yes");
    bot.expect("I filed approval request 1;");
    bot.finish();
    // alice is disabled, and the bot restarts with that configuration
    std::fs::write(
        dir.path().join("bot.toml"),
        edited(&format!("{}\n", base()), &[ALICE_DISABLED]),
    )
    .unwrap();
    let mut bot = Bot::start(dir.path(), "bob");
    // her scheduled run does not start when it is due, and the channel is told why
    let l = bot.expect_within(
        "#1001 backup-database failed to start: alice may no longer run it (your account `alice` is disabled",
        std::time::Duration::from_secs(30),
    );
    // bob's approval does not start her request
    bot.send("!approve 1");
    bot.expect("Not allowed: request 1 can't go ahead: its requester alice may no longer do this (your account `alice` is disabled");
    bot.send("!approve 1");
    bot.expect("Not right now: request 1 is already revoked (by bob).");
    let t = bot.transcript_at_exit().join("\n");
    assert!(!t.contains("start backup-database"), "{l}\n{t}");
    assert!(!t.contains("Approved request 1"), "{t}");
    let (code, out) = audit(dir.path(), &["export"]);
    assert_eq!(code, 0, "{out}");
    let rechecked = out
        .lines()
        .filter(|l| l.contains("re-checked at execution") && l.contains("\"decision\":\"deny\""))
        .count();
    assert_eq!(rechecked, 2, "{out}");
}

#[test]
fn audit_export_user_takes_the_chat_identity_or_the_user_id() {
    let dir = setup("");
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!run backup-database target=db-01");
    bot.expect("Started backup-database as #1001");
    bot.send("@as carol: !run backup-database target=db-01");
    bot.expect("Not allowed: carol may not run backup-database");
    bot.transcript_at_exit();
    let records = |user: &str| -> Vec<String> {
        let (code, out) = audit(dir.path(), &["export", "--user", user]);
        assert_eq!(code, 0, "{out}");
        out.lines().map(str::to_string).collect()
    };
    // the identity as the configuration writes it (`chat = ["terminal:alice"]`)
    let by_identity = records("terminal:alice");
    assert!(!by_identity.is_empty(), "no records for terminal:alice");
    assert!(
        by_identity.iter().all(|l| l.contains("\"user\":\"alice\"")),
        "{by_identity:?}"
    );
    assert!(
        !by_identity.iter().any(|l| l.contains("carol")),
        "{by_identity:?}"
    );
    // the chat user id and the mapped user find the same records
    assert_eq!(records("alice"), by_identity);
    // another platform's user of the same id is someone else
    assert!(records("slack:alice").is_empty());
    assert!(!records("terminal:carol").is_empty());
}

#[test]
fn a_secret_parameter_awaiting_approval_is_kept_out_of_the_database_and_reaches_the_job() {
    let dir = setup("[[approvals]]\njobs = [\"set-password\"]\nrole = \"approver\"\n");
    // the job says how long the value it got is: 13 for the secret, 3 for `***`
    std::fs::write(
        dir.path().join("scripts/echo.sh"),
        "#!/bin/sh\nprintf 'length=%s\\n' \"${#JOB_PARAM_PASSWORD}\"\n",
    )
    .unwrap();
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!run set-password password=hunter2secret");
    bot.expect("I filed approval request 1;");
    bot.send("@as bob: !approve 1");
    bot.expect(
        "Approved request 1 by bob: started set-password as #1001 for alice (password=***).",
    );
    bot.expect("#1001 set-password succeeded");
    bot.expect("  | length=13");
    bot.finish();
    let c = rusqlite::Connection::open(dir.path().join("bot.sqlite")).unwrap();
    let params: String = c
        .query_row("SELECT params FROM approvals WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(params, "{\"password\":\"***\"}");
    let leaked: i64 = c
        .query_row(
            "SELECT (SELECT count(*) FROM approvals WHERE params LIKE '%hunter2%')
                  + (SELECT count(*) FROM executions WHERE params LIKE '%hunter2%' OR output LIKE '%hunter2%')
                  + (SELECT count(*) FROM audit WHERE record LIKE '%hunter2%')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0);
}

#[test]
fn a_secret_parameter_lost_at_a_restart_stops_its_approval_request() {
    let dir = setup("[[approvals]]\njobs = [\"set-password\"]\nrole = \"approver\"\n");
    let mut bot = Bot::start(dir.path(), "alice");
    bot.send("!run set-password password=hunter2secret");
    bot.expect("I filed approval request 1;");
    bot.finish();
    // the value was only in the first bot's memory: approving after a restart runs nothing
    let mut bot = Bot::start(dir.path(), "bob");
    bot.send("!approve 1");
    bot.expect("Not right now: request 1 can't go ahead: the secret value of `password` was kept in memory only, and the bot has restarted since. Suggestion: nothing ran; alice can ask again.");
    bot.send("!approve 1");
    bot.expect("Not right now: request 1 is already expired (by bob).");
    bot.finish();
    let c = rusqlite::Connection::open(dir.path().join("bot.sqlite")).unwrap();
    let runs: i64 = c
        .query_row("SELECT count(*) FROM executions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 0);
}
