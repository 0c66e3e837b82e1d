# policy: refusals, approvals, change windows and rate limits (bot/src/policy). Every key is
# also in zh/policy.ftl, with the same arguments. What the audit trail stores stays English.

## Identity and permissions
access-disabled = your account `{$name}` is disabled, so I can't take commands from you
access-ask-enable = ask {$contact} to enable it
access-unknown-user = I don't know you ({$identity}), so I can't take commands from you
access-ask-add = ask {$contact} to add `{$identity}` to the bot's users
access-default-contact = the bot's administrators
access-not-permitted = {$user} may not {$what}: that needs permission `{$need}`
access-ask-permission = ask {$contact} for permission `{$need}`
access-ask-role = ask {$contact} for role {$roles}
access-ask-role-or-holder = ask {$contact} for role {$roles}, or ask someone who has it ({$people}) to run it
access-roles-or = {" "}or{" "}

## What a permission is needed for ("alice may not …")
action-deploy-to = deploy to {$env}
action-run = run {$job}
action-run-in = run {$job} in {$env}
action-deploy-app-to = deploy {$app} to {$env}
action-deploy-app = deploy {$app}
action-run-for-app = run {$job} for {$app}
action-cancel = cancel #{$id} ({$job})
action-read-status = read the status of #{$id} ({$job})
action-list = list the jobs
action-history = read the history

## Admission: message size and rate limits
message-send-shorter = send a shorter command
rate-limit-user = you are sending commands faster than allowed
rate-limit-global = the bot is taking more commands than allowed right now
rate-limit-retry = try again in {$secs}s

## Parameters
param-no-match = `{$value}` is not a valid value for `{$name}` of {$job}
param-pattern = it must match the pattern `{$pattern}`

## Change windows
window-freeze = {$env} is in a change freeze
window-freeze-reason = {$env} is in a change freeze ({$reason})
window-closed = {$env} is outside its change window
window-at-scheduled-time = {$reason} at {$at}, when the run is scheduled
window-refused-now = {$reason}, so I won't change it now
window-refused-scheduled = {$reason}, so I won't schedule that change
window-opens = the window opens {$at}
window-opens-after-scheduled-time = the window opens {$at}, {$after} after the scheduled time
window-reason-opens = {$reason} ({$opens})

## Approvals
approval-needed-for-env = changes to {$env} need approval
approval-needed-for-job = {$job} needs approval
approval-not-found = there is no approval request {$id}
approval-see-pending = say !approvals to see the pending ones
approval-state-approved = approved
approval-state-rejected = rejected
approval-state-expired = expired
approval-state-revoked = revoked
approval-already = request {$id} is already {$state}
approval-already-by = request {$id} is already {$state} (by {$by})
approval-expired = request {$id} expired at {$at}
approval-ask-again = {$requester} can ask again
approval-own-request = you can't approve your own request {$id}; a second person must
approval-may-not-approve = {$user} may not approve request {$id}: that needs role `{$role}`
approval-may-not-reject = {$user} may not reject request {$id}: that needs role `{$role}`
approvers-ask = ask someone with role `{$role}`
approvers-ask-named = ask someone with role `{$role}` ({$people})
approval-secret-lost = request {$id} can't go ahead: the secret value of {$params} was kept in memory only, and the bot has restarted since
approval-nothing-ran = nothing ran; {$requester} can ask again
approval-requester-revoked = request {$id} can't go ahead: its requester {$requester} may no longer do this ({$reason})
approval-restore-access = nothing ran; {$requester} can ask {$contact} to restore the access, then ask again
approval-decided-meanwhile = request {$id} was decided just now by someone else

## A run that waited (scheduled, queued, approved) and may no longer start
start-no-longer-permitted = {$user} may no longer run it ({$reason})
