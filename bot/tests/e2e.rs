//! End-to-end tests: the real `bot` binary, driven through stdin/stdout, running real job
//! scripts from a test configuration in a temporary directory.

mod common;

use common::fixtures::{
    self, bot_section, deploy_app, job, BACKUP_DATABASE, FLAKY_TASK, HOSTS, LONG_TASK, QUICK_SH,
    SLEEP_SH,
};
use common::{process_alive, repo_root, Bot};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The apps and environments, with aliases.
const CATALOG: &str = r#"
[[apps]]
id = "api"
aliases = ["api server"]

[[environments]]
id = "staging"
aliases = ["stage"]
[[environments]]
id = "production"
aliases = ["prod"]
"#;

const ECHO_MESSAGE: &str = r#"
[[jobs]]
id = "echo-message"
description = "Print a message"
  [[jobs.parameters]]
  name = "message"
  kind = "string"
  required = true
  [jobs.run]
  argv = ["scripts/echo.sh", "{message}"]
"#;

const SLOW_TASK: &str = r#"
[[jobs]]
id = "slow-task"
description = "Runs past its timeout"
  [jobs.run]
  argv = ["scripts/sleep.sh"]
  env = { PID_FILE = "{job}-{execution_id}.pid" }
  timeout = "1s"
"#;

const ROTATE_LOGS: &str = r#"
[[jobs]]
id = "rotate-logs"
description = "Rotate logs"
  [[jobs.parameters]]
  name = "keep_days"
  kind = "integer"
  default = 7
  [[jobs.parameters]]
  name = "target"
  kind = "host"
  required = false
  [jobs.run]
  argv = ["scripts/quick.sh"]
"#;

fn config() -> String {
    fixtures::config(&[
        &bot_section("cancel_grace = \"1s\"\ndialog_timeout = \"1m\""),
        HOSTS,
        CATALOG,
        &job(
            BACKUP_DATABASE,
            r#"aliases = ["db backup", "database backup", "数据库备份", "备份数据库"]"#,
            "timeout = \"20s\"\nconcurrency = 4",
        ),
        ECHO_MESSAGE,
        FLAKY_TASK,
        SLOW_TASK,
        LONG_TASK,
        &deploy_app(),
        ROTATE_LOGS,
    ])
}

const SCRIPTS: &[(&str, &str)] = &[
    QUICK_SH,
    (
        "echo.sh",
        "#!/bin/sh\nprintf 'env=%s\\n' \"$JOB_PARAM_MESSAGE\"\nprintf 'arg=%s\\n' \"$1\"\n",
    ),
    (
        "fail.sh",
        "#!/bin/sh\necho 'about to fail'\necho 'boom' >&2\nexit 3\n",
    ),
    SLEEP_SH,
];

fn setup() -> tempfile::TempDir {
    fixtures::bot_folder(&config(), SCRIPTS)
}

impl Bot {
    fn start(dir: &Path, args: &[&str]) -> Bot {
        Bot::start_as(dir, "tester", args)
    }

    /// [`Bot::start`] with the bot's clock starting at `now` (RFC 3339; `BOT_NOW`).
    fn start_at(dir: &Path, now: &str, args: &[&str]) -> Bot {
        Bot::start_with(dir, "tester", Some(now), args)
    }

    fn start_as(dir: &Path, user: &str, args: &[&str]) -> Bot {
        Bot::start_with(dir, user, None, args)
    }

    fn start_with(dir: &Path, user: &str, now: Option<&str>, args: &[&str]) -> Bot {
        common::chat(dir, user, now, args)
    }
}

fn read_pid(dir: &Path, file: &str) -> i32 {
    common::read_pid(&dir.join(file))
}

fn eventually_gone(pgid: i32) -> bool {
    common::eventually_gone(pgid, Duration::from_secs(3))
}

#[test]
fn success_failure_status_and_history() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run backup-database target=db-01");
    bot.expect("Started backup-database as #1001 (target=db-01). I'll post the result here.");
    let l = bot.expect("#1001 backup-database succeeded in");
    assert!(l.ends_with("(exit code 0)."), "{l}");
    bot.expect("  | done backup-database");
    bot.send("!run flaky-task");
    bot.expect("Started flaky-task as #1002");
    let l = bot.expect("#1002 flaky-task failed after");
    assert!(l.ends_with("(exit code 3)."), "{l}");
    bot.expect("  | boom");
    bot.send("!status 1002");
    bot.expect("#1002 flaky-task failed after");
    bot.send("!status 4812");
    bot.expect("There is no execution #4812.");
    bot.send("!history");
    bot.expect("Last 2 runs, newest first:");
    let l = bot.expect("#1002  flaky-task");
    assert!(l.contains("failed") && l.contains("exit 3"), "{l}");
    let l = bot.expect("#1001  backup-database");
    assert!(
        l.contains("succeeded") && l.contains("exit 0") && l.contains("target=db-01"),
        "{l}"
    );
    bot.expect("Success rate: 1/2 (50%).");
    bot.send("!history status=failed");
    bot.expect("Last 1 run (status failed), newest first:");
    bot.finish();
}

#[test]
fn timeout_kills_the_group() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run slow-task");
    bot.expect("Started slow-task as #1001");
    let pid = read_pid(dir.path(), "slow-task-1001.pid");
    let l = bot.expect("#1001 slow-task timed out after");
    assert!(l.contains("stopped after the timeout of 1.0s"), "{l}");
    assert!(eventually_gone(pid), "process group {pid} is still there");
    bot.finish();
}

#[test]
fn cancel_stops_the_process_tree() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &[]);
    bot.send("!run long-task");
    bot.expect("Started long-task as #1001");
    let pid = read_pid(dir.path(), "long-task-1001.pid");
    assert!(process_alive(pid));
    bot.send("!cancel 1001");
    let l = bot.expect("#1001 long-task was cancelled by tester after");
    assert!(l.ends_with("Its processes are gone."), "{l}");
    assert!(!process_alive(pid), "the script {pid} is still running");
    assert!(eventually_gone(pid), "its children are still running");
    bot.send("!status 1001");
    bot.expect("#1001 long-task was cancelled by tester");
    bot.send("!cancel 1001");
    bot.expect("#1001 long-task has already ended (cancelled); there is nothing to cancel.");
    bot.finish();
}

#[test]
fn scheduled_run_fires_after_a_restart() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &[]);
    bot.send("!run backup-database target=db-02 at=+4s");
    bot.expect("Scheduled backup-database as #1001 for");
    bot.finish();
    // a new bot, with nothing to say: it follows the terminal's scheduled run until it ends
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.close_stdin();
    bot.expect("#1001 backup-database started as scheduled (target=db-02).");
    bot.expect("#1001 backup-database succeeded in");
    bot.finish();
}

#[test]
fn restart_marks_running_executions_interrupted() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &[]);
    bot.send("!run long-task");
    bot.expect("Started long-task as #1001");
    let pid = read_pid(dir.path(), "long-task-1001.pid");
    bot.kill();
    // the job outlived the bot (its own process group)
    assert!(process_alive(pid));
    let mut bot = Bot::start(dir.path(), &[]);
    let l = bot.expect("#1001 long-task was interrupted");
    assert!(
        l.contains(&format!("its processes (group {pid}) were killed")),
        "{l}"
    );
    assert!(eventually_gone(pid));
    bot.send("!status 1001");
    bot.expect("#1001 long-task was interrupted");
    bot.send("!run backup-database target=db-01");
    bot.expect("Started backup-database as #1002");
    bot.finish();
}

#[test]
fn shell_metacharacters_arrive_literally() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run echo-message message='x; rm -rf / $(touch pwned) `touch pwned2` | cat'");
    bot.expect("Started echo-message as #1001");
    bot.expect("#1001 echo-message succeeded");
    bot.expect("  | env=x; rm -rf / $(touch pwned) `touch pwned2` | cat");
    bot.expect("  | arg=x; rm -rf / $(touch pwned) `touch pwned2` | cat");
    bot.finish();
    assert!(!dir.path().join("pwned").exists());
    assert!(!repo_root().join("pwned").exists());
    assert!(!dir.path().join("pwned2").exists());
}

#[test]
fn unknown_job_and_invalid_parameter() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run bakup-database target=db-01");
    bot.expect("I don't know a job called `bakup-database`. Did you mean `backup-database`?");
    bot.send("yes");
    bot.expect("Started backup-database as #1001 (target=db-01).");
    bot.send("!run rotate-logs keep_days=abc");
    bot.expect("`keep_days` must be a whole number, and `abc` is not one.");
    bot.expect("rotate-logs needs `keep_days` (a whole number).");
    bot.send("ten");
    bot.expect("Started rotate-logs as #1002 (keep_days=10).");
    bot.send("!run backup-database tgt=db-01");
    bot.expect("backup-database has no parameter `tgt`. Did you mean `target`?");
    bot.send("!run backup-database target=db-99");
    bot.expect("`db-99` is not a known host. Did you mean `db-01`?");
    bot.send("cancel");
    bot.expect("backup-database needs `target` (a host). Which one?");
    bot.expect("OK, I won't run backup-database.");
    bot.send("!frobnicate");
    bot.expect("Not found: there is no command `!frobnicate`.");
    bot.finish();
}

#[test]
fn collects_missing_parameters_and_confirms_sensitive_jobs() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    // plain English, missing the target
    bot.send("please run a database backup");
    bot.expect("backup-database needs `target` (a host). Which one?");
    bot.expect("  2. db-02");
    bot.send("db-7");
    bot.expect("`db-7` is not a known host. Did you mean");
    bot.send("2");
    bot.expect("backup-database needs `target` (a host). Which one?");
    bot.expect("Started backup-database as #1001 (target=db-02).");
    // sensitive: asks, "no" abandons
    bot.send("!run deploy-app app=api environment=prod");
    bot.expect(
        "deploy-app is sensitive. Run it now with app=api, environment=production? (yes/no)",
    );
    bot.send("no");
    bot.expect("OK, I won't run deploy-app.");
    // "kill it" backs out too (it is no "yes", though it ends like "do it")
    bot.send("!run deploy-app app=api environment=prod");
    bot.expect("deploy-app is sensitive.");
    bot.send("kill it");
    bot.expect("OK, I won't run deploy-app.");
    // sensitive, collected one at a time, then yes
    bot.send("!run deploy-app");
    bot.expect("deploy-app needs `app` (an application). Which one?");
    bot.send("api");
    bot.expect("deploy-app needs `environment` (an environment). Which one?");
    bot.send("stage");
    bot.expect("deploy-app is sensitive. Run it now with app=api, environment=staging? (yes/no)");
    bot.send("yes");
    bot.expect("Started deploy-app as #1002 (app=api, environment=staging).");
    bot.send("!yes");
    bot.expect("There's nothing waiting for a yes or no right now.");
    bot.finish();
}

#[test]
fn only_a_clear_yes_confirms_a_sensitive_job() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run deploy-app app=api environment=prod");
    let question =
        "deploy-app is sensitive. Run it now with app=api, environment=production? (yes/no)";
    bot.expect(question);
    // a "no" the parser cannot read, emoji, noise and a half-sure yes are no yes: the
    // question is asked again and nothing starts
    let long_x = "x".repeat(100);
    for answer in ["нет", "👎", "いいえ", "🚫", long_x.as_str(), "oui"] {
        bot.send(answer);
        bot.expect("I didn't take that as a yes, so deploy-app has not started.");
        bot.expect(question);
    }
    // an exact yes-word runs it, and it is the first run
    bot.send("yes");
    bot.expect("Started deploy-app as #1001 (app=api, environment=production).");
    // a confident yes in plain words, and the button's `!yes`, confirm too
    bot.send("!run deploy-app app=api environment=staging");
    bot.expect("deploy-app is sensitive.");
    bot.send("sure, go for it");
    bot.expect("deploy-app as #1002 (app=api, environment=staging)");
    bot.send("!run deploy-app app=api environment=staging");
    bot.expect("deploy-app is sensitive.");
    bot.send("!yes");
    bot.expect("deploy-app as #1003 (app=api, environment=staging)");
    bot.finish();
}

#[test]
fn a_new_request_during_a_question_starts_and_drops_the_question() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("run a database backup");
    bot.expect("backup-database needs `target` (a host). Which one?");
    // a complete request for another job, with a host in it: not the backup's target
    bot.send("rotate logs on db-02");
    bot.expect("Dropped the open question about backup-database.");
    bot.expect("Started rotate-logs as #1001 (keep_days=7, target=db-02).");
    // the question is gone: a host alone is no answer to anything now
    bot.send("!status 1001");
    bot.expect("#1001 rotate-logs");
    // a run that names no other job still answers it
    bot.send("run a database backup");
    bot.expect("backup-database needs `target` (a host). Which one?");
    bot.send("run it on db-01");
    bot.expect("Started backup-database as #1002 (target=db-01).");
    bot.finish();
}

#[test]
fn plain_english_and_chinese() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("run backup-database on db-01");
    bot.expect("Started backup-database as #1001 (target=db-01).");
    // its result is pushed whenever it ends
    bot.tolerate("#1001 backup-database succeeded");
    // a Chinese message gets a Chinese answer
    bot.send("跑一下数据库备份 db-02");
    bot.expect("已启动 数据库备份 (backup-database)，编号 #1002（target=db-02）。结果会发在这里。");
    bot.tolerate("#1002 backup-database 成功");
    bot.send("let me know when 1002 finishes");
    bot.expect("#1002 backup-database");
    bot.expect("#1002 backup-database succeeded in");
    bot.send("show me the last 2 runs of backup-database");
    bot.expect("Last 2 runs (job backup-database), newest first:");
    bot.send("what's the weather like in Paris?");
    bot.expect("Sorry, I can't help with that.");
    bot.send("hello");
    bot.expect("Hi tester!");
    bot.finish();
}

/// The main conversations in Chinese: every reply in Chinese, with exact texts.
#[test]
fn a_conversation_in_chinese() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    // a missing parameter is asked for, in Chinese
    bot.send("跑一下数据库备份");
    bot.expect("数据库备份 (backup-database) 需要 `target`（一台主机）。选哪个？");
    bot.expect("  1. db-01");
    bot.expect("  2. db-02");
    bot.expect("请回答编号或取值（或“取消”）。");
    bot.send("2");
    bot.expect("已启动 数据库备份 (backup-database)，编号 #1001（target=db-02）。结果会发在这里。");
    bot.expect("#1001 backup-database 成功，用时 ");
    // status
    bot.send("1001 怎么样了");
    bot.expect_after("#1001 backup-database 成功，用时 ");
    // history
    bot.send("数据库备份最近 2 次运行");
    bot.expect_after("最近 1 次运行（作业 backup-database），最新的在前：");
    // a sensitive job asks for a yes, in Chinese
    bot.send("!run deploy-app app=api environment=prod");
    bot.expect_after(
        "deploy-app 是敏感作业。现在以 app=api, environment=production 运行吗？（确认/取消）",
    );
    bot.send("不用了");
    bot.expect("好的，不运行 deploy-app。");
    // an exact command keeps the language of the conversation
    bot.send("!cancel 1001");
    bot.expect("#1001 backup-database 已经结束（成功），没有可取消的。");
    // help
    bot.send("帮助");
    bot.expect("tester，你常用的请求（快捷命令）：");
    bot.expect("  !run backup-database target=db-02   （1 次）");
    // a fixed preference wins over the message's language, and back
    bot.send("!lang en");
    bot.expect_after("OK, I'll answer you in English from now on.");
    bot.send("你好");
    bot.expect("Hi tester! I can run jobs, watch them and show their history. Try \"help\" or \"list jobs\".");
    bot.send("!lang auto");
    bot.expect("OK, I'll answer in the language you write in.");
    bot.send("你好");
    bot.expect("你好，tester！我可以帮你运行和查看作业。试试「帮助」或「有哪些作业」。");
    bot.finish();
}

#[test]
fn watch_pushes_every_change() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run backup-database target=db-01 at=+2s");
    bot.expect("Scheduled backup-database as #1001");
    bot.send("!watch 1001");
    bot.expect("Watching #1001 backup-database (scheduled for");
    bot.expect("#1001 backup-database started as scheduled (target=db-01).");
    let l = bot.expect("#1001 backup-database succeeded in");
    assert!(l.ends_with("(exit code 0)."), "{l}");
    bot.send("!watch 1001");
    bot.expect("#1001 has already ended.");
    bot.finish();
}

#[test]
fn slow_runs_are_flagged() {
    let dir = setup();
    // make the job's duration a parameter of the script
    std::fs::write(
        dir.path().join("scripts/quick.sh"),
        "#!/bin/sh\nsleep ${JOB_PARAM_TARGET#db-0}\necho done\n",
    )
    .unwrap();
    // db-01 sleeps 1s, db-02 sleeps 2s
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    for id in 1001..1004 {
        bot.send("!run backup-database target=db-01");
        bot.expect(&format!("Started backup-database as #{id}"));
        bot.expect(&format!("#{id} backup-database succeeded"));
    }
    bot.send("!run backup-database target=db-02");
    bot.expect("Started backup-database as #1004");
    bot.expect("#1004 backup-database succeeded");
    let l = bot.expect("This took longer than usual (");
    assert!(l.contains("vs. a median of 1.0s"), "{l}");
    bot.expect("Success rate of the last 4 runs of backup-database: 4/4 (100%).");
    bot.finish();
}

#[test]
fn malformed_config_names_the_line() {
    let dir = setup();
    std::fs::write(
        dir.path().join("bot.toml"),
        "[bot]\ntime_zone = \"UTC\"\n\n[[jobs]]\nid = \"a\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["chat", "--config"])
        .arg(dir.path().join("bot.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bot.toml:5: job `a` has no run specification"),
        "{err}"
    );
}

// ---- result presentation and personal help -------------------------------------------------

fn median_ms(mut v: Vec<i64>) -> i64 {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

#[test]
fn summaries_match_the_stored_executions_and_charts_are_written() {
    use bot::i18n::format::{duration, duration_std};
    use bot::render::memory_kb;
    let dir = setup();
    let charts = dir.path().join("charts");
    let charts_arg = charts.display().to_string();
    let mut bot = Bot::start(dir.path(), &["--wait", "--charts", &charts_arg]);
    let mut summaries = Vec::new();
    for id in 1001..1005 {
        bot.send("!run backup-database target=db-01");
        bot.expect(&format!("Started backup-database as #{id}"));
        let mut lines = vec![bot.expect(&format!("#{id} backup-database succeeded in"))];
        lines.push(bot.expect("Started "));
        if id >= 1004 {
            lines.push(bot.expect("Usual duration: "));
        }
        if id >= 1002 {
            lines.push(bot.expect("Duration, last "));
            lines.push(bot.expect("CPU time, last "));
            lines.push(bot.expect("[chart: "));
            lines.push(bot.expect("[chart: "));
        }
        summaries.push(common::unframe(&lines));
    }
    bot.finish();
    let store = bot::store::Store::open(&dir.path().join("bot.sqlite")).unwrap();
    let execs: Vec<_> = (1001..1005)
        .map(|id| store.executions().get(id).unwrap().unwrap())
        .collect();
    for (e, lines) in execs.iter().zip(&summaries) {
        let took = duration(e.finished_at.unwrap() - e.started_at.unwrap());
        assert_eq!(
            lines[0],
            format!(
                "#{} backup-database succeeded in {took} (exit code 0).",
                e.id
            )
        );
        let facts = &lines[1];
        let cpu = duration_std(Duration::from_millis(e.cpu_ms.unwrap() as u64));
        let mem = memory_kb(e.max_rss_kb.unwrap());
        assert!(
            facts.contains(&format!("CPU {cpu}; peak memory {mem}; target=db-01")),
            "{facts} vs cpu {cpu}, memory {mem}"
        );
    }
    // the fourth run against the median of the three before it
    let ms: Vec<i64> = execs[..3]
        .iter()
        .map(|e| (e.finished_at.unwrap() - e.started_at.unwrap()).num_milliseconds())
        .collect();
    let usual = duration(chrono::Duration::milliseconds(median_ms(ms)));
    let last = &execs[3];
    let this = duration(last.finished_at.unwrap() - last.started_at.unwrap());
    assert_eq!(
        summaries[3][2],
        format!("Usual duration: {usual} (median of 3 earlier successful runs); this run: {this}.")
    );
    let spark = &summaries[3][3];
    assert!(spark.starts_with("Duration, last 4 runs: "), "{spark}");
    assert_eq!(spark.matches(|c| ('▁'..='█').contains(&c)).count(), 4);
    // the charts of the last summary: valid PNGs of the expected size
    for name in [
        "backup-database-duration.png",
        "backup-database-resources.png",
    ] {
        let path = charts.join(name);
        assert!(summaries[3]
            .iter()
            .any(|l| l.contains(&path.display().to_string())));
        let bytes = std::fs::read(&path).unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let info = reader.info();
        assert_eq!(
            (info.width, info.height),
            (bot::render::charts::WIDTH, bot::render::charts::HEIGHT)
        );
    }
}

#[test]
fn failures_are_analysed_and_history_shows_the_trend() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!run flaky-task");
    bot.expect("Started flaky-task as #1001");
    bot.expect("#1001 flaky-task failed after");
    bot.expect("Failing step: boom");
    bot.expect("This error is new (not seen in the 0 earlier runs I looked at).");
    bot.send("!run flaky-task");
    bot.expect("Started flaky-task as #1002");
    bot.expect("#1002 flaky-task failed after");
    bot.expect("Failing step: boom");
    let l = bot.expect("Same error before: 1 time, last in #1001 at ");
    let first = bot::store::Store::open(&dir.path().join("bot.sqlite"))
        .unwrap()
        .executions()
        .get(1001)
        .unwrap()
        .unwrap();
    assert!(
        l.contains(&bot::i18n::format::time(
            first.finished_at.unwrap(),
            chrono_tz::UTC,
            bot::i18n::Lang::En
        )),
        "{l}"
    );
    bot.send("!run flaky-task");
    bot.expect("Started flaky-task as #1003");
    bot.expect("#1003 flaky-task failed after");
    bot.expect("Same error before: 2 times, last in #1002 at ");
    bot.send("!run backup-database target=db-01");
    bot.expect("Started backup-database as #1004");
    bot.expect("#1004 backup-database succeeded");
    bot.send("!history flaky-task");
    bot.expect("Last 3 runs (job flaky-task), newest first:");
    bot.expect("Success rate: 0/3 (0%).");
    let l = bot.expect("Duration, last 3 runs: ");
    assert!(l.contains("failed: #1001, #1002, #1003"), "{l}");
    bot.expect("Failures by cause:");
    let l = bot.expect("  boom ");
    assert!(l.ends_with("████████████████████ 3"), "{l}");
    bot.finish();
}

fn help_lines(dir: &Path, user: &str, commands: &[&str], until: &str) -> Vec<String> {
    let mut bot = Bot::start_as(dir, user, &["--wait"]);
    for c in commands {
        bot.send(c);
    }
    bot.send("!help");
    bot.expect(until);
    let start = bot.transcript.len() - 1;
    bot.expect("All commands:");
    let lines = common::unframe(&bot.transcript[start..]);
    bot.finish();
    lines
}

#[test]
fn help_starts_from_what_each_user_does() {
    let dir = setup();
    // alice backs up databases and reads their history
    let mut bot = Bot::start_as(dir.path(), "alice", &["--wait"]);
    for target in ["db-01", "db-01", "db-01", "db-02"] {
        bot.send(&format!("!run backup-database target={target}"));
        bot.expect("Started backup-database as #1");
        bot.expect("backup-database succeeded");
    }
    bot.send("!history backup-database");
    bot.expect("Success rate");
    bot.finish();
    // bob deploys and checks on it
    let mut bot = Bot::start_as(dir.path(), "bob", &["--wait"]);
    for _ in 0..2 {
        bot.send("!deploy api staging");
        bot.expect("deploy-app is sensitive");
        bot.send("yes");
        bot.expect("Started deploy-app as");
        bot.expect("deploy-app succeeded");
    }
    bot.send("!status deploy-app");
    bot.expect("deploy-app succeeded");
    bot.finish();

    let alice = help_lines(dir.path(), "alice", &[], "Your usual requests, alice");
    let a = alice.join("\n");
    assert!(
        a.contains("  !run backup-database target=db-01   (3 times)\n  !history backup-database   (1 time)\n  !run backup-database target=db-02   (1 time)"),
        "{a}"
    );
    assert!(
        a.contains("Recommended for you:\n  !status backup-database"),
        "{a}"
    );
    assert!(a.contains("!watch ID"), "{a}");
    assert!(!a.contains("deploy api"), "{a}");

    let bob = help_lines(dir.path(), "bob", &[], "Your usual requests, bob");
    let b = bob.join("\n");
    assert!(
        b.contains("  !deploy api staging   (2 times)\n  !status deploy-app   (1 time)"),
        "{b}"
    );
    assert!(
        b.contains("Recommended for you:\n  !history deploy-app"),
        "{b}"
    );
    assert!(!b.contains("backup-database target"), "{b}");

    // someone new gets the general help
    let mut bot = Bot::start_as(dir.path(), "carol", &[]);
    bot.send("!help");
    bot.expect("I run and follow jobs for you.");
    // contextual help
    bot.send("!help deploy");
    bot.expect("deploy-app: Deploy an application (asks for a yes before it runs)");
    bot.expect("Parameters:");
    let l = bot.expect("  app ");
    assert!(l.contains("required") && l.contains("one of: api"), "{l}");
    bot.expect("  environment ");
    bot.expect("Example: \"deploy api to staging version 2.4.1\"");
    bot.expect("Exact: !run deploy-app app=api environment=staging version=2.4.1");
    bot.expect("       !deploy api staging 2.4.1");
    bot.send("how do I deploy?");
    bot.expect("deploy-app: Deploy an application");
    bot.send("!help schedule");
    bot.expect("Scheduling a run: add a time to the request.");
    bot.send("!help rotate-logs");
    bot.expect("rotate-logs: Rotate logs");
    let l = bot.expect("  keep_days ");
    assert!(l.contains("optional, default 7"), "{l}");
    bot.finish();
}

#[test]
fn mistyped_and_partial_commands_get_suggestions() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("!stat 1001");
    bot.expect("Not found: there is no command `!stat`. Suggestion: did you mean `!status 1001`?");
    bot.send("!rn backup-database target=db-01");
    bot.expect("Not found: there is no command `!rn`. Suggestion: did you mean `!run backup-database target=db-01`?");
    bot.send("!histroy");
    bot.expect("Not found: there is no command `!histroy`. Suggestion: did you mean `!history`?");
    bot.send("!de api staging");
    bot.expect(
        "Not found: there is no command `!de`. Suggestion: did you mean one of: `!deny api staging`, `!deploy api staging`?",
    );
    bot.send("!frobnicate");
    bot.expect(
        "Not found: there is no command `!frobnicate`. Suggestion: say !help for the commands.",
    );
    bot.send("!history bakup-database");
    bot.expect("I don't know a job called `bakup-database`. Did you mean `backup-database`?");
    bot.finish();
}

#[test]
fn a_repeated_key_is_an_error_naming_it() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &[]);
    bot.send("!run rotate-logs keep_days=1 keep_days=30");
    bot.expect("Invalid input: `keep_days` is given more than once; give each parameter once, with the value you mean. (error id ");
    // the same parameter spelled two ways
    bot.send("!run rotate-logs keep_days=1 keep-days=30");
    bot.expect("Invalid input: `keep-days` is given more than once;");
    bot.send("!run rotate-logs at=+1h keep_days=3 at=+2h");
    bot.expect("Invalid input: `at` is given more than once;");
    // a positional value and a key for the same parameter
    bot.send("!deploy api staging environment=production");
    bot.expect("Invalid input: `environment` is given more than once;");
    // nothing ran or was scheduled
    bot.send("!history");
    bot.expect("No runs found");
    bot.finish();
}

/// Schedules #1001 for 10:10 and #1002 for 12:00 (the bot's clock at 10:00), then stops.
fn schedule_two_backups(dir: &Path) {
    let mut bot = Bot::start_at(dir, "2026-03-03T10:00:00Z", &[]);
    bot.send("!run backup-database target=db-01 at=+10m");
    bot.expect("Scheduled backup-database as #1001 for 2026-03-03 10:10:00 UTC");
    bot.send("!run backup-database target=db-02 at=+2h");
    bot.expect("Scheduled backup-database as #1002 for 2026-03-03 12:00:00 UTC");
    bot.finish();
}

#[test]
fn overdue_runs_are_skipped_past_max_late_and_run_late_with_a_notice() {
    let dir = setup();
    schedule_two_backups(dir.path());
    // the bot was down until 12:12: #1001 is 2 h late (more than the default 1 h): skipped;
    // #1002 is 12 minutes late: it runs, and says so
    let mut bot = Bot::start_at(dir.path(), "2026-03-03T12:12:00Z", &["--wait"]);
    bot.expect("#1001 backup-database was skipped: it was due 2h 02m ago, more than the 1h 00m a scheduled run may start late ([scheduler] max_late; overdue = \"skip\"); run it again if it is still needed.");
    let l = bot.expect("#1002 backup-database started as scheduled (target=db-02), 12m 0");
    assert!(
        l.ends_with(" late (it was due at 2026-03-03 12:00:00 UTC)."),
        "{l}"
    );
    bot.expect("#1002 backup-database succeeded in");
    bot.send("!status 1001");
    bot.expect("#1001 backup-database was skipped: it was due 2h 02m ago");
    bot.send("!history status=cancelled");
    bot.expect("Last 1 run (status cancelled), newest first:");
    bot.finish();
}

#[test]
fn overdue_runs_run_late_when_the_policy_says_run() {
    let dir = fixtures::bot_folder(
        &format!(
            "{}\n[scheduler]\noverdue = \"run\"\nmax_late = \"30m\"\n",
            config()
        ),
        SCRIPTS,
    );
    schedule_two_backups(dir.path());
    let mut bot = Bot::start_at(dir.path(), "2026-03-03T12:12:00Z", &["--wait"]);
    let l = bot.expect("#1001 backup-database started as scheduled (target=db-01), 2h 02m late (it was due at 2026-03-03 10:10:00 UTC).");
    assert!(!l.contains("skipped"), "{l}");
    bot.tolerate("#1002 backup-database started as scheduled (target=db-02), 12m 0");
    bot.tolerate("succeeded in");
    bot.expect_after("#1002 backup-database succeeded in");
    bot.finish();
}

#[test]
fn a_bad_scheduler_policy_is_refused_with_its_line() {
    let text = format!("{}\n[scheduler]\noverdue = \"later\"\n", config());
    let dir = fixtures::bot_folder(&text, SCRIPTS);
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .arg("check-config")
        .arg("--config")
        .arg(dir.path().join("bot.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`overdue` must be \"skip\" or \"run\"") && err.contains("not `later`"),
        "{err}"
    );
}

/// `scale-app`: `replicas` from 1 to 20.
const SCALE_APP: &str = r#"
[[jobs]]
id = "scale-app"
description = "Scale an application"
  [[jobs.parameters]]
  name = "replicas"
  kind = "integer"
  required = true
  min = 1
  max = 20
  [jobs.run]
  argv = ["scripts/quick.sh"]
"#;

#[test]
fn negative_counts_and_far_future_times_are_refused() {
    let dir = fixtures::bot_folder(&format!("{}{SCALE_APP}", config()), SCRIPTS);
    let mut bot = Bot::start_at(dir.path(), "2026-03-03T10:00:00Z", &[]);
    // an integer is a count: at least 0 unless the schema says otherwise
    bot.send("!run rotate-logs keep_days=-1");
    bot.expect("`keep_days` must be at least 0, and `-1` is not.");
    bot.expect("rotate-logs needs `keep_days` (a whole number).");
    bot.send("cancel");
    bot.expect("OK, I won't run rotate-logs.");
    // the schema's own range
    bot.send("!run scale-app replicas=-1");
    bot.expect("`replicas` must be between 1 and 20, and `-1` is not.");
    bot.expect("scale-app needs `replicas` (a whole number from 1 to 20).");
    bot.send("50");
    bot.expect("`replicas` must be between 1 and 20, and `50` is not.");
    bot.expect("scale-app needs `replicas` (a whole number from 1 to 20).");
    bot.send("3");
    bot.expect("Started scale-app as #1001 (replicas=3).");
    bot.expect("#1001 scale-app succeeded in");
    // far-future times: at most 30 days ahead by default
    bot.send("!run rotate-logs at=+99999d");
    // the bot's clock starts at BOT_NOW and runs on: match the date, not the second
    let l = bot.expect("That time (2299-12-16 10:");
    assert!(l.contains("UTC) is more than 30 days ahead"), "{l}");
    bot.send("!run rotate-logs at=+31d");
    let l = bot.expect("That time (2026-04-03 10:00:");
    assert!(
        l.ends_with("is more than 30 days ahead, the furthest a run may be scheduled ([scheduler] max_ahead); pick an earlier time."),
        "{l}"
    );
    // a number too large for any clock is no time, not a crash
    bot.send("!run rotate-logs at=+99999999999999999999999d");
    bot.expect("`+99999999999999999999999d` is not a time");
    bot.send("!run rotate-logs at=+29d");
    bot.expect("Scheduled rotate-logs as #1002 for 2026-04-01 10:00:");
    // nothing else ran or was scheduled
    bot.send("!history");
    bot.expect("Last 2 runs, newest first:");
    bot.finish();
}

#[test]
fn a_range_that_cannot_hold_is_refused_by_check_config() {
    let bad = [
        (
            SCALE_APP.replace("min = 1", "min = 30"),
            "parameter `replicas` of job `scale-app`: `min` (30) is larger than `max` (20)",
        ),
        (
            SCALE_APP.replace("kind = \"integer\"", "kind = \"string\""),
            "`min` and `max` apply to integer parameters, not to a string",
        ),
        (
            SCALE_APP.replace("required = true", "default = 0"),
            "its default `0` must be between 1 and 20",
        ),
    ];
    for (job, message) in bad {
        let dir = fixtures::bot_folder(&format!("{}{job}", config()), SCRIPTS);
        let out = Command::new(env!("CARGO_BIN_EXE_bot"))
            .arg("check-config")
            .arg("--config")
            .arg(dir.path().join("bot.toml"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{message}: accepted");
        assert!(err.contains(message), "{message}: {err}");
    }
}

#[test]
fn several_environments_in_one_request_are_asked_about() {
    let dir = setup();
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("deploy api in staging and production");
    bot.expect("You named several environments (staging, production), and one deploy-app run is for one of them, so I'll ask. (For the others, send one more request each.)");
    bot.expect("deploy-app needs `environment` (an environment). Which one?");
    bot.send("production");
    bot.expect("deploy-app is sensitive.");
    bot.send("yes");
    bot.expect("Started deploy-app as #1001 (app=api, environment=production).");
    bot.expect("#1001 deploy-app succeeded");
    // one environment named twice is one environment
    bot.send("deploy api to prod, yes production");
    bot.expect("deploy-app is sensitive.");
    bot.send("no");
    bot.expect_after("OK");
    bot.finish();
}

/// `renew-certificates` with its free-text `domain` (as in the committed catalog).
const RENEW_CERTIFICATES: &str = r#"
[[jobs]]
id = "renew-certificates"
aliases = ["cert renewal", "renew certs"]
description = "Renew TLS certificates"
  [[jobs.parameters]]
  name = "domain"
  kind = "string"
  required = false
  [jobs.run]
  argv = ["scripts/quick.sh"]
"#;

/// Free text the model's entity tagger reads: a reason given in plain words is shown in the
/// confirmation and recorded with the decision in the audit trail (a cancel's too); a domain
/// fills the job's
/// `domain` parameter; an explicit `reason=` for a job without such a parameter is the run's
/// reason, not an error.
#[test]
fn reasons_and_domains_written_in_plain_words() {
    let config = fixtures::config(&[
        &bot_section("dialog_timeout = \"1m\""),
        HOSTS,
        CATALOG,
        BACKUP_DATABASE,
        &deploy_app(),
        RENEW_CERTIFICATES,
        LONG_TASK,
    ]);
    let dir = fixtures::bot_folder(&config, SCRIPTS);
    let mut bot = Bot::start(dir.path(), &["--wait"]);
    bot.send("deploy api to staging because the login fix needs a real test");
    bot.expect("deploy-app is sensitive. Run it now with app=api, environment=staging? (yes/no)");
    bot.expect("Reason: the login fix needs a real test");
    bot.send("yes");
    bot.expect("Started deploy-app as #1001 (app=api, environment=staging).");
    bot.send("!run backup-database target=db-01 reason=\"before the schema change\"");
    bot.expect("Started backup-database as #1002 (target=db-01).");
    bot.expect("  Reason: before the schema change");
    bot.send("renew the certificates for status.brightpath.dev");
    bot.expect("Started renew-certificates as #1003 (domain=status.brightpath.dev).");
    bot.send("部署 api 到 staging，因为要验证登录修复");
    bot.expect("deploy-app 是敏感作业。");
    bot.expect("原因：要验证登录修复");
    bot.send("不用了");
    bot.expect("好的，不运行 deploy-app。");
    bot.send("!run long-task");
    bot.expect("已启动 long-task，编号 #1004");
    bot.send("cancel 1004 because it blocks the release");
    bot.expect("#1004 long-task was cancelled by tester");
    bot.finish();
    let (code, export) = common::audit(dir.path(), &["export"]);
    assert_eq!(code, 0, "{export}");
    let decisions: Vec<serde_json::Value> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["kind"] == "decision" && r["decision"] == "allow")
        .collect();
    let said = |job: &str| -> Vec<&str> {
        decisions
            .iter()
            .filter(|r| r["job"] == job)
            .filter_map(|r| r["justification"].as_str())
            .collect()
    };
    assert_eq!(
        said("deploy-app")[0],
        "the login fix needs a real test",
        "{export}"
    );
    assert_eq!(
        said("backup-database"),
        ["before the schema change"],
        "{export}"
    );
    assert!(said("renew-certificates").is_empty(), "{export}");
    let cancel = decisions
        .iter()
        .find(|r| r["intent"] == "cancel")
        .expect("the cancel's decision is recorded");
    assert_eq!(cancel["justification"], "it blocks the release", "{export}");
}
