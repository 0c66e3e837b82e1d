//! The local job platform: every execution is a subprocess in its own process group.
//!
//! - Parameters arrive as `JOB_PARAM_<NAME>` environment variables and through `{name}`
//!   placeholders in the configured argv; there is no shell in between.
//! - The lifecycle `scheduled -> running -> succeeded | failed | cancelled | timed_out` is
//!   written to the store at each step, with exit code, CPU time and peak memory from
//!   `wait4`'s rusage, and the output tail.
//! - Cancel and timeout send SIGTERM to the group, then SIGKILL after the grace period;
//!   leftovers of the group are killed when the main process ends.
//! - Scheduled executions wait in the store; a scheduler task starts them when due (also
//!   after a restart). Executions recorded as running when the platform starts were
//!   interrupted by a crash: their process groups are killed and they are marked
//!   `interrupted`.

use super::overdue::{SchedulerConfig, Verdict};
use super::{
    BoxFuture, ExecEvent, ExecId, ExecRequest, Execution, HistoryQuery, JobPlatform, PlatformError,
    Status,
};
use crate::config::{param_env_name, substitute, Config, OutputLimits, RunSpec};
use crate::store::{Finish, NewExecution, Store};
use nlu::Catalog;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{broadcast, mpsc, watch, Notify};

mod output;
mod process;
mod spawn;

pub use output::OutputBuf;
use output::*;
use process::*;
pub use process::{group_alive, kill_group};

/// The local platform's storage failed: a [`PlatformError::Backend`].
impl From<crate::store::StoreError> for PlatformError {
    fn from(e: crate::store::StoreError) -> Self {
        PlatformError::Backend(Box::new(e))
    }
}

/// A request to stop a running execution.
#[derive(Debug)]
struct StopRequest {
    by: String,
    channel: String,
}

struct Running {
    job: String,
    /// The catalog hosts it runs on over SSH (none: here).
    hosts: Vec<String>,
    output: SharedOutput,
    stop: mpsc::UnboundedSender<StopRequest>,
    done: watch::Receiver<bool>,
}

struct Inner {
    catalog: Catalog,
    runs: HashMap<String, RunSpec>,
    store: Arc<Store>,
    events: broadcast::Sender<ExecEvent>,
    running: Mutex<HashMap<ExecId, Running>>,
    start_lock: tokio::sync::Mutex<()>,
    wake: Notify,
    grace: Duration,
    limits: OutputLimits,
    /// Asked before a run that waited starts (see [`LocalPlatform::set_start_check`]).
    start_check: std::sync::OnceLock<Arc<dyn super::StartCheck>>,
    /// Which parameters are secret (`[security] secret_names`; the jobs' own are in `runs`).
    secret_names: Vec<String>,
    /// The values of secret parameters of runs not started yet, by execution: the database
    /// holds `***` instead (lost at a restart: such a run then fails to start, saying why).
    kept: Mutex<HashMap<ExecId, BTreeMap<String, String>>>,
    /// What to do with a run that is due late.
    scheduler: SchedulerConfig,
    /// How the hosts of jobs that run `on` one are reached.
    ssh: crate::config::ssh::SshConfig,
}

/// The local job platform. Cheap to clone.
#[derive(Clone)]
pub struct LocalPlatform {
    inner: Arc<Inner>,
}

impl LocalPlatform {
    pub fn new(config: &Config, store: Arc<Store>) -> Self {
        // the folder of shared SSH connections, when a job runs on hosts
        let on_hosts = config.runs.values().any(|r| !r.on.is_empty());
        let prepared = match on_hosts {
            true => crate::jobs::ssh::prepare_control_dir(&config.ssh),
            false => Ok(()),
        };
        if let Err(e) = prepared {
            tracing::warn!(
                "cannot create {} for shared SSH connections: {e}",
                config.ssh.control_dir.display()
            );
        }
        let (events, _) = broadcast::channel(1024);
        LocalPlatform {
            inner: Arc::new(Inner {
                catalog: config.catalog.clone(),
                runs: config.runs.clone(),
                store,
                events,
                running: Mutex::new(HashMap::new()),
                start_lock: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                grace: config.cancel_grace,
                limits: config.output,
                start_check: std::sync::OnceLock::new(),
                secret_names: config.security.secret_names.clone(),
                kept: Mutex::new(HashMap::new()),
                scheduler: config.scheduler,
                ssh: config.ssh.clone(),
            }),
        }
    }

    /// Marks executions left running by a previous process as interrupted (killing what is
    /// left of them), then starts the scheduler. Subscribe to [`JobPlatform::events`] first
    /// to hear about the interrupted ones. Needs a tokio runtime.
    pub async fn start(&self) -> Result<Vec<Execution>, PlatformError> {
        let interrupted = self.inner.recover().await?;
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.scheduler().await });
        Ok(interrupted)
    }

    /// Sets the check every run that waited (scheduled or queued) must pass when it is due;
    /// one that fails it ends as failed without starting. Runs started at once were checked
    /// by the caller. Only the first call counts.
    pub fn set_start_check(&self, check: Arc<dyn super::StartCheck>) {
        if self.inner.start_check.set(check).is_err() {
            tracing::warn!("the platform's start check was already set");
        }
    }

    /// How many executions run now.
    pub fn running_count(&self) -> usize {
        self.inner.running_map().len()
    }

    /// Stops every running execution (on shutdown): SIGTERM, SIGKILL after the grace
    /// period; they end as `interrupted`.
    pub async fn shutdown(&self) {
        let ids: Vec<(ExecId, watch::Receiver<bool>)> = {
            let map = self.inner.running_map();
            map.iter()
                .map(|(id, r)| {
                    let _ = r.stop.send(StopRequest {
                        by: String::new(),
                        channel: String::new(),
                    });
                    (*id, r.done.clone())
                })
                .collect()
        };
        for (_, mut done) in ids {
            let _ = tokio::time::timeout(self.inner.grace + Duration::from_secs(5), async {
                while !*done.borrow_and_update() {
                    if done.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

impl Inner {
    fn running_map(&self) -> std::sync::MutexGuard<'_, HashMap<ExecId, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, previous: Option<Status>, id: ExecId, cancel_channel: Option<String>) {
        match self.store.executions().get(id) {
            Ok(Some(execution)) => {
                let _ = self.events.send(ExecEvent {
                    previous,
                    execution,
                    cancel_channel,
                });
            }
            Ok(None) => {}
            Err(e) => tracing::error!("cannot read #{id} for its event: {e}"),
        }
    }

    async fn recover(&self) -> Result<Vec<Execution>, PlatformError> {
        let mut out = Vec::new();
        for row in self.store.executions().running()? {
            let mut detail = match row.pid {
                Some(pid) => stop_orphaned_group(pid, row.pid_start).await,
                None => "the bot stopped while it ran".to_string(),
            };
            // a run on a host: its processes there are stopped too (by its run file)
            let exec = self.store.executions().get(row.id)?;
            let hosts = exec
                .as_ref()
                .and_then(|e| Some(self.hosts_of(self.runs.get(&e.job)?, e)))
                .unwrap_or_default();
            for h in &hosts {
                crate::jobs::ssh::stop_remote(&self.ssh, h, row.id, "KILL").await;
            }
            if !hosts.is_empty() {
                let ids: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
                detail = format!("{detail}; its processes on {} were killed", ids.join(", "));
            }
            let f = Finish {
                detail: Some(detail),
                ..Default::default()
            };
            if self.store.executions().finish(
                row.id,
                &[Status::Running],
                Status::Interrupted,
                crate::clock::now(),
                &f,
                None,
            )? {
                tracing::warn!("#{} was interrupted", row.id);
                self.emit(Some(Status::Running), row.id, None);
                if let Some(e) = self.store.executions().get(row.id)? {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    async fn scheduler(self: Arc<Self>) {
        loop {
            if let Err(e) = self.start_due().await {
                tracing::error!("scheduler: {e}");
            }
            let now = crate::clock::now();
            let wait = match self.store.executions().next_due() {
                Ok(Some(t)) if t > now => (t - now)
                    .to_std()
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(60)),
                // due but waiting for a free slot, or nothing scheduled: a finish wakes us
                _ => Duration::from_secs(60),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Whether `e` may start now: fewer runs of its job than the job's `concurrency`, and
    /// fewer runs on its host than `[ssh] max_per_host`.
    fn has_capacity(&self, e: &Execution) -> bool {
        let spec = self.runs.get(&e.job);
        let limit = spec.map_or(1, |r| r.concurrency);
        let running = self.running_map();
        if running.values().filter(|r| r.job == e.job).count() >= limit {
            return false;
        }
        let hosts = spec.map(|s| self.hosts_of(s, e)).unwrap_or_default();
        hosts.iter().all(|h| {
            let on_host = running.values().filter(|r| r.hosts.contains(&h.id)).count();
            on_host < self.ssh.max_per_host
        })
    }

    /// The catalog hosts `e` runs on (`on`, its placeholders filled); none when it runs here
    /// or `on` names none (its start then says why).
    fn hosts_of(&self, spec: &RunSpec, e: &Execution) -> Vec<crate::config::ssh::SshHost> {
        let mut values = e.params.clone();
        values.insert("execution_id".into(), e.id.to_string());
        values.insert("job".into(), e.job.clone());
        self.ssh.hosts_for(&spec.on, &values).unwrap_or_default()
    }

    async fn start_due(self: &Arc<Self>) -> Result<(), PlatformError> {
        let _g = self.start_lock.lock().await;
        for e in self.store.executions().due(crate::clock::now())? {
            // a run scheduled for a later time that is due too late follows the policy (a
            // queued one waited for a slot, not for its time: it always runs)
            if e.run_at - e.created_at > chrono::Duration::milliseconds(500) {
                if let Verdict::Skip(why) = self.scheduler.judge(e.run_at, crate::clock::now()) {
                    tracing::warn!("#{} {} skipped: {why}", e.id, e.job);
                    self.skip(&e, why)?;
                    continue;
                }
            }
            if self.has_capacity(&e) {
                // what waited is judged by the policy in force now
                if let Some(Err(why)) = self.start_check.get().map(|c| c.may_start(&e)) {
                    tracing::warn!("#{} {}: {why}", e.id, e.job);
                    self.fail_to_start(&e, why)?;
                    continue;
                }
                self.spawn(e).await?;
            }
        }
        Ok(())
    }

    /// Marks a scheduled execution that could not be started as failed, saying why.
    fn fail_to_start(&self, e: &Execution, why: String) -> Result<(), PlatformError> {
        self.end_unstarted(e, Status::Failed, why)
    }

    /// Ends a scheduled execution without starting it, in `status`, with `why` as its detail;
    /// its kept secret values are dropped.
    fn end_unstarted(
        &self,
        e: &Execution,
        status: Status,
        why: String,
    ) -> Result<(), PlatformError> {
        self.kept().remove(&e.id);
        let f = Finish {
            detail: Some(why),
            ..Default::default()
        };
        if self.store.executions().finish(
            e.id,
            &[Status::Scheduled],
            status,
            crate::clock::now(),
            &f,
            None,
        )? {
            self.emit(Some(Status::Scheduled), e.id, None);
        }
        Ok(())
    }

    /// Whether a parameter of a job is secret (see `crate::policy::guard::is_secret_param`).
    fn is_secret(&self, job: &str, param: &str) -> bool {
        self.secret_names.iter().any(|n| n == param)
            || self
                .runs
                .get(job)
                .is_some_and(|r| r.secret.iter().any(|n| n == param))
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<ExecId, BTreeMap<String, String>>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends a scheduled execution that was due too long ago without starting it: cancelled,
    /// by nobody, the reason as its detail (rendered "was skipped: ...").
    fn skip(&self, e: &Execution, why: String) -> Result<(), PlatformError> {
        self.end_unstarted(e, Status::Cancelled, why)
    }

    /// Starts a scheduled execution. Call with `start_lock` held.
    async fn execute(self: &Arc<Self>, req: ExecRequest) -> Result<Execution, PlatformError> {
        let job = self
            .catalog
            .job(&req.job)
            .ok_or_else(|| PlatformError::UnknownJob(req.job.clone()))?;
        if !self.runs.contains_key(&req.job) {
            return Err(PlatformError::UnknownJob(req.job.clone()));
        }
        let mut params: BTreeMap<String, String> = req.params.clone();
        for p in &job.parameters {
            if let (false, Some(d)) = (params.contains_key(&p.name), &p.default) {
                params.insert(p.name.clone(), d.clone());
            }
        }
        let now = crate::clock::now();
        let run_at = req.run_at.filter(|t| *t > now).unwrap_or(now);
        // secret values are kept in memory, `***` in the database
        let (secret, stored): (BTreeMap<_, _>, BTreeMap<_, _>) = params
            .into_iter()
            .partition(|(k, _)| self.is_secret(&req.job, k));
        let mut stored = stored;
        for k in secret.keys() {
            stored.insert(k.clone(), crate::domain::exec::MASK.to_string());
        }
        // the lock from before the row exists: the scheduler cannot start it without its secrets
        let g = self.start_lock.lock().await;
        let e = self.store.executions().insert(&NewExecution {
            job: &req.job,
            params: &stored,
            requested_by: &req.requested_by,
            channel: &req.channel,
            created_at: now,
            run_at,
        })?;
        if !secret.is_empty() {
            self.kept().insert(e.id, secret);
        }
        self.emit(None, e.id, None);
        if run_at <= now {
            if let Some(cur) = self.store.executions().get(e.id)? {
                if cur.status == Status::Scheduled && self.has_capacity(&cur) {
                    self.spawn(cur).await?;
                }
            }
        } else {
            self.wake.notify_one();
        }
        drop(g);
        self.store
            .executions()
            .get(e.id)?
            .ok_or(PlatformError::NotFound(e.id))
    }

    async fn cancel(
        self: &Arc<Self>,
        id: ExecId,
        by: String,
        channel: String,
    ) -> Result<Execution, PlatformError> {
        let e = self
            .store
            .executions()
            .get(id)?
            .ok_or(PlatformError::NotFound(id))?;
        if e.status.is_terminal() {
            return Err(PlatformError::AlreadyEnded {
                id,
                status: e.status,
            });
        }
        if e.status == Status::Scheduled {
            let _g = self.start_lock.lock().await;
            let f = Finish {
                detail: Some(format!("cancelled by {by} before it started")),
                ..Default::default()
            };
            if self.store.executions().finish(
                id,
                &[Status::Scheduled],
                Status::Cancelled,
                crate::clock::now(),
                &f,
                Some(&by),
            )? {
                self.emit(Some(Status::Scheduled), id, Some(channel));
                return self
                    .store
                    .executions()
                    .get(id)?
                    .ok_or(PlatformError::NotFound(id));
            }
        }
        let done = {
            let map = self.running_map();
            match map.get(&id) {
                Some(r) => {
                    let _ = r.stop.send(StopRequest {
                        by: by.clone(),
                        channel: channel.clone(),
                    });
                    Some(r.done.clone())
                }
                None => None,
            }
        };
        if let Some(mut done) = done {
            let waited = tokio::time::timeout(self.grace + Duration::from_secs(10), async {
                while !*done.borrow_and_update() {
                    if done.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await;
            if waited.is_err() {
                return Err(PlatformError::Other(format!(
                    "#{id} did not stop within {}",
                    crate::i18n::format::duration_std(self.grace + Duration::from_secs(10))
                )));
            }
        }
        let e = self
            .store
            .executions()
            .get(id)?
            .ok_or(PlatformError::NotFound(id))?;
        if !e.status.is_terminal() {
            return Err(PlatformError::Other(format!(
                "#{id} is {} and cannot be cancelled now",
                e.status
            )));
        }
        Ok(e)
    }
}

impl JobPlatform for LocalPlatform {
    fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    fn execute(&self, req: ExecRequest) -> BoxFuture<'_, Result<Execution, PlatformError>> {
        Box::pin(async move { self.inner.execute(req).await })
    }

    fn status(&self, id: ExecId) -> BoxFuture<'_, Result<Execution, PlatformError>> {
        Box::pin(async move {
            let mut e = self
                .inner
                .store
                .executions()
                .get(id)?
                .ok_or(PlatformError::NotFound(id))?;
            if e.status == Status::Running {
                if let Some(r) = self.inner.running_map().get(&id) {
                    let o = lock(&r.output);
                    e.output = o.text();
                    e.output_truncated = o.truncated();
                }
            }
            Ok(e)
        })
    }

    fn cancel(
        &self,
        id: ExecId,
        by: String,
        channel: String,
    ) -> BoxFuture<'_, Result<Execution, PlatformError>> {
        Box::pin(async move { self.inner.cancel(id, by, channel).await })
    }

    fn history(&self, q: HistoryQuery) -> BoxFuture<'_, Result<Vec<Execution>, PlatformError>> {
        Box::pin(async move { Ok(self.inner.store.executions().history(&q)?) })
    }

    fn events(&self) -> broadcast::Receiver<ExecEvent> {
        self.inner.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use chrono::Utc;
    use std::path::Path;

    fn platform(dir: &Path, jobs: &str) -> (LocalPlatform, Arc<Store>) {
        let text = format!("[bot]\ncancel_grace = \"1s\"\n{jobs}");
        let config = Config::from_toml_str(&text, "t.toml", dir).unwrap();
        let store = Arc::new(Store::open(&dir.join("db.sqlite")).unwrap());
        (LocalPlatform::new(&config, store.clone()), store)
    }

    fn req(job: &str, params: &[(&str, &str)]) -> ExecRequest {
        ExecRequest {
            job: job.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            run_at: None,
            requested_by: "tester".into(),
            channel: "test".into(),
        }
    }

    async fn wait_end(p: &LocalPlatform, id: ExecId) -> Execution {
        for _ in 0..200 {
            let e = p.status(id).await.unwrap();
            if e.status.is_terminal() {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("#{id} did not end");
    }

    async fn gone(pgid: i32) -> bool {
        for _ in 0..40 {
            if !group_alive(pgid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    const JOBS: &str = r#"
[[jobs]]
id = "echo"
  [[jobs.parameters]]
  name = "msg"
  kind = "string"
  required = true
  [[jobs.parameters]]
  name = "code"
  kind = "integer"
  default = 0
  [jobs.run]
  argv = ["/bin/sh", "-c", "echo \"env=$JOB_PARAM_MSG\"; echo \"arg=$1\"; echo oops >&2; exit $JOB_PARAM_CODE", "sh", "{msg}"]
  timeout = "10s"

[[jobs]]
id = "sleepy"
  [jobs.run]
  argv = ["/bin/sh", "-c", "echo $$ > pid; sleep 30 & wait"]
  timeout = "1s"
"#;

    #[tokio::test]
    async fn runs_succeeds_fails_and_passes_values_literally() {
        let dir = tempfile::tempdir().unwrap();
        let (p, store) = platform(dir.path(), JOBS);
        p.start().await.unwrap();
        let e = p
            .execute(req("echo", &[("msg", "x; rm -rf / $(id)")]))
            .await
            .unwrap();
        assert_eq!(e.status, Status::Running);
        let e = wait_end(&p, e.id).await;
        assert_eq!(e.status, Status::Succeeded, "{e:?}");
        assert_eq!(e.exit_code, Some(0));
        assert!(e.output.contains("env=x; rm -rf / $(id)\n"), "{}", e.output);
        assert!(e.output.contains("arg=x; rm -rf / $(id)\n"), "{}", e.output);
        assert!(e.output.contains("oops"));
        assert!(e.cpu_ms.is_some());
        assert_eq!(e.params["code"], "0", "defaults are recorded");
        let e = p
            .execute(req("echo", &[("msg", "x"), ("code", "3")]))
            .await
            .unwrap();
        let e = wait_end(&p, e.id).await;
        assert_eq!((e.status, e.exit_code), (Status::Failed, Some(3)));
        let events = store.executions().events(e.id).unwrap();
        let statuses: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(statuses, ["scheduled", "running", "failed"]);
    }

    #[tokio::test]
    async fn timeout_and_cancel_kill_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = platform(dir.path(), JOBS);
        p.start().await.unwrap();
        let e = p.execute(req("sleepy", &[])).await.unwrap();
        let e = wait_end(&p, e.id).await;
        assert_eq!(e.status, Status::TimedOut, "{e:?}");
        assert_eq!(e.signal, Some(libc::SIGTERM));
        let pid: i32 = std::fs::read_to_string(dir.path().join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid).await, "the group is gone");

        let e = p.execute(req("sleepy", &[])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let e = p.cancel(e.id, "bob".into(), "c".into()).await.unwrap();
        assert_eq!(e.status, Status::Cancelled);
        assert_eq!(e.cancelled_by.as_deref(), Some("bob"));
        let pid: i32 = std::fs::read_to_string(dir.path().join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid).await);
        assert!(matches!(
            p.cancel(e.id, "bob".into(), "c".into()).await,
            Err(PlatformError::AlreadyEnded { .. })
        ));
    }

    #[tokio::test]
    async fn scheduled_runs_fire_and_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = platform(dir.path(), JOBS);
        p.start().await.unwrap();
        let mut r = req("echo", &[("msg", "later")]);
        r.run_at = Some(Utc::now() + chrono::Duration::milliseconds(600));
        let e = p.execute(r.clone()).await.unwrap();
        assert_eq!(e.status, Status::Scheduled);
        let e2 = p.execute(r).await.unwrap();
        let c = p.cancel(e2.id, "x".into(), "c".into()).await.unwrap();
        assert_eq!(c.status, Status::Cancelled);
        let e = wait_end(&p, e.id).await;
        assert_eq!(e.status, Status::Succeeded);
        assert!(e.started_at.unwrap() >= e.run_at);
    }

    #[tokio::test]
    async fn concurrency_limit_queues() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = r#"
[[jobs]]
id = "one"
  [jobs.run]
  argv = ["/bin/sh", "-c", "sleep 0.3"]
  concurrency = 1
"#;
        let (p, _) = platform(dir.path(), jobs);
        p.start().await.unwrap();
        let a = p.execute(req("one", &[])).await.unwrap();
        let b = p.execute(req("one", &[])).await.unwrap();
        assert_eq!(a.status, Status::Running);
        assert_eq!(b.status, Status::Scheduled);
        let b = wait_end(&p, b.id).await;
        assert_eq!(b.status, Status::Succeeded);
        let a = wait_end(&p, a.id).await;
        assert!(b.started_at.unwrap() >= a.finished_at.unwrap());
    }

    #[tokio::test]
    async fn recovery_marks_running_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = platform(dir.path(), JOBS);
        // a "previous bot" left a running row whose process is alive in its own group
        let mut child = std::process::Command::new("sleep");
        std::os::unix::process::CommandExt::process_group(&mut child, 0);
        let mut child = child.arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let params = BTreeMap::new();
        let e = store
            .executions()
            .insert(&NewExecution {
                job: "sleepy",
                params: &params,
                requested_by: "t",
                channel: "c",
                created_at: Utc::now(),
                run_at: Utc::now(),
            })
            .unwrap();
        store
            .executions()
            .mark_running(
                e.id,
                Utc::now(),
                pid,
                crate::util::process::proc_start_ticks(pid),
            )
            .unwrap();
        drop(store);
        let (p, _) = platform(dir.path(), JOBS);
        let mut events = p.events();
        let interrupted = p.start().await.unwrap();
        assert_eq!(interrupted.len(), 1);
        assert_eq!(interrupted[0].status, Status::Interrupted);
        assert!(interrupted[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("were killed"));
        let ev = events.recv().await.unwrap();
        assert_eq!(ev.execution.status, Status::Interrupted);
        let st = child.wait().unwrap();
        assert!(!st.success());
    }

    #[test]
    fn output_keeps_the_tail() {
        let mut o = OutputBuf::new(OutputLimits {
            max_lines: 3,
            max_bytes: 1000,
        });
        for i in 0..5 {
            o.push(&format!("line {i}\n"));
        }
        assert_eq!(o.text(), "line 2\nline 3\nline 4\n");
        assert!(o.truncated());
        let mut o = OutputBuf::new(OutputLimits {
            max_lines: 100,
            max_bytes: 10,
        });
        o.push("abcdefgh");
        o.push("ij");
        assert_eq!(o.text(), "ij\n");
    }
}
