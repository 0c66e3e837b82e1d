# Replies of the bot in English. Every key is also in zh.ftl, with the same arguments
# (a test checks both). Arguments are plain values: ids, names, formatted times.

## Sentences and errors
full-stop = .
error-message = {$title}: {$message}
error-suggestion = {" "}Suggestion: {$text}
error-id = {" "}(error id {$id})
error-permission = Not allowed
error-not-found = Not found
error-invalid = Invalid input
error-policy = Not right now
error-platform = The job platform could not do it
error-internal = Something went wrong on my side
error-internal-message = I could not finish that because of an internal problem.
error-internal-suggestion = try again in a moment; if it keeps happening, give the error id to the bot's operators
message-too-long = that message is too long ({$bytes} bytes; the limit is {$max})
exec-not-found = There is no execution #{$id}.
yes = yes

## Executions: statuses, headlines, reports
status-scheduled = scheduled
status-running = running
status-succeeded = succeeded
status-failed = failed
status-timed_out = timed out
status-cancelled = cancelled
status-interrupted = interrupted
status-unreachable = host unreachable
no-parameters = no parameters
output-last-lines = Last {$count} lines of output:
output = Output:
exit-code = exit code {$code}
killed-by = killed by {$signal}
no-exit-code = no exit code
detail-unknown-error = unknown error
detail-stopped = stopped
detail-interrupted = the bot stopped while it ran
headline-succeeded = #{$id} {$job} succeeded in {$took} ({$code}).
headline-failed-to-start = #{$id} {$job} failed to start: {$detail}.
headline-failed = #{$id} {$job} failed after {$took} ({$code}).
headline-timed-out = #{$id} {$job} timed out after {$took} ({$detail}; {$code}).
headline-skipped = #{$id} {$job} was skipped: {$detail}.
headline-cancelled-before-start = #{$id} {$job} was cancelled before it started.
headline-cancelled-before-start-by = #{$id} {$job} was cancelled before it started (by {$by}).
headline-cancelled = #{$id} {$job} was cancelled after {$took} ({$code}).
headline-cancelled-by = #{$id} {$job} was cancelled by {$by} after {$took} ({$code}).
headline-interrupted = #{$id} {$job} was interrupted: {$detail}.
headline-unreachable = #{$id} {$job} did not start on its host: {$detail}.
headline-running = #{$id} {$job} is running (for {$took}).
headline-scheduled = #{$id} {$job} is scheduled.
report-scheduled = #{$id} {$job} is scheduled for {$at} (in {$wait}).
report-queued = #{$id} {$job} is queued: waiting for a free slot.
report-requested-by = Requested by {$user} with {$params}.
report-started-by = Started {$at} by {$user} with {$params}.
fact-started = started {$at} by {$user}
fact-cpu = CPU {$cpu}
fact-memory = peak memory {$memory}
fact-separator = ;{" "}
stats-slower = This took longer than usual ({$took} vs. a median of {$median}).
stats-usual = Usual duration: {$median} (median of {$runs} earlier successful runs); this run: {$took}.
stats-failing-step = Failing step: {$line}
stats-same-error = Same error before: {$count ->
        [one] {$count} time
       *[other] {$count} times
    }, last in #{$last} at {$at}.
stats-new-error = This error is new (not seen in the {$runs} earlier runs I looked at).
stats-success-rate = Success rate of the last {$runs} runs of {$job}: {$ok}/{$runs} ({$percent}%).
history-exit = exit {$code}

## Which execution; status, watch, cancel
refused = Sorry, you can't do that: {$reason}
needs-approval-by-role = {$reason}; it needs approval by role `{$role}`
not-an-execution-id = `{$id}` is not an execution id.
unknown-job = I don't know a job called `{$name}`.
unknown-job-did-you-mean = I don't know a job called `{$name}`. Did you mean `{$suggestion}`?
job-not-run-yet = {$job} has not run yet.
nothing-run-yet = Nothing has run yet. Try `list jobs` to see what you can run.
exec-already-ended = #{$id} has already ended ({$status})
watch-already-ended = #{$id} has already ended.
watch-running-for = running for {$took}
watch-scheduled-for = scheduled for {$at}
watch-queued = queued
watching = Watching #{$id} {$job} ({$state}). I'll post every change here.
cancel-already-ended = #{$id} {$job} has already ended ({$status}); there is nothing to cancel.
cancel-already-ended-id = #{$id} has already ended ({$status}); there is nothing to cancel.
cancel-processes-gone = {" "}Its processes are gone.
cancel-last-output = Last output:
cancel-failed = I couldn't cancel #{$id}

## Running a job: questions, confirmation, approval, start
bad-time = I couldn't read the time `{$time}`.
time-in-past = That time ({$at}) is in the past; tell me a time from now on, or leave it out to run now.
time-too-far = That time ({$at}) is {$why}; pick an earlier time.
run-unknown-job-suggest = I don't know a job called `{$name}`. Did you mean `{$suggestion}`? (yes, another job name, or cancel)
run-unknown-job-choose = I don't know a job called `{$name}`. Which job did you mean?
    {$choices}
plural-apps = applications
plural-environments = environments
plural-hosts = hosts
run-which-job = Which job should I run?
    {$choices}
    Answer with a number or a name (or cancel).
run-no-such-param-suggest = {$job} has no parameter `{$name}`. Did you mean `{$suggestion}`?
run-no-such-param-none = {$job} has no parameter `{$name}` (it takes none).
run-no-such-param = {$job} has no parameter `{$name}` (its parameters: {$params}).
run-several-values = You named several {$what} ({$values}), and one {$job} run is for one of them, so I'll ask. (For the others, send one more request each.)
confirm-sensitive-now = {$job} is sensitive. Run it now with {$params}? (yes/no)
confirm-sensitive-at = {$job} is sensitive. Run it at {$at} with {$params}? (yes/no)
reason-line = Reason: {$reason}
button-yes = Yes
button-no = No
button-approve = Approve #{$id}
button-reject = Reject
ask-unknown-param = What should `{$name}` be?
range-between = {$kind} from {$lo} to {$hi}
range-at-least = {$kind}, {$lo} or more
range-at-most = {$kind}, at most {$hi}
ask-needs = {$job} needs `{$name}` ({$what}).
ask-what = {" "}What should it be?
ask-which = {" "}Which one?
ask-default = Default: {$value} (say "default").
ask-cancel-hint = (Say cancel to stop.)
ask-choose-hint = Answer with a number or a value (or cancel).
job-gone = That job no longer exists.
start-failed = I couldn't start {$job}
run-started = Started {$job} as #{$id} ({$params}). I'll post the result here.
run-scheduled = Scheduled {$job} as #{$id} for {$at} (in {$wait}) with {$params}. I'll post the result here.
run-queued = Queued {$job} as #{$id} ({$params}): it starts when a running {$job} ends. I'll post the result here.
approvals-not-set-up-for = {$reason}; approvals are not set up here
approvers-named = {" "}({$people})
approval-filed = {$job} needs approval: {$reason}. I filed approval request {$id}; someone with role `{$role}`{$who} can say `!approve {$id}` (or `!reject {$id}`) within {$within}. The requester cannot approve it.

## Parameter values
kind-app = an application
kind-environment = an environment
kind-host = a host
kind-version = a version such as 2.4.1 or latest
kind-string = text
kind-integer = a whole number
kind-boolean = yes or no
kind-duration = a duration such as 30s, 5m or 2h
kind-time = a time (RFC 3339)
unknown-app = application
unknown-environment = environment
unknown-host = host
invalid-empty = `{$name}` cannot be empty
invalid-unknown-suggest = `{$value}` is not a known {$what}. Did you mean `{$suggestion}`?
invalid-unknown = `{$value}` is not a known {$what} (known: {$known})
invalid-integer = `{$name}` must be a whole number, and `{$value}` is not one
invalid-between = `{$name}` must be between {$lo} and {$hi}, and `{$value}` is not
invalid-at-least = `{$name}` must be at least {$lo}, and `{$value}` is not
invalid-at-most = `{$name}` must be at most {$hi}, and `{$value}` is not
invalid-boolean = `{$name}` must be yes or no, not `{$value}`
invalid-version = `{$value}` is not a version (such as 2.4.1 or latest)
invalid-duration = `{$name}` must be a duration such as 30s, 5m or 2h, not `{$value}`
invalid-time = `{$name}` must be an RFC 3339 time, not `{$value}`
invalid-choice-suggest = `{$value}` is not one of the choices for `{$name}` ({$choices}). Did you mean `{$suggestion}`?
invalid-choice = `{$value}` is not one of the choices for `{$name}` ({$choices})

## Answers to open questions
not-a-yes = I didn't take that as a yes, so {$job} has not started.
not-a-yes-no-job = I didn't take that as a yes, so the job has not started.
never-mind = OK, never mind.
answer-with-number = Please answer with a number from 1 to {$count}, or say cancel.
answer-unknown-job-suggest = I don't know a job called `{$name}`. Did you mean `{$suggestion}`? (yes, another name, or cancel)
job-changed = That job changed meanwhile; please start again.
wont-run = OK, I won't run {$job}.
wont-run-it = OK, I won't run it.

## History
list-separator = ,{" "}
filter-job = job {$job}
filter-status = status {$status}
not-a-status = `{$status}` is not a status; use one of: {$statuses}.
filter-from = from {$at}
filter-until = until {$at}
filter-since = since {$at}
history-failed = I couldn't read the history
history-filters = {" "}({$filters})
history-none = No runs found{$filters}.
history-header = Last {$count ->
        [one] {$count} run
       *[other] {$count} runs
    }{$filters}, newest first:
history-success-rate = Success rate: {$ok}/{$runs} ({$percent}%).

## Approvals
approvals-not-set-up = approvals are not set up here
approvals-none = No approval requests are waiting.
approvals-header = Waiting for approval:
approvals-line = {$id}. {$job} ({$params}) for {$requester}: {$reason}; role `{$role}`, expires {$expires}
approvals-justification = {" "}(asked because: {$reason})
approve-usage = usage: !{$command} ID (the number of the request)
approve-usage-hint = say !approvals to see the pending requests
approval-rejected = Rejected request {$id}: {$job} ({$params}) for {$requester} will not run.
approval-approved = Approved request {$id} by {$approver}: started {$job} as #{$exec} for {$requester} ({$params}). I'll post the result in {$channel}.

## Conversation
topic-which-job = which job to run
topic-what-you-meant = what you meant
topic-running = running {$job}
question-expired = (The earlier question about {$topic} expired, so I dropped it.)
question-dropped = Dropped the open question about {$subject}.
no-free-text = I can't understand free text right now; use exact commands (!help).
no-model = I can't understand free text right now (the language model is not loaded); use exact commands such as !help.
clarify = I'm not sure what you mean. Did you want to:
    {$options}
    Answer with a number (or cancel).
nothing-waiting = There's nothing waiting for a yes or no right now.
option-entity = {$value} ({$kind})
intent-run_job = run a job
intent-deploy_app = deploy an application
intent-job_status = check the status of a run
intent-watch_job = follow a run until it ends
intent-cancel_job = cancel a run
intent-list_jobs = list the jobs you can run
intent-job_history = see past runs
intent-help = get help
intent-affirm = say yes
intent-deny = say no
intent-smalltalk = chat
intent-out_of_scope = something else
entity-job = job
entity-app = application
entity-environment = environment
entity-host = host
no-such-command = there is no command `!{$command}`
say-help = say !help for the commands
did-you-mean = did you mean {$suggestion}?
did-you-mean-one-of = did you mean one of: {$suggestions}?
command-usage = usage: {$usage}
command-quote = unbalanced quote in the command
command-bad-time = `{$time}` is not a time; use RFC 3339 (2026-03-03T23:00:00+01:00) or +30s, +5m, +2h
command-bad-id = `{$id}` is not an execution id (a number such as 1001)
command-repeated-key = `{$key}` is given more than once; give each parameter once, with the value you mean

## Pushed updates
push-started-late = #{$id} {$job} started as scheduled ({$params}), {$late} late (it was due at {$due}).
push-started-as-scheduled = #{$id} {$job} started as scheduled ({$params}).
push-running = #{$id} {$job} is now running.
push-status-change = #{$id} {$job}: {$from} -> {$to}.

## The job list
param-required = required
param-default = default {$value}
no-description = no description
list-job = - {$job}: {$description}
list-job-sensitive = - {$job} [needs confirmation]: {$description}
list-parameters = parameters: {$params}
list-title = Jobs you can run:
list-title-matching = Matching jobs ({$count} of {$total}):
list-none = {" "}none. Ask the ops leads for a role that may run jobs.
list-hint = Say for example "run backup-database on db-01" or use !run JOB name=value.

## Help
recommend-history = !history {$job} - its recent runs with the duration trend and success rate
recommend-status = !status {$job} - the latest run of {$job} with its summary
recommend-watch = !watch ID - follow a run and get every change pushed
recommend-cancel = !cancel ID - stop a running or scheduled run
recommend-rollback = !run {$job} app=APP environment=ENV - undo a bad deployment
recommend-run = {$command} - run it yourself
recommend-jobs = !jobs - every job you can run, with its parameters
help-usual = Your usual requests, {$user} (quick commands):
help-usual-line = {$command}   ({$count ->
        [one] {$count} time
       *[other] {$count} times
    })
help-recommended = Recommended for you:
help-personal-commands = Help on a topic: !help deploy, !help schedule, !help cancel, !help history, !help watch, or !help JOB (also "how do I deploy?").
    All commands: !run JOB name=value [at=+10s], !deploy APP ENV [VERSION], !status ID|JOB, !watch ID, !cancel ID, !jobs, !history [JOB], !help, !lang zh|en
help-intro = I run and follow jobs for you. Ask in plain English or Chinese, for example:
help-examples = run backup-database on db-01 tonight at 11pm
    跑一下数据库备份 db-01
    status of 1001 / is the backup done yet?
    watch 1001 / cancel 1001
    what failed yesterday? / last 5 runs of backup-database
    list jobs
help-general-commands = Exact commands (no guessing): !run JOB name=value [at=+10s|RFC3339], !deploy APP ENV [VERSION],
      !status ID|JOB, !watch ID, !cancel ID, !jobs, !history [JOB] [status=S] [count=N], !help, !lang zh|en
    Help on a topic: !help deploy, !help schedule, !help cancel, !help history, !help watch, or !help JOB.
help-available = {$count} jobs are available to you (say "list jobs").
help-sensitive = {" "}These ask for a yes first: {$jobs}.
help-no-such-job = There is no job `{$job}`.
help-schedule = Scheduling a run: add a time to the request.
      Natural language: "run backup-database on db-01 tonight at 11pm", "今晚11点备份数据库 db-01"
      Exact: {$example} at=+30m   (or at=2026-03-03T23:00:00+01:00)
    Scheduled runs survive a restart of the bot; !cancel ID drops one before it starts, !watch ID follows it.
help-cancel = Cancelling a run: it is stopped (SIGTERM to its processes, SIGKILL after a grace period) or, when scheduled, dropped.
      Natural language: "cancel 1001", "stop the backup", "取消 1001"
      Exact: !cancel 1001
help-history = Past runs, newest first, with the success rate and the duration trend of a job:
      Natural language: "what failed yesterday?", "last 5 runs of backup-database", "备份数据库的历史"
      Exact: !history [JOB] [status=failed] [count=N] [since=-1d]
      e.g. !history {$job}
help-watch = Following a run: every change of its status is pushed here, and its summary when it ends.
      Natural language: "watch 1001", "let me know when 1001 finishes", "1001 完成了通知我"
      Exact: !watch 1001
help-status = The state of a run, or of the latest run of a job:
      Natural language: "status of 1001", "is the backup done yet?"
      Exact: !status 1001, !status backup-database
example-deploy = deploy {$app} to {$environment} version 2.4.1
example-on-host = on {$host}
example-in-environment = in {$environment}
example-run = run {$job}{$args}
help-job = {$job}: {$description}
help-job-sensitive = {$job}: {$description} (asks for a yes before it runs)
help-no-parameters = It takes no parameters.
help-parameters = Parameters:
param-optional = optional
param-one-of = one of: {$choices}
help-example = Example: "{$example}"
help-exact = Exact: {$command}
help-schedule-hint = Add "tonight at 11pm" (or at=+30m) to schedule it.

## Small talk and fallback
smalltalk-thanks = You're welcome!
smalltalk-bye = Bye! Runs keep going; ask me about them any time.
smalltalk-hello = Hi {$user}! I can run jobs, watch them and show their history. Try "help" or "list jobs".
fallback-job = I'm not sure what you want me to do. If you meant the job `{$job}`, try "run {$job}".
fallback-with-job = Sorry, I can't help with that. I can run jobs and tell you how they went: try "run {$job}", "list jobs", "what failed today?" or "help".
fallback = Sorry, I can't help with that. I can run jobs and tell you how they went: try "list jobs", "what failed today?" or "help".
deploy-not-set-up = Deploying isn't set up here: there is no `{$job}` job in the catalog.

## Reply language
lang-fixed = I answer you in {$lang ->
        [zh] Chinese
       *[en] English
    } (you chose it; !lang auto follows your messages again).
lang-auto = I answer in the language you write in (now {$lang ->
        [zh] Chinese
       *[en] English
    }). !lang zh or !lang en fixes one.
lang-now-auto = OK, I'll answer in the language you write in.
lang-now-fixed = OK, I'll answer you in {$lang ->
        [zh] Chinese
       *[en] English
    } from now on.
lang-usage = usage: !lang zh, !lang en or !lang auto

## Scheduling limits
too-far-ahead = more than {$span} ahead, the furthest a run may be scheduled ([scheduler] max_ahead)
span-days = {$days ->
        [one] {$days} day
       *[other] {$days} days
    }

## Days, relative to today
day-today = today
day-tonight = tonight
day-tomorrow = tomorrow
day-tomorrow-evening = tomorrow evening
day-yesterday = yesterday
day-last-night = last night

## Details of executions that the bot writes (stored in English, shown translated)
detail-timeout = stopped after the timeout of {$took}
detail-shutdown = the bot shut down while it ran
detail-killed = killed by signal {$number} ({$signal})
detail-cancelled-before-start = cancelled by {$by} before it started
detail-cannot-wait = cannot wait for the process: {$error}
detail-skipped-late = it was due {$late} ago, more than the {$max} a scheduled run may start late ([scheduler] max_late; overdue = "skip"); run it again if it is still needed

## Command syntax
usage-run = !run JOB [name=value ...] [at=TIME]
usage-deploy = !deploy APP ENVIRONMENT [VERSION] [at=TIME]
usage-id = !status|!watch|!cancel ID (or !status JOB)
usage-history = !history [JOB] [job=J] [status=S] [count=N] [since=T] [until=T]

## runs on hosts over SSH (the stored English details, for render::detail_text)
detail-ssh-host-key = the host key of {$host} ({$at}) is not the one in {$file}, so the connection was refused ({$why}); check the key with the host's administrator, then add it ({$add}) or replace the old line ({$replace})
detail-ssh-auth = {$host} ({$at}) refused the login of {$user} ({$why}); add the bot's public key to that user's authorized_keys, or set `user` and `identity_file` under [ssh]
detail-ssh-unreachable = cannot reach {$host} at {$at} ({$why}); check that the host is up and that sshd listens there
detail-ssh-dropped = the connection to {$host} ({$at}) dropped while the job ran ({$why}); its processes there were told to stop
