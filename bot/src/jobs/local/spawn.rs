//! Starting an execution's process and following it to its end: environment, output,
//! timeout, cancellation and resource use. A job that runs `on` a host is the same process
//! here, the `ssh` client, with what it runs there from [`crate::jobs::ssh`].

use super::*;
use crate::config::ssh::SshHost;
use crate::jobs::ssh;

impl Inner {
    pub(super) async fn spawn(self: &Arc<Self>, mut e: Execution) -> Result<(), PlatformError> {
        let Some(spec) = self.runs.get(&e.job) else {
            return self.fail_to_start(&e, format!("job `{}` has no run specification", e.job));
        };
        // the secret values come from memory: the database holds `***`
        let kept = self.kept().remove(&e.id).unwrap_or_default();
        let secret_values: Vec<String> = kept.values().cloned().collect();
        e.params.extend(kept);
        let lost: Vec<&str> = e
            .params
            .iter()
            .filter(|(k, v)| v.as_str() == crate::domain::exec::MASK && self.is_secret(&e.job, k))
            .map(|(k, _)| k.as_str())
            .collect();
        if !lost.is_empty() {
            let why = format!(
                "its secret parameter(s) {} are not stored in the database and were lost when the bot restarted; request the run again",
                lost.join(", ")
            );
            return self.fail_to_start(&e, why);
        }
        let mut values = e.params.clone();
        values.insert("execution_id".into(), e.id.to_string());
        values.insert("job".into(), e.job.clone());
        let mut argv: Vec<String> = Vec::with_capacity(spec.argv.len());
        for (i, a) in spec.argv.iter().enumerate() {
            // an argument that is only the placeholder of an absent parameter is left out
            let only = crate::config::placeholders(a);
            if i > 0
                && only.len() == 1
                && a == &format!("{{{}}}", only[0])
                && !values.contains_key(&only[0])
            {
                continue;
            }
            argv.push(substitute(a, &values));
        }
        let hosts = match self.ssh.hosts_for(&spec.on, &values) {
            Ok(h) => h,
            Err(why) => return self.fail_to_start(&e, why),
        };
        let env = crate::config::env_secrets::resolve(&e.job, &spec.env, &values, &|k| {
            std::env::var(k).ok()
        });
        // what the job could print of its secrets is masked before it is kept
        let env_secrets = env
            .iter()
            .filter(|(k, _)| crate::config::env_secrets::looks_secret(k))
            .map(|(_, v)| v.clone());
        let redactions: Vec<String> = secret_values.into_iter().chain(env_secrets).collect();
        let mut job_env: Vec<(String, String)> = env.clone().into_iter().collect();
        for (k, v) in &e.params {
            job_env.push((param_env_name(k), v.clone()));
        }
        job_env.push(("JOB_ID".into(), e.job.clone()));
        job_env.push(("JOB_EXECUTION_ID".into(), e.id.to_string()));
        job_env.push(("JOB_REQUESTED_BY".into(), e.requested_by.clone()));
        // on a host the job reads its environment from the client's stdin, so that no value
        // shows in a command line there
        let stdin_text = match hosts.is_empty() {
            true => String::new(),
            false => match ssh::env_lines(&job_env) {
                (text, refused) if refused.is_empty() => text,
                (_, refused) => {
                    return self.fail_to_start(
                        &e,
                        format!(
                            "the environment variable name(s) {} cannot be passed to a host; rename them in [jobs.run] env",
                            refused.join(", ")
                        ),
                    )
                }
            },
        };
        // the processes here: the job, or one client per host, all in the first one's group
        let targets: Vec<Option<SshHost>> = if hosts.is_empty() {
            vec![None]
        } else {
            hosts.into_iter().map(Some).collect()
        };
        let mut procs: Vec<Proc> = Vec::with_capacity(targets.len());
        for host in targets {
            let leader = procs.first().map_or(0, |p| p.pid);
            let mut cmd = match &host {
                None => {
                    let mut c = tokio::process::Command::new(&argv[0]);
                    c.args(&argv[1..])
                        .current_dir(&spec.cwd)
                        .stdin(Stdio::null())
                        .envs(job_env.iter().map(|(k, v)| (k, v)));
                    c
                }
                Some(h) => {
                    let mut c = tokio::process::Command::new(&self.ssh.program);
                    c.args(ssh::client_args(&self.ssh, h))
                        .arg(ssh::remote_script(&self.ssh, e.id, &argv))
                        .stdin(Stdio::piped());
                    c
                }
            };
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(leader)
                .kill_on_drop(false);
            // the bot's own secrets are not the job's
            for k in BOT_SECRET_ENV {
                cmd.env_remove(k);
            }
            let program = if host.is_some() {
                &self.ssh.program
            } else {
                &argv[0]
            };
            let spawned = cmd
                .spawn()
                .map_err(|err| format!("cannot start `{program}`: {err}"));
            let (mut child, pid) = match spawned.and_then(|c| match c.id() {
                Some(pid) => Ok((c, pid as i32)),
                None => Err("the child exited before it had an id".to_string()),
            }) {
                Ok(c) => c,
                Err(why) => {
                    if leader != 0 {
                        kill_group(leader, libc::SIGKILL);
                        reap(procs).await;
                    }
                    return self.fail_to_start(&e, why);
                }
            };
            if let (true, Some(mut stdin)) = (host.is_some(), child.stdin.take()) {
                // read by the host before the job starts; a client that failed early has
                // closed its end, and its own error says why
                let text = stdin_text.clone();
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    let _ = stdin.write_all(text.as_bytes()).await;
                    let _ = stdin.shutdown().await;
                });
            }
            procs.push(Proc { host, pid, child });
        }
        let pid = procs[0].pid;
        let hosts: Vec<SshHost> = procs.iter().filter_map(|p| p.host.clone()).collect();
        let pid_start = crate::util::process::proc_start_ticks(pid);
        let claimed =
            self.store
                .executions()
                .mark_running(e.id, crate::clock::now(), pid, pid_start)?;
        let (done_tx, done_rx) = watch::channel(false);
        let (stop_tx, stop_rx) = mpsc::unbounded_channel();
        let output = Arc::new(Mutex::new(
            OutputBuf::new(self.limits).with_redactions(redactions),
        ));
        if !claimed {
            // cancelled while we were starting it: stop it at once
            self.signal(pid, e.id, &hosts, libc::SIGKILL).await;
            kill_group(pid, libc::SIGKILL);
            reap(procs).await;
            return Ok(());
        }
        self.running_map().insert(
            e.id,
            Running {
                job: e.job.clone(),
                hosts: hosts.iter().map(|h| h.id.clone()).collect(),
                output: output.clone(),
                stop: stop_tx,
                done: done_rx,
            },
        );
        self.emit(Some(Status::Scheduled), e.id, None);
        let inner = self.clone();
        let timeout = spec.timeout;
        tokio::spawn(async move {
            inner
                .monitor(e.id, procs, output, stop_rx, done_tx, timeout)
                .await;
        });
        Ok(())
    }

    pub(super) async fn monitor(
        self: Arc<Self>,
        id: ExecId,
        mut procs: Vec<Proc>,
        output: SharedOutput,
        mut stop_rx: mpsc::UnboundedReceiver<StopRequest>,
        done_tx: watch::Sender<bool>,
        timeout: Duration,
    ) {
        let pid = procs[0].pid;
        let hosts: Vec<SshHost> = procs.iter().filter_map(|p| p.host.clone()).collect();
        // a run on several hosts tags each line with its host
        let tagged = procs.len() > 1;
        let mut readers = Vec::new();
        for p in &mut procs {
            let tag = p
                .host
                .as_ref()
                .filter(|_| tagged)
                .map(|h| format!("[{}] ", h.id));
            if let Some(s) = p.child.stdout.take() {
                readers.push(tokio::spawn(read_lines(s, output.clone(), tag.clone())));
            }
            if let Some(s) = p.child.stderr.take() {
                readers.push(tokio::spawn(read_lines(s, output.clone(), tag)));
            }
        }
        // the children stay alive (unpolled) until wait4 has reaped them, so tokio never
        // reaps one first and the rusage is ours
        let pids: Vec<i32> = procs.iter().map(|p| p.pid).collect();
        let mut waiter =
            tokio::task::spawn_blocking(move || pids.into_iter().map(wait_pid).collect::<Vec<_>>());
        let far = Duration::from_secs(100 * 365 * 86400);
        let deadline = tokio::time::sleep(timeout);
        let kill_at = tokio::time::sleep(far);
        tokio::pin!(deadline, kill_at);
        // rusage's maxrss of the leader includes the bot's own memory (the spawn shares it
        // until exec), so peak memory is sampled from /proc (VmHWM of the group's processes)
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut ticks: u64 = 0;
        let mut peak_kb: Option<i64> = None;
        let mut forced: Option<(Status, String, Option<StopRequest>)> = None;
        let mut stop_open = true;
        let waited = loop {
            tokio::select! {
                r = &mut waiter => break r,
                _ = &mut deadline, if forced.is_none() => {
                    forced = Some((Status::TimedOut, format!("stopped after the timeout of {}", crate::i18n::format::duration_std(timeout)), None));
                    self.signal(pid, id, &hosts, libc::SIGTERM).await;
                    kill_at.as_mut().reset(tokio::time::Instant::now() + self.grace);
                }
                req = stop_rx.recv(), if forced.is_none() && stop_open => match req {
                    Some(req) => {
                        let (status, detail) = if req.by.is_empty() {
                            (Status::Interrupted, "the bot shut down while it ran".to_string())
                        } else {
                            (Status::Cancelled, format!("cancelled by {}", req.by))
                        };
                        forced = Some((status, detail, Some(req)));
                        self.signal(pid, id, &hosts, libc::SIGTERM).await;
                        kill_at.as_mut().reset(tokio::time::Instant::now() + self.grace);
                    }
                    None => stop_open = false,
                },
                _ = &mut kill_at => {
                    self.signal(pid, id, &hosts, libc::SIGKILL).await;
                    kill_at.as_mut().reset(tokio::time::Instant::now() + far);
                }
                _ = tick.tick() => {
                    // (on a host, the group here is only the clients)
                    if let Some(kb) = group_peak_kb(pid).filter(|_| hosts.is_empty()) {
                        peak_kb = Some(peak_kb.map_or(kb, |p| p.max(kb)));
                    }
                    ticks += 1;
                    if ticks.is_multiple_of(5) {
                        self.flush_output(id, &output);
                    }
                }
            }
        };
        // whatever is left of the group goes with its leader
        kill_group(pid, libc::SIGKILL);
        drop(procs);
        for r in readers {
            let abort = r.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), r)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let mut f = Finish::default();
        let status = match waited {
            Ok(results) => {
                let text = lock(&output).text();
                let mut ends: Vec<End> = results
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| End::of(r, hosts.get(i), &text, tagged))
                    .collect();
                // a client of a shared connection says nothing when the connection drops:
                // whether it still stands tells a dropped connection from a job's own 255
                for end in ends.iter_mut().filter(|e| e.failure.is_none()) {
                    let code = end
                        .waited
                        .as_ref()
                        .ok()
                        .and_then(|(raw, _)| exit_of(*raw).0);
                    if let (Some(255), Some(h)) = (code, &end.host) {
                        if !ssh::shared_connection_alive(&self.ssh, h).await {
                            end.failure = Some(ssh::SshFailure::Dropped(
                                "the shared connection to the host closed".into(),
                            ));
                        }
                    }
                }
                if hosts.is_empty() {
                    if let Some(Ok((_, ru))) = ends.first().map(|e| &e.waited) {
                        f.cpu_ms = Some(tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime));
                        f.max_rss_kb = peak_kb;
                    }
                }
                let (status, per_host) = outcome(&ends, forced.as_ref().map(|f| f.0), &mut f);
                // on several hosts, the summary (a line per host) ends the output
                let mut o = lock(&output);
                for l in per_host {
                    o.push(&format!("── {l}"));
                }
                status
            }
            Err(e) => {
                f.detail = Some(format!("cannot wait for the process: {e}"));
                Status::Failed
            }
        };
        // stopped, or cut off: nothing of it may be left running on its hosts
        if forced.is_some() || status == Status::Interrupted {
            self.signal(pid, id, &hosts, libc::SIGKILL).await;
        }
        let (text, truncated) = {
            let o = lock(&output);
            (o.text(), o.truncated())
        };
        f.output = text;
        f.output_truncated = truncated;
        let (cancelled_by, cancel_channel) = match forced {
            Some((_, detail, req)) => {
                f.detail = Some(detail);
                match req {
                    Some(r) if !r.by.is_empty() => (Some(r.by), Some(r.channel)),
                    _ => (None, None),
                }
            }
            None => (None, None),
        };
        match self.store.executions().finish(
            id,
            &[Status::Running],
            status,
            crate::clock::now(),
            &f,
            cancelled_by.as_deref(),
        ) {
            Ok(_) => {}
            Err(e) => tracing::error!("cannot record the end of #{id}: {e}"),
        }
        self.running_map().remove(&id);
        self.emit(Some(Status::Running), id, cancel_channel);
        let _ = done_tx.send(true);
        self.wake.notify_one();
    }

    /// Sends `sig` (SIGTERM or SIGKILL) to the run's process group here and, on hosts, to
    /// its group on each of them (where SIGTERM leaves the clients here to end with them).
    async fn signal(&self, pid: i32, id: ExecId, hosts: &[SshHost], sig: i32) {
        if hosts.is_empty() || sig == libc::SIGKILL {
            kill_group(pid, sig);
        }
        let name = if sig == libc::SIGKILL { "KILL" } else { "TERM" };
        for h in hosts {
            ssh::stop_remote(&self.ssh, h, id, name).await;
        }
    }

    pub(super) fn flush_output(&self, id: ExecId, output: &SharedOutput) {
        let snapshot = {
            let mut o = lock(output);
            if !o.dirty {
                return;
            }
            o.dirty = false;
            (o.text(), o.truncated())
        };
        if let Err(e) = self
            .store
            .executions()
            .update_output(id, &snapshot.0, snapshot.1)
        {
            tracing::warn!("cannot save the output of #{id}: {e}");
        }
    }
}

/// A process of a run: the job here, or the client for one of its hosts.
pub(super) struct Proc {
    host: Option<SshHost>,
    pid: i32,
    child: tokio::process::Child,
}

/// How one process of a run ended.
pub(super) struct End {
    host: Option<SshHost>,
    waited: std::io::Result<(i32, libc::rusage)>,
    /// On a host: the connection's failure, when the client (not the job) failed.
    failure: Option<ssh::SshFailure>,
}

impl End {
    /// `waited` of the process for `host`; `output` is the run's (lines tagged `[host] ` when
    /// `tagged`), where the client's own error is looked for.
    fn of(
        waited: std::io::Result<(i32, libc::rusage)>,
        host: Option<&SshHost>,
        output: &str,
        tagged: bool,
    ) -> End {
        let failure = host.and_then(|h| {
            let code = waited.as_ref().ok().and_then(|(raw, _)| exit_of(*raw).0);
            let own: String = if tagged {
                let tag = format!("[{}] ", h.id);
                output
                    .lines()
                    .filter_map(|l| l.strip_prefix(tag.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                output.to_string()
            };
            ssh::classify(code, &own)
        });
        End {
            host: host.cloned(),
            waited,
            failure,
        }
    }
}

/// The exit code, or the signal, of a raw wait status.
fn exit_of(raw: i32) -> (Option<i32>, Option<i32>) {
    if libc::WIFEXITED(raw) {
        (Some(libc::WEXITSTATUS(raw)), None)
    } else if libc::WIFSIGNALED(raw) {
        (None, Some(libc::WTERMSIG(raw)))
    } else {
        (None, None)
    }
}

/// Waits for processes that will not be followed (killed before they ran).
async fn reap(procs: Vec<Proc>) {
    let pids: Vec<i32> = procs.iter().map(|p| p.pid).collect();
    let _ = tokio::task::spawn_blocking(move || {
        for p in pids {
            let _ = wait_pid(p);
        }
    })
    .await;
    drop(procs);
}

/// The status a run ends with, from how each of its processes ended (one here, or one
/// client per host), unless it was stopped (`forced`); fills in `f`'s exit code, signal and
/// detail. On several hosts, also a line per host for the summary.
fn outcome(ends: &[End], forced: Option<Status>, f: &mut Finish) -> (Status, Vec<String>) {
    if let [one] = ends {
        let Ok((raw, _)) = &one.waited else {
            f.detail = one
                .waited
                .as_ref()
                .err()
                .map(|e| format!("cannot wait for the process: {e}"));
            return (forced.unwrap_or(Status::Failed), Vec::new());
        };
        (f.exit_code, f.signal) = exit_of(*raw);
        if let Some(s) = forced {
            return (s, Vec::new());
        }
        if f.exit_code == Some(0) {
            return (Status::Succeeded, Vec::new());
        }
        if let (Some(h), Some(failure)) = (&one.host, &one.failure) {
            // the connection failed, not the job
            f.detail = Some(failure.detail(h));
            return (failure.status(), Vec::new());
        }
        if let Some(sig) = f.signal {
            f.detail = Some(format!(
                "killed by signal {sig} ({})",
                crate::domain::exec::signal_name(sig)
            ));
        }
        return (Status::Failed, Vec::new());
    }
    // several hosts: one line per host, and the worst of them
    let mut lines = Vec::new();
    let mut statuses = Vec::new();
    for end in ends {
        let host = end.host.as_ref().map_or("?", |h| h.id.as_str());
        let (code, signal) = end
            .waited
            .as_ref()
            .map_or((None, None), |(raw, _)| exit_of(*raw));
        let (status, what) = match (&end.failure, code, signal) {
            (Some(failure), _, _) => (failure.status(), failure.summary()),
            (None, Some(0), _) => (Status::Succeeded, "succeeded".to_string()),
            (None, Some(c), _) => (Status::Failed, format!("failed (exit code {c})")),
            (None, None, Some(s)) => (
                Status::Failed,
                format!("killed by {}", crate::domain::exec::signal_name(s)),
            ),
            (None, None, None) => (Status::Failed, "ended without an exit status".into()),
        };
        if f.exit_code.is_none() || f.exit_code == Some(0) {
            f.exit_code = code;
        }
        statuses.push(status);
        lines.push(format!("{host}: {what}"));
    }
    let ok = statuses.iter().filter(|s| **s == Status::Succeeded).count();
    f.detail = Some(format!(
        "on {} hosts, {ok} succeeded: {}",
        ends.len(),
        lines.join("; ")
    ));
    let status = match (forced, statuses.first()) {
        (Some(s), _) => s,
        (None, Some(first)) if statuses.iter().all(|s| s == first) => *first,
        _ => Status::Failed,
    };
    (status, lines)
}
