//! `bot`: the ChatOps bot. Arguments and wiring only; the logic is in the library.

use anyhow::Context;
use bot::adapters::matrix::MatrixAdapter;
use bot::adapters::slack::api::RetryPolicy;
use bot::adapters::slack::config::Credentials;
use bot::adapters::slack::Slack;
use bot::adapters::terminal::{Terminal, CHANNEL};
use bot::app::App;
use bot::app::{serve, ServeOptions};
use bot::config::Config;
use bot::policy::audit;
use bot::store::Store;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "bot",
    version,
    about = "ChatOps bot: run and follow jobs from chat, in English or Chinese"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chat in the terminal (one message per line when stdin is not a terminal).
    Chat {
        #[command(flatten)]
        run: RunArgs,
        /// Who you are in the chat (default: the configuration's, else $USER).
        #[arg(long)]
        user: Option<String>,
        /// At the end of input, wait until every execution started or watched has ended.
        #[arg(long)]
        wait: bool,
        /// Let an input line speak as another user: `@as alice: !approve 3` (tests, demos).
        #[arg(long)]
        multi_user: bool,
        /// Also write the charts of replies as PNG files into this folder.
        #[arg(long, value_name = "DIR")]
        charts: Option<PathBuf>,
    },
    /// Serve Matrix rooms (`[adapters.matrix]` in the configuration; the access token from
    /// $BOT_MATRIX_TOKEN or `access_token_file`). Runs until SIGINT/SIGTERM.
    Matrix {
        #[command(flatten)]
        run: RunArgs,
    },
    /// Serve Slack: the Events API, slash commands and buttons over HTTP, replies through the
    /// Web API. Secrets come from BOT_SLACK_TOKEN and BOT_SLACK_SIGNING_SECRET (or the files
    /// named under [adapters.slack]).
    Slack {
        #[command(flatten)]
        run: RunArgs,
        /// Where the HTTP endpoints listen (overrides `listen` under [adapters.slack]; port 0
        /// picks a free one, printed at start).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// The audit trail: verify its hash chain or export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Check a configuration file and exit.
    CheckConfig {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
    },
}

/// What every command that runs the bot takes.
#[derive(clap::Args)]
struct RunArgs {
    /// The configuration file.
    #[arg(long, default_value = "config/demo.toml")]
    config: PathBuf,
    /// The SQLite database (overrides the configuration's `storage.path`).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Write logs to this file instead of stderr.
    #[arg(long)]
    log: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the keyed hash chain, the signed checkpoints and the append-only triggers; exits
    /// 2 naming each edited, deleted, reordered or forged record, 3 when there is no key to
    /// check with. The key: $BOT_AUDIT_KEY, else `audit_key_file`, else `<database>.audit-key`.
    Verify {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
        /// The checkpoint file (default: `audit_checkpoints` under [storage], else
        /// `<database>.audit-checkpoints`).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Write the records as JSON lines to stdout.
    Export {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
        /// Only records at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only records of this user: chat user id (`alice`), chat identity (`terminal:alice`)
        /// or mapped user.
        #[arg(long)]
        user: Option<String>,
    },
}

/// The database `bot audit` works on, and the configuration when it could be loaded (without
/// `--db` it must be).
fn audit_target(
    config: &std::path::Path,
    db: Option<PathBuf>,
) -> anyhow::Result<(PathBuf, Option<Config>)> {
    let loaded = Config::load(config);
    let (path, config) = match (db, loaded) {
        (Some(d), Ok(mut c)) => {
            c.database = d.clone();
            (d, Some(c))
        }
        (Some(d), Err(_)) => (d, None),
        (None, Ok(c)) => (c.database.clone(), Some(c)),
        (None, Err(e)) => return Err(e.into()),
    };
    if !path.exists() {
        anyhow::bail!("there is no database at {}", path.display());
    }
    Ok((path, config))
}

fn open_store(path: &std::path::Path) -> anyhow::Result<Store> {
    Store::open(path).with_context(|| format!("cannot open the database {}", path.display()))
}

/// `bot audit verify`: exit 0 when verified, 2 when a problem was found, 3 when nothing was
/// found but the keyed hashes could not be checked (no key).
fn verify_cmd(
    config: &std::path::Path,
    db: Option<PathBuf>,
    checkpoints: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use bot::store::audit_key::{default_checkpoints, KeySource, KEY_ENV};
    let (path, config) = audit_target(config, db)?;
    let store = open_store(&path)?;
    let source = KeySource::new(
        &path,
        config.as_ref().and_then(|c| c.audit_key_file.as_deref()),
    );
    let key = source.load(std::env::var(KEY_ENV).ok())?;
    let checkpoints = checkpoints
        .or_else(|| config.as_ref().map(|c| c.audit_checkpoints_path()))
        .unwrap_or_else(|| default_checkpoints(&path));
    let report = audit::verify(
        &store,
        &audit::Anchors {
            key: key.as_ref().map(|k| &k.0),
            checkpoints: &checkpoints,
        },
    )?;
    for p in &report.problems {
        println!("audit trail BROKEN: {p}");
    }
    match &key {
        Some((k, origin)) => println!("checked with audit key {} from {origin}", k.id()),
        None => println!(
            "no audit key: set ${KEY_ENV} or name it with `audit_key_file` (looked for {})",
            source.file.display()
        ),
    }
    println!("checkpoints: {}", checkpoints.display());
    for n in &report.notes {
        println!("note: {n}");
    }
    if !report.ok() {
        println!(
            "{} problem(s) in {} records",
            report.problems.len(),
            report.records
        );
        Ok(ExitCode::from(2))
    } else if !report.keyed {
        println!(
            "audit trail NOT VERIFIED: {} records, chain links intact, but without the key nothing proves they were not rewritten",
            report.records
        );
        Ok(ExitCode::from(3))
    } else {
        println!(
            "audit trail OK: {} records, keyed hash chain intact and matching the checkpoints (this proves the trail was not edited, forged or cut by anyone without the key; anyone holding it could rewrite both)",
            report.records
        );
        Ok(ExitCode::SUCCESS)
    }
}

fn audit_cmd(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify {
            config,
            db,
            checkpoints,
        } => verify_cmd(&config, db, checkpoints),
        AuditCommand::Export {
            config,
            db,
            since,
            user,
        } => {
            let (path, _) = audit_target(&config, db)?;
            let store = open_store(&path)?;
            let since = match since {
                Some(s) => Some(
                    chrono::DateTime::parse_from_rfc3339(&s)
                        .with_context(|| {
                            format!("--since {s}: use RFC 3339, e.g. 2026-03-01T00:00:00Z")
                        })?
                        .with_timezone(&chrono::Utc),
                ),
                None => None,
            };
            let mut out = std::io::stdout().lock();
            audit::export(&store, since, user.as_deref(), &mut out)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logs(file: Option<&PathBuf>) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder.with_ansi(false).with_writer(Arc::new(f)).init();
        }
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // BOT_NOW (tests only): a malformed value stops the bot rather than being ignored
    if let Err(e) = bot::clock::init() {
        eprintln!("bot: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::CheckConfig { config } => Config::load(&config)
            .map(|c| {
                println!(
                    "{}: OK ({} jobs, time zone {}, database {})",
                    config.display(),
                    c.catalog.jobs.len(),
                    c.time_zone,
                    c.database.display()
                );
            })
            .map_err(anyhow::Error::from),
        Command::Chat {
            run: RunArgs { config, db, log },
            user,
            wait,
            multi_user,
            charts,
        } => init_logs(log.as_ref()).and_then(|()| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the runtime")?
                .block_on(chat(config, user, wait, db, multi_user, charts))
        }),
        Command::Matrix {
            run: RunArgs { config, db, log },
        } => init_logs(log.as_ref()).and_then(|()| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the runtime")?
                .block_on(matrix(config, db))
        }),
        Command::Slack {
            run: RunArgs { config, db, log },
            listen,
        } => init_logs(log.as_ref()).and_then(|()| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .context("cannot start the runtime")?
                .block_on(slack(config, db, listen))
        }),
        Command::Audit { command } => match audit_cmd(command) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn chat(
    config_path: PathBuf,
    user: Option<String>,
    wait: bool,
    db: Option<PathBuf>,
    multi_user: bool,
    charts: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut config = Config::load(&config_path)?;
    if let Some(db) = db {
        config.database = db;
    }
    let mut app = App::start(config).await?;
    let config = app.config.clone();
    let user = user
        .or_else(|| config.terminal.user.clone())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "operator".into());
    let interactive = Terminal::stdin_is_tty();
    if interactive {
        println!(
            "opsnlu bot: {} jobs from {}. Ask in English or Chinese (\"help\", \"list jobs\", \"run backup-database on db-01\"); Ctrl-D quits.",
            config.catalog.jobs.len(),
            config_path.display()
        );
    }
    // the terminal's runs still open from an earlier session are followed too
    let follow = app.open_executions(CHANNEL).await;
    let mut terminal = Terminal::new(user, interactive).with_multi_user(multi_user);
    if let Some(dir) = charts.or_else(|| config.terminal.charts_dir.clone()) {
        terminal = terminal.with_charts_dir(dir);
    }
    serve(
        app.bot.clone(),
        &mut terminal,
        &mut app.pushes,
        ServeOptions {
            wait,
            follow,
            ..Default::default()
        },
    )
    .await
    .context("cannot write to the terminal")?;
    app.finish(&mut terminal).await;
    Ok(())
}

/// `bot matrix`: long-polls the homeserver; messages are handled `concurrency` at a time (one
/// at a time per user and room).
async fn matrix(config_path: PathBuf, db: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::load(&config_path)?;
    if let Some(db) = db {
        config.database = db;
    }
    let Some(mx) = config.matrix.clone() else {
        anyhow::bail!(
            "{} has no [adapters.matrix] section; add one with `homeserver` and `user_id` (README, \"Connecting to Matrix\")",
            config_path.display()
        );
    };
    let open = |path: &std::path::Path| {
        Store::open(path)
            .map(Arc::new)
            .with_context(|| format!("cannot open the database {}", path.display()))
    };
    let store = open(&config.database)?;
    let state = match &mx.state_path {
        Some(p) if p != &config.database => open(p)?,
        _ => store.clone(),
    };
    // the lease first: a second bot on this database stops before it writes anything
    let lease = App::lease(&config, store.clone())?;
    // connect before starting the platform: wrong credentials stop here, before any job runs
    let mut adapter = MatrixAdapter::connect(&mx, state).await?;
    let mut app = App::start_leased(config, store, lease).await?;
    println!(
        "bot: serving Matrix as {} on {} ({} room(s) joined; invites {})",
        adapter.user_id(),
        adapter.homeserver(),
        adapter.rooms(),
        if mx.auto_join { "accepted" } else { "ignored" }
    );
    serve(
        app.bot.clone(),
        &mut adapter,
        &mut app.pushes,
        ServeOptions {
            concurrency: mx.concurrency,
            ..Default::default()
        },
    )
    .await
    .context("the Matrix adapter failed")?;
    app.finish(&mut adapter).await;
    adapter.close(std::time::Duration::from_secs(20)).await?;
    Ok(())
}

/// `bot slack`: the endpoints answer at once; messages are handled 8 at a time (one at a
/// time per user and channel).
async fn slack(
    config_path: PathBuf,
    db: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let mut config = Config::load(&config_path)?;
    if let Some(db) = db {
        config.database = db;
    }
    if !config.slack.enabled {
        anyhow::bail!(
            "{}: [adapters.slack] has `enabled = false`; set it to true to serve Slack",
            config_path.display()
        );
    }
    let credentials = Credentials::load(&config.slack, &|k| std::env::var(k).ok())?;
    // the adapter first: a bad token or a busy port stops here, before any job runs
    let mut slack = Slack::start(
        &config.slack,
        credentials,
        listen.unwrap_or(config.slack.listen),
        RetryPolicy::default(),
    )
    .await?;
    let mut app = App::start(config).await?;
    println!(
        "bot: serving Slack on http://{}/slack/events, /slack/commands and /slack/interactions",
        slack.local_addr()
    );
    let served = serve(
        app.bot.clone(),
        &mut slack,
        &mut app.pushes,
        ServeOptions {
            concurrency: 8,
            ..Default::default()
        },
    )
    .await;
    slack.stop_listening();
    app.finish(&mut slack).await;
    served.context("cannot post to Slack")
}
