//! Pushed updates: an execution's status changes and its final report, for the channel that
//! started it and for the channels that watch it, each in its reader's language.

use super::*;

impl Bot {
    /// Turns an execution event into pushed messages, each in the language of the person it
    /// is for: the requester in the channel that started the run, the subscriber in a
    /// watching channel.
    pub async fn pushes_for(&self, ev: &ExecEvent) -> Vec<Outgoing> {
        let e = &ev.execution;
        let watchers = self.store.follows().subscriptions(e.id).unwrap_or_default();
        let tz = self.config.time_zone;
        let now = crate::clock::now();
        let mut out = Vec::new();
        match (ev.previous, e.status) {
            (None, Status::Scheduled) => {}
            (Some(Status::Scheduled), Status::Running) => {
                let delayed = e.run_at - e.created_at > chrono::Duration::milliseconds(500);
                let late =
                    crate::jobs::overdue::late_by(e.run_at, e.started_at.unwrap_or(e.run_at));
                let text = |lang| {
                    if let (true, Some(late)) = (delayed, late) {
                        tr!(
                            lang,
                            "push-started-late",
                            id = e.id,
                            job = &e.job,
                            params = crate::i18n::format::params(&e.params, lang),
                            late = crate::i18n::format::duration_std(late),
                            due = crate::i18n::format::time(e.run_at, tz, lang)
                        )
                    } else if delayed {
                        tr!(
                            lang,
                            "push-started-as-scheduled",
                            id = e.id,
                            job = &e.job,
                            params = crate::i18n::format::params(&e.params, lang)
                        )
                    } else {
                        tr!(lang, "push-running", id = e.id, job = &e.job)
                    }
                };
                let mut targets: BTreeMap<String, String> = watchers.into_iter().collect();
                if delayed {
                    targets.insert(e.channel.clone(), e.requested_by.clone());
                }
                for (c, user) in targets {
                    out.push(Outgoing {
                        text: text(self.lang_of(&user, &c)),
                        channel: c,
                        ..Default::default()
                    });
                }
            }
            (_, s) if s.is_terminal() => {
                let recent = self
                    .platform
                    .history(crate::jobs::HistoryQuery {
                        job: Some(e.job.clone()),
                        limit: 50,
                        ..Default::default()
                    })
                    .await
                    .unwrap_or_default();
                let stats = crate::render::job_stats(e, &recent, now);
                let mut targets: BTreeMap<String, String> = watchers.into_iter().collect();
                targets.insert(e.channel.clone(), e.requested_by.clone());
                for (c, user) in targets {
                    // the channel that cancelled got its answer already; it still gets the
                    // marker so that `--wait` knows the execution ended
                    let (text, charts) = if ev.cancel_channel.as_deref() == Some(c.as_str()) {
                        (String::new(), Vec::new())
                    } else {
                        let lang = self.lang_of(&user, &c);
                        let charts = crate::render::summary_charts(e, &recent, lang);
                        let report = crate::render::report(e, Some(&stats), tz, lang, now);
                        (crate::render::with_chart_texts(report, &charts), charts)
                    };
                    out.push(Outgoing {
                        channel: c,
                        charts,
                        text,
                        final_for: Some(e.id),
                        ..Default::default()
                    });
                }
                if let Err(err) = self.store.follows().unsubscribe_all(e.id) {
                    tracing::warn!("cannot drop the subscriptions of #{}: {err}", e.id);
                }
            }
            (prev, s) => {
                for (c, user) in watchers {
                    let lang = self.lang_of(&user, &c);
                    out.push(Outgoing {
                        text: tr!(
                            lang,
                            "push-status-change",
                            id = e.id,
                            job = &e.job,
                            from = prev
                                .map(|p| crate::render::status(p, lang))
                                .unwrap_or_default(),
                            to = crate::render::status(s, lang)
                        ),
                        channel: c,
                        ..Default::default()
                    });
                }
            }
        }
        for o in &mut out {
            o.thread = self
                .store
                .follows()
                .thread_of(e.id, &o.channel)
                .unwrap_or_else(|err| {
                    tracing::warn!("cannot read the thread of #{}: {err}", e.id);
                    None
                });
        }
        out
    }
}

/// Forwards platform events as pushed messages until the platform goes away.
pub async fn run_notifier(
    bot: Arc<Bot>,
    mut events: broadcast::Receiver<ExecEvent>,
    tx: mpsc::UnboundedSender<Outgoing>,
) {
    loop {
        match events.recv().await {
            Ok(ev) => {
                for mut o in bot.pushes_for(&ev).await {
                    o.text = bot.policy.redact(&o.text);
                    if tx.send(o).is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("the notifier missed {n} events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
