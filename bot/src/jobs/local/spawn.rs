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
        let remote = match spec.on.as_deref() {
            None => None,
            Some(on) => {
                let host = substitute(on, &values);
                match self.ssh.host(&host) {
                    Some(h) => Some(h.clone()),
                    None => {
                        return self.fail_to_start(
                            &e,
                            format!("`{host}` is not one of the catalog's hosts, so the job cannot run there"),
                        )
                    }
                }
            }
        };
        let mut cmd = match &remote {
            None => {
                let mut c = tokio::process::Command::new(&argv[0]);
                c.args(&argv[1..])
                    .current_dir(&spec.cwd)
                    .stdin(Stdio::null());
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
            .process_group(0)
            .kill_on_drop(false);
        let env = crate::config::env_secrets::resolve(&e.job, &spec.env, &values, &|k| {
            std::env::var(k).ok()
        });
        let mut job_env: Vec<(String, String)> = env.clone().into_iter().collect();
        // what the job could print of its secrets is masked before it is kept
        let env_secrets = env
            .iter()
            .filter(|(k, _)| crate::config::env_secrets::looks_secret(k))
            .map(|(_, v)| v.clone());
        let redactions: Vec<String> = secret_values.into_iter().chain(env_secrets).collect();
        for (k, v) in &e.params {
            job_env.push((param_env_name(k), v.clone()));
        }
        job_env.push(("JOB_ID".into(), e.job.clone()));
        job_env.push(("JOB_EXECUTION_ID".into(), e.id.to_string()));
        job_env.push(("JOB_REQUESTED_BY".into(), e.requested_by.clone()));
        // the bot's own secrets are not the job's
        for k in BOT_SECRET_ENV {
            cmd.env_remove(k);
        }
        // here the job gets its environment from the process; on a host, from the client's
        // stdin (so that no value shows in a command line there)
        let stdin_text = match &remote {
            None => {
                cmd.envs(job_env.iter().map(|(k, v)| (k, v)));
                None
            }
            Some(_) => {
                let (text, refused) = ssh::env_lines(&job_env);
                if !refused.is_empty() {
                    return self.fail_to_start(
                        &e,
                        format!(
                            "the environment variable name(s) {} cannot be passed to a host; rename them in [jobs.run] env",
                            refused.join(", ")
                        ),
                    );
                }
                Some(text)
            }
        };

        let program = match &remote {
            None => argv[0].clone(),
            Some(_) => self.ssh.program.clone(),
        };
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(err) => {
                return self.fail_to_start(&e, format!("cannot start `{program}`: {err}"));
            }
        };
        if let (Some(text), Some(mut stdin)) = (stdin_text, child.stdin.take()) {
            // read by the host before the job starts; a client that failed early has closed
            // its end, and its own error says why
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let _ = stdin.write_all(text.as_bytes()).await;
                let _ = stdin.shutdown().await;
            });
        }
        let Some(pid) = child.id().map(|p| p as i32) else {
            return Err(PlatformError::Other(
                "the child exited before it had an id".into(),
            ));
        };
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
            if let Some(h) = &remote {
                ssh::stop_remote(&self.ssh, h, e.id, "KILL").await;
            }
            kill_group(pid, libc::SIGKILL);
            let _ = tokio::task::spawn_blocking(move || wait_pid(pid)).await;
            drop(child);
            return Ok(());
        }
        self.running_map().insert(
            e.id,
            Running {
                job: e.job.clone(),
                host: remote.as_ref().map(|h| h.id.clone()),
                output: output.clone(),
                stop: stop_tx,
                done: done_rx,
            },
        );
        self.emit(Some(Status::Scheduled), e.id, None);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let inner = self.clone();
        let timeout = spec.timeout;
        tokio::spawn(async move {
            inner
                .monitor(
                    e.id, pid, child, stdout, stderr, output, stop_rx, done_tx, timeout, remote,
                )
                .await;
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn monitor(
        self: Arc<Self>,
        id: ExecId,
        pid: i32,
        child: tokio::process::Child,
        stdout: Option<tokio::process::ChildStdout>,
        stderr: Option<tokio::process::ChildStderr>,
        output: SharedOutput,
        mut stop_rx: mpsc::UnboundedReceiver<StopRequest>,
        done_tx: watch::Sender<bool>,
        timeout: Duration,
        remote: Option<SshHost>,
    ) {
        let readers = [
            stdout.map(|s| tokio::spawn(read_lines(s, output.clone()))),
            stderr.map(|s| tokio::spawn(read_lines(s, output.clone()))),
        ];
        // `child` stays alive (unpolled) until wait4 has reaped the process, so tokio never
        // reaps it first and the rusage is ours.
        let mut waiter = tokio::task::spawn_blocking(move || wait_pid(pid));
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
                    self.signal(pid, id, remote.as_ref(), libc::SIGTERM).await;
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
                        self.signal(pid, id, remote.as_ref(), libc::SIGTERM).await;
                        kill_at.as_mut().reset(tokio::time::Instant::now() + self.grace);
                    }
                    None => stop_open = false,
                },
                _ = &mut kill_at => {
                    self.signal(pid, id, remote.as_ref(), libc::SIGKILL).await;
                    kill_at.as_mut().reset(tokio::time::Instant::now() + far);
                }
                _ = tick.tick() => {
                    // (on a host, the group here is only the client)
                    if let Some(kb) = group_peak_kb(pid).filter(|_| remote.is_none()) {
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
        drop(child);
        for r in readers.into_iter().flatten() {
            let abort = r.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), r)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let (text, truncated) = {
            let o = lock(&output);
            (o.text(), o.truncated())
        };
        let mut f = Finish {
            output: text,
            output_truncated: truncated,
            ..Default::default()
        };
        let status = match waited {
            Ok(Ok((raw, ru))) => {
                // (on a host, the process here is only the client: its use is not the job's)
                if remote.is_none() {
                    f.cpu_ms = Some(tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime));
                    f.max_rss_kb = peak_kb;
                }
                if libc::WIFEXITED(raw) {
                    f.exit_code = Some(libc::WEXITSTATUS(raw));
                } else if libc::WIFSIGNALED(raw) {
                    f.signal = Some(libc::WTERMSIG(raw));
                }
                match &forced {
                    Some((s, _, _)) => *s,
                    None if f.exit_code == Some(0) => Status::Succeeded,
                    None => match remote
                        .as_ref()
                        .and_then(|h| Some((h, ssh::classify(f.exit_code, &f.output)?)))
                    {
                        // the connection failed, not the job
                        Some((h, failure)) => {
                            f.detail = Some(failure.detail(h));
                            failure.status()
                        }
                        None => {
                            if let Some(sig) = f.signal {
                                f.detail = Some(format!(
                                    "killed by signal {sig} ({})",
                                    crate::domain::exec::signal_name(sig)
                                ));
                            }
                            Status::Failed
                        }
                    },
                }
            }
            Ok(Err(e)) => {
                f.detail = Some(format!("cannot wait for the process: {e}"));
                Status::Failed
            }
            Err(e) => {
                f.detail = Some(format!("cannot wait for the process: {e}"));
                Status::Failed
            }
        };
        // stopped, or cut off: nothing of it may be left running on the host
        if let Some(h) = &remote {
            if forced.is_some() || status == Status::Interrupted {
                ssh::stop_remote(&self.ssh, h, id, "KILL").await;
            }
        }
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

    /// Sends `sig` (SIGTERM or SIGKILL) to the run's process group: here, or on its host
    /// (where SIGKILL also ends the client here).
    async fn signal(&self, pid: i32, id: ExecId, remote: Option<&SshHost>, sig: i32) {
        match remote {
            None => {
                kill_group(pid, sig);
            }
            Some(h) => {
                let name = if sig == libc::SIGKILL { "KILL" } else { "TERM" };
                ssh::stop_remote(&self.ssh, h, id, name).await;
                if sig == libc::SIGKILL {
                    kill_group(pid, libc::SIGKILL);
                }
            }
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
