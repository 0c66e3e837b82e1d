//! The ChatOps assistant's intents: the names its model is trained with
//! (`docs/nlu-contract.md`), as a type the bot can match on. The `nlu` library knows intents
//! only as names ([`nlu::IntentName`]); this is where the bot gives them meaning.

use nlu::IntentName;
use serde::{Deserialize, Serialize};

/// One of the twelve intents of the contract.
///
/// ```
/// use bot::intent::Intent;
/// assert_eq!(Intent::of(&nlu::IntentName::from("cancel_job")), Intent::CancelJob);
/// assert_eq!(Intent::of(&nlu::IntentName::from("turn_on_light")), Intent::OutOfScope);
/// assert_eq!(nlu::IntentName::from("help"), Intent::Help);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    RunJob,
    DeployApp,
    JobStatus,
    WatchJob,
    CancelJob,
    ListJobs,
    JobHistory,
    Help,
    Affirm,
    Deny,
    Smalltalk,
    OutOfScope,
}

impl Intent {
    /// Every intent, in the contract's order.
    pub const ALL: [Intent; 12] = [
        Intent::RunJob,
        Intent::DeployApp,
        Intent::JobStatus,
        Intent::WatchJob,
        Intent::CancelJob,
        Intent::ListJobs,
        Intent::JobHistory,
        Intent::Help,
        Intent::Affirm,
        Intent::Deny,
        Intent::Smalltalk,
        Intent::OutOfScope,
    ];

    /// The contract's spelling, e.g. `run_job`.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::RunJob => "run_job",
            Intent::DeployApp => "deploy_app",
            Intent::JobStatus => "job_status",
            Intent::WatchJob => "watch_job",
            Intent::CancelJob => "cancel_job",
            Intent::ListJobs => "list_jobs",
            Intent::JobHistory => "job_history",
            Intent::Help => "help",
            Intent::Affirm => "affirm",
            Intent::Deny => "deny",
            Intent::Smalltalk => "smalltalk",
            Intent::OutOfScope => "out_of_scope",
        }
    }

    /// The intent a parser reported; a name the bot does not know (a model trained for
    /// something else) is out of scope.
    pub fn of(name: &IntentName) -> Intent {
        Intent::ALL
            .into_iter()
            .find(|i| *name == i.as_str())
            .unwrap_or(Intent::OutOfScope)
    }

    /// The name as the parser reports it.
    pub fn name(self) -> IntentName {
        IntentName::from_static(self.as_str())
    }

    /// The seven intents about jobs.
    pub fn is_job_intent(self) -> bool {
        matches!(
            self,
            Intent::RunJob
                | Intent::DeployApp
                | Intent::JobStatus
                | Intent::WatchJob
                | Intent::CancelJob
                | Intent::ListJobs
                | Intent::JobHistory
        )
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<Intent> for IntentName {
    fn eq(&self, other: &Intent) -> bool {
        *self == other.as_str()
    }
}

/// What the user would be asking for, in words ("run a job"), for clarification questions.
pub fn label(i: Intent, lang: crate::i18n::Lang) -> String {
    // the messages are `intent-<name>` (`intent-run_job`); a test checks that each has one
    crate::i18n::text(lang, &format!("intent-{}", i.as_str()), None)
}

/// An entity kind in words ("environment"); other kinds by their name.
pub fn entity_word(kind: &nlu::EntityKind, lang: crate::i18n::Lang) -> String {
    match kind.as_str() {
        "job" => tr!(lang, "entity-job"),
        "app" => tr!(lang, "entity-app"),
        "environment" => tr!(lang, "entity-environment"),
        "host" => tr!(lang, "entity-host"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for i in Intent::ALL {
            assert_eq!(Intent::of(&i.name()), i);
            assert_eq!(serde_json::to_string(&i).unwrap(), format!("\"{i}\""));
        }
    }

    #[test]
    fn every_intent_has_a_label_in_every_language() {
        for lang in crate::i18n::Lang::ALL {
            for i in Intent::ALL {
                let l = label(i, lang);
                assert!(
                    !l.starts_with("intent-") && !l.is_empty(),
                    "{i} in {lang}: {l}"
                );
            }
        }
        assert_eq!(label(Intent::RunJob, crate::i18n::Lang::En), "run a job");
    }
}
