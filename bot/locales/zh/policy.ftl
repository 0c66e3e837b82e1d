# 权限相关的回复：拒绝、审批、变更窗口和限流（bot/src/policy）。每个键也在 en/policy.ftl 中，
# 参数相同。审计记录中保存的内容始终是英文。

## Identity and permissions
access-disabled = 你的账号 `{$name}` 已停用，我不能执行你的命令
access-ask-enable = 请联系 {$contact} 启用该账号
access-unknown-user = 我不认识你（{$identity}），不能执行你的命令
access-ask-add = 请联系 {$contact} 把 `{$identity}` 添加为机器人的用户
access-default-contact = 机器人的管理员
access-not-permitted = {$user} 无权{$what}：需要权限 `{$need}`
access-ask-permission = 请向 {$contact} 申请权限 `{$need}`
access-ask-role = 请向 {$contact} 申请角色 {$roles}
access-ask-role-or-holder = 请向 {$contact} 申请角色 {$roles}，或请有该角色的人（{$people}）代为执行
access-roles-or = {" "}或{" "}

## What a permission is needed for ("alice may not …")
action-deploy-to = 部署到 {$env}
action-run = 运行 {$job}
action-run-in = 在 {$env} 运行 {$job}
action-deploy-app-to = 把 {$app} 部署到 {$env}
action-deploy-app = 部署 {$app}
action-run-for-app = 为 {$app} 运行 {$job}
action-cancel = 取消 #{$id}（{$job}）
action-read-status = 查看 #{$id}（{$job}）的状态
action-list = 列出作业
action-history = 查看历史记录

## Admission: message size and rate limits
message-send-shorter = 请发送更短的命令
rate-limit-user = 你发送命令的速度超过了限制
rate-limit-global = 机器人现在收到的命令超过了限制
rate-limit-retry = 请 {$secs} 秒后再试

## Parameters
param-no-match = `{$value}` 不是 {$job} 的参数 `{$name}` 的有效值
param-pattern = 取值必须匹配模式 `{$pattern}`

## Change windows
window-freeze = {$env} 处于变更冻结期
window-freeze-reason = {$env} 处于变更冻结期（{$reason}）
window-closed = {$env} 不在变更窗口内
window-at-scheduled-time = 在计划运行时间 {$at}，{$reason}
window-refused-now = {$reason}，现在不能变更
window-refused-scheduled = {$reason}，不能安排这次变更
window-opens = 窗口将于 {$at} 开放
window-opens-after-scheduled-time = 窗口将于 {$at} 开放，比计划时间晚 {$after}
window-reason-opens = {$reason}，{$opens}

## Approvals
approval-needed-for-env = 变更 {$env} 需要审批
approval-needed-for-job = {$job} 需要审批
approval-not-found = 没有审批请求 {$id}
approval-see-pending = 发送 !approvals 查看待审批的请求
approval-state-approved = 批准
approval-state-rejected = 拒绝
approval-state-expired = 过期
approval-state-revoked = 撤销
approval-already = 请求 {$id} 已{$state}
approval-already-by = 请求 {$id} 已{$state}（操作人：{$by}）
approval-expired = 请求 {$id} 已于 {$at} 过期
approval-ask-again = {$requester} 可以重新申请
approval-own-request = 你不能批准自己的请求 {$id}，必须由另一个人批准
approval-may-not-approve = {$user} 无权批准请求 {$id}：需要角色 `{$role}`
approval-may-not-reject = {$user} 无权拒绝请求 {$id}：需要角色 `{$role}`
approvers-ask = 请找有角色 `{$role}` 的人
approvers-ask-named = 请找有角色 `{$role}` 的人（{$people}）
approval-secret-lost = 请求 {$id} 无法执行：{$params} 的秘密值只保存在内存中，而机器人之后重启过
approval-nothing-ran = 没有运行任何作业；{$requester} 可以重新申请
approval-requester-revoked = 请求 {$id} 无法执行：发起人 {$requester} 已无权这样做（{$reason}）
approval-restore-access = 没有运行任何作业；{$requester} 可以请 {$contact} 恢复权限，然后重新申请
approval-decided-meanwhile = 请求 {$id} 刚刚已被别人处理

## A run that waited (scheduled, queued, approved) and may no longer start
start-no-longer-permitted = {$user} 已无权运行它（{$reason}）
