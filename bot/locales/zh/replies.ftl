# 机器人的中文回复。每个键也在 en.ftl 中，参数相同（有测试检查两者一致）。

## Sentences and errors
full-stop = 。
error-message = {$title}：{$message}
error-suggestion = 建议：{$text}
error-id = （错误编号 {$id}）
error-permission = 不允许
error-not-found = 未找到
error-invalid = 输入无效
error-policy = 现在不行
error-platform = 作业平台没能完成
error-internal = 我这边出了问题
error-internal-message = 由于内部问题，我没能完成。
error-internal-suggestion = 请稍后再试；如果一直出现，请把错误编号告诉机器人的管理员
message-too-long = 消息太长（{$bytes} 字节，上限 {$max}）
exec-not-found = 没有执行 #{$id}。
yes = 确认

## Executions: statuses, headlines, reports
status-scheduled = 已排期
status-running = 运行中
status-succeeded = 成功
status-failed = 失败
status-timed_out = 超时
status-cancelled = 已取消
status-interrupted = 已中断
status-unreachable = 主机无法连接
no-parameters = 无参数
output-last-lines = 输出的最后 {$count} 行：
output = 输出：
exit-code = 退出码 {$code}
killed-by = 被 {$signal} 终止
no-exit-code = 无退出码
detail-unknown-error = 未知错误
detail-stopped = 已停止
detail-interrupted = 运行期间机器人停止了
headline-succeeded = #{$id} {$job} 成功，用时 {$took}（{$code}）。
headline-failed-to-start = #{$id} {$job} 未能启动：{$detail}。
headline-failed = #{$id} {$job} 失败，运行了 {$took}（{$code}）。
headline-timed-out = #{$id} {$job} 超时，运行了 {$took}（{$detail}；{$code}）。
headline-skipped = #{$id} {$job} 被跳过：{$detail}。
headline-cancelled-before-start = #{$id} {$job} 在启动前被取消。
headline-cancelled-before-start-by = #{$id} {$job} 在启动前被取消（{$by} 取消）。
headline-cancelled = #{$id} {$job} 已取消，运行了 {$took}（{$code}）。
headline-cancelled-by = #{$id} {$job} 已被 {$by} 取消，运行了 {$took}（{$code}）。
headline-interrupted = #{$id} {$job} 被中断：{$detail}。
headline-unreachable = #{$id} {$job} 未能在目标主机上启动：{$detail}。
headline-running = #{$id} {$job} 正在运行（已运行 {$took}）。
headline-scheduled = #{$id} {$job} 已排期。
report-scheduled = #{$id} {$job} 排期在 {$at}（{$wait} 后）。
report-queued = #{$id} {$job} 正在排队：等待空闲的执行位。
report-requested-by = 由 {$user} 发起，参数：{$params}。
report-started-by = 由 {$user} 于 {$at} 启动，参数：{$params}。
fact-started = 由 {$user} 于 {$at} 启动
fact-cpu = CPU {$cpu}
fact-memory = 内存峰值 {$memory}
fact-separator = ；
stats-slower = 这次比平常慢（{$took}，中位数为 {$median}）。
stats-usual = 通常用时：{$median}（之前 {$runs} 次成功运行的中位数）；本次：{$took}。
stats-failing-step = 失败的步骤：{$line}
stats-same-error = 之前出现过同样的错误：{$count} 次，最近一次在 #{$last}，时间 {$at}。
stats-new-error = 这是新错误（在我查看的之前 {$runs} 次运行中没有出现过）。
stats-success-rate = {$job} 最近 {$runs} 次运行的成功率：{$ok}/{$runs}（{$percent}%）。
history-exit = 退出 {$code}

## Which execution; status, watch, cancel
refused = 抱歉，你不能这样做：{$reason}
needs-approval-by-role = {$reason}；需要角色 `{$role}` 审批
not-an-execution-id = `{$id}` 不是执行编号。
unknown-job = 我不知道名为 `{$name}` 的作业。
unknown-job-did-you-mean = 我不知道名为 `{$name}` 的作业。你是指 `{$suggestion}` 吗？
job-not-run-yet = {$job} 还没有运行过。
nothing-run-yet = 还没有运行过任何作业。试试“有哪些作业”，看看你能运行什么。
exec-already-ended = #{$id} 已经结束（{$status}）
watch-already-ended = #{$id} 已经结束。
watch-running-for = 已运行 {$took}
watch-scheduled-for = 排期在 {$at}
watch-queued = 排队中
watching = 正在关注 #{$id} {$job}（{$state}）。每次变化我都会在这里通知。
cancel-already-ended = #{$id} {$job} 已经结束（{$status}），没有可取消的。
cancel-already-ended-id = #{$id} 已经结束（{$status}），没有可取消的。
cancel-processes-gone = 它的进程已全部结束。
cancel-last-output = 最后的输出：
cancel-failed = 我没能取消 #{$id}

## Running a job: questions, confirmation, approval, start
bad-time = 我读不懂时间 `{$time}`。
time-in-past = 这个时间（{$at}）已经过去了；请给一个现在之后的时间，或者不写时间，立即运行。
time-too-far = 这个时间（{$at}）{$why}；请选一个更早的时间。
run-unknown-job-suggest = 我不知道名为 `{$name}` 的作业。你是指 `{$suggestion}` 吗？（回答“是”、另一个作业名，或“取消”）
run-unknown-job-choose = 我不知道名为 `{$name}` 的作业。你指的是哪个作业？
    {$choices}
plural-apps = 应用
plural-environments = 环境
plural-hosts = 主机
run-which-job = 要运行哪个作业？
    {$choices}
    请回答编号或名称（或“取消”）。
run-no-such-param-suggest = {$job} 没有参数 `{$name}`。你是指 `{$suggestion}` 吗？
run-no-such-param-none = {$job} 没有参数 `{$name}`（它不需要参数）。
run-no-such-param = {$job} 没有参数 `{$name}`（它的参数：{$params}）。
run-several-values = 你提到了多个{$what}（{$values}），而一次 {$job} 运行只针对其中一个，所以我来问一下。（其他的请各发一次请求。）
confirm-sensitive-now = {$job} 是敏感作业。现在以 {$params} 运行吗？（确认/取消）
confirm-sensitive-at = {$job} 是敏感作业。在 {$at} 以 {$params} 运行吗？（确认/取消）
reason-line = 原因：{$reason}
button-yes = 确认
button-no = 取消
button-approve = 批准 #{$id}
button-reject = 拒绝
ask-unknown-param = `{$name}` 应该是什么？
range-between = {$kind}，范围 {$lo} 到 {$hi}
range-at-least = {$kind}，至少 {$lo}
range-at-most = {$kind}，最多 {$hi}
ask-needs = {$job} 需要 `{$name}`（{$what}）。
ask-what = 应该是什么？
ask-which = 选哪个？
ask-default = 默认值：{$value}（回答“默认”）。
ask-cancel-hint = （回答“取消”可停止。）
ask-choose-hint = 请回答编号或取值（或“取消”）。
job-gone = 这个作业已经不存在了。
start-failed = 我没能启动 {$job}
run-started = 已启动 {$job}，编号 #{$id}（{$params}）。结果会发在这里。
run-scheduled = 已排期 {$job}，编号 #{$id}，在 {$at}（{$wait} 后）以 {$params} 运行。结果会发在这里。
run-queued = {$job} 已排队，编号 #{$id}（{$params}）：正在运行的 {$job} 结束后开始。结果会发在这里。
approvals-not-set-up-for = {$reason}；这里没有配置审批
approvers-named = （{$people}）
approval-filed = {$job} 需要审批：{$reason}。我已提交审批请求 {$id}；角色为 `{$role}` 的人{$who}可以在 {$within} 内发送 `!approve {$id}`（或 `!reject {$id}`）。发起人不能自己审批。

## Parameter values
kind-app = 一个应用
kind-environment = 一个环境
kind-host = 一台主机
kind-version = 一个版本号，例如 2.4.1 或 latest
kind-string = 文本
kind-integer = 一个整数
kind-boolean = 是或否
kind-duration = 一个时长，例如 30s、5m 或 2h
kind-time = 一个时间（RFC 3339）
unknown-app = 应用
unknown-environment = 环境
unknown-host = 主机
invalid-empty = `{$name}` 不能为空
invalid-unknown-suggest = `{$value}` 不是已知的{$what}。你是指 `{$suggestion}` 吗？
invalid-unknown = `{$value}` 不是已知的{$what}（已知：{$known}）
invalid-integer = `{$name}` 必须是整数，`{$value}` 不是
invalid-between = `{$name}` 必须在 {$lo} 到 {$hi} 之间，`{$value}` 不在
invalid-at-least = `{$name}` 至少为 {$lo}，`{$value}` 不是
invalid-at-most = `{$name}` 最多为 {$hi}，`{$value}` 超出了
invalid-boolean = `{$name}` 必须是“是”或“否”，不能是 `{$value}`
invalid-version = `{$value}` 不是版本号（例如 2.4.1 或 latest）
invalid-duration = `{$name}` 必须是时长，例如 30s、5m 或 2h，不能是 `{$value}`
invalid-time = `{$name}` 必须是 RFC 3339 时间，不能是 `{$value}`
invalid-choice-suggest = `{$value}` 不是 `{$name}` 的可选值（{$choices}）。你是指 `{$suggestion}` 吗？
invalid-choice = `{$value}` 不是 `{$name}` 的可选值（{$choices}）

## Answers to open questions
not-a-yes = 我没有把这当作“确认”，所以 {$job} 没有启动。
not-a-yes-no-job = 我没有把这当作“确认”，所以作业没有启动。
never-mind = 好的，算了。
answer-with-number = 请回答 1 到 {$count} 之间的编号，或者说“取消”。
answer-unknown-job-suggest = 我不知道名为 `{$name}` 的作业。你是指 `{$suggestion}` 吗？（回答“是”、另一个名称，或“取消”）
job-changed = 这个作业在此期间变了；请重新开始。
wont-run = 好的，不运行 {$job}。
wont-run-it = 好的，不运行了。

## History
list-separator = ，
filter-job = 作业 {$job}
filter-status = 状态为{$status}
not-a-status = `{$status}` 不是状态；请使用以下之一：{$statuses}。
filter-from = 从 {$at}
filter-until = 到 {$at}
filter-since = 自 {$at} 起
history-failed = 我没能读取历史记录
history-filters = （{$filters}）
history-none = 没有找到运行记录{$filters}。
history-header = 最近 {$count} 次运行{$filters}，最新的在前：
history-success-rate = 成功率：{$ok}/{$runs}（{$percent}%）。

## Approvals
approvals-not-set-up = 这里没有配置审批
approvals-none = 没有待审批的请求。
approvals-header = 等待审批：
approvals-line = {$id}. {$job}（{$params}），发起人 {$requester}：{$reason}；审批角色 `{$role}`，{$expires} 过期
approvals-justification = （申请原因：{$reason}）
approve-usage = 用法：!{$command} 编号（审批请求的编号）
approve-usage-hint = 发送 !approvals 查看待审批的请求
approval-rejected = 已拒绝请求 {$id}：{$requester} 的 {$job}（{$params}）不会运行。
approval-approved = {$approver} 已批准请求 {$id}：已为 {$requester} 启动 {$job}，编号 #{$exec}（{$params}）。结果会发到 {$channel}。

## Conversation
topic-which-job = 运行哪个作业
topic-what-you-meant = 你的意思
topic-running = 运行 {$job}
question-expired = （之前关于{$topic}的问题已过期，我把它放弃了。）
question-dropped = 已放弃关于 {$subject} 的未完成问题。
no-free-text = 我现在无法理解自由文本；请使用精确命令（!help）。
no-model = 我现在无法理解自由文本（语言模型没有加载）；请使用精确命令，例如 !help。
clarify = 我不确定你的意思。你是想：
    {$options}
    请回答编号（或“取消”）。
nothing-waiting = 现在没有需要确认或取消的事情。
option-entity = {$value}（{$kind}）
intent-run_job = 运行作业
intent-deploy_app = 发布应用
intent-job_status = 查看运行状态
intent-watch_job = 跟踪运行直到结束
intent-cancel_job = 取消运行
intent-list_jobs = 列出可运行的作业
intent-job_history = 查看历史运行
intent-help = 获取帮助
intent-affirm = 确认
intent-deny = 否定
intent-smalltalk = 闲聊
intent-out_of_scope = 别的事情
entity-job = 作业
entity-app = 应用
entity-environment = 环境
entity-host = 主机
no-such-command = 没有命令 `!{$command}`
say-help = 发送 !help 查看命令
did-you-mean = 你是指 {$suggestion} 吗？
did-you-mean-one-of = 你是指其中之一吗：{$suggestions}？
command-usage = 用法：{$usage}
command-quote = 命令中的引号不成对
command-bad-time = `{$time}` 不是时间；请用 RFC 3339（2026-03-03T23:00:00+01:00）或 +30s、+5m、+2h
command-bad-id = `{$id}` 不是执行编号（应为数字，例如 1001）
command-repeated-key = `{$key}` 给了不止一次；每个参数只给一次，写上你想要的值

## Pushed updates
push-started-late = #{$id} {$job} 已按排期启动（{$params}），晚了 {$late}（原定 {$due}）。
push-started-as-scheduled = #{$id} {$job} 已按排期启动（{$params}）。
push-running = #{$id} {$job} 正在运行。
push-status-change = #{$id} {$job}：{$from} -> {$to}。

## The job list
param-required = 必填
param-default = 默认 {$value}
no-description = 无说明
list-job = - {$job}：{$description}
list-job-sensitive = - {$job} [需确认]：{$description}
list-parameters = 参数：{$params}
list-title = 你可以运行的作业：
list-title-matching = 匹配的作业（共 {$total} 个中的 {$count} 个）：
list-none = 无。请向运维负责人申请可以运行作业的角色。
list-hint = 例如可以说“在 db-01 上跑一下数据库备份”，或使用 !run 作业 参数=值。

## Help
recommend-history = !history {$job} - 它最近的运行，以及耗时趋势和成功率
recommend-status = !status {$job} - {$job} 最近一次运行及其摘要
recommend-watch = !watch 编号 - 跟踪一次运行，每次变化都推送给你
recommend-cancel = !cancel 编号 - 停止正在运行或已排期的运行
recommend-rollback = !run {$job} app=应用 environment=环境 - 撤销一次有问题的发布
recommend-run = {$command} - 自己运行试试
recommend-jobs = !jobs - 你可以运行的所有作业及其参数
help-usual = {$user}，你常用的请求（快捷命令）：
help-usual-line = {$command}   （{$count} 次）
help-recommended = 推荐给你：
help-personal-commands = 主题帮助：!help deploy、!help schedule、!help cancel、!help history、!help watch，或 !help 作业（也可以问“怎么发布？”）。
    全部命令：!run 作业 参数=值 [at=+10s]、!deploy 应用 环境 [版本]、!status 编号|作业、!watch 编号、!cancel 编号、!jobs、!history [作业]、!help、!lang zh|en
help-intro = 我帮你运行和跟踪作业。用中文或英文直接说就行，例如：
help-examples = 今晚11点在 db-01 上备份数据库
    run backup-database on db-01
    1001 怎么样了 / 备份做完了吗？
    1001 完成了通知我 / 停掉 1001
    昨天哪些失败了？ / 数据库备份最近 5 次运行
    有哪些作业可以运行？
help-general-commands = 精确命令（不做猜测）：!run 作业 参数=值 [at=+10s|RFC3339]、!deploy 应用 环境 [版本]、
      !status 编号|作业、!watch 编号、!cancel 编号、!jobs、!history [作业] [status=状态] [count=数量]、!help、!lang zh|en
    主题帮助：!help deploy、!help schedule、!help cancel、!help history、!help watch，或 !help 作业。
help-available = 你可以运行 {$count} 个作业（说“有哪些作业”查看）。
help-sensitive = 以下作业运行前需要确认：{$jobs}。
help-no-such-job = 没有作业 `{$job}`。
help-schedule = 排期运行：在请求里加上时间。
      自然语言：“今晚11点备份数据库 db-01”，“run backup-database on db-01 tonight at 11pm”
      精确命令：{$example} at=+30m   （或 at=2026-03-03T23:00:00+01:00）
    排期的运行在机器人重启后依然有效；!cancel 编号 可在启动前取消，!watch 编号 可跟踪它。
help-cancel = 取消运行：正在运行的会被停止（先向进程发 SIGTERM，宽限期后发 SIGKILL），已排期的会被撤销。
      自然语言：“取消 1001”，“停掉备份”，“cancel 1001”
      精确命令：!cancel 1001
help-history = 历史运行，最新的在前，附带作业的成功率和耗时趋势：
      自然语言：“昨天哪些失败了？”，“备份数据库的历史”，“last 5 runs of backup-database”
      精确命令：!history [作业] [status=failed] [count=数量] [since=-1d]
      例如 !history {$job}
help-watch = 跟踪运行：它的每次状态变化都会推送到这里，结束时推送摘要。
      自然语言：“1001 完成了通知我”，“盯着 1001”，“watch 1001”
      精确命令：!watch 1001
help-status = 一次运行的状态，或某个作业最近一次运行的状态：
      自然语言：“1001 怎么样了”，“备份做完了吗？”
      精确命令：!status 1001、!status backup-database
example-deploy = 把 {$app} 的 2.4.1 版本发布到 {$environment}
example-on-host = 在 {$host} 上
example-in-environment = 在 {$environment} 环境
example-run = 运行 {$job}{$args}
help-job = {$job}：{$description}
help-job-sensitive = {$job}：{$description}（运行前需要确认）
help-no-parameters = 它不需要参数。
help-parameters = 参数：
param-optional = 可选
param-one-of = 可选值：{$choices}
help-example = 例如：“{$example}”
help-exact = 精确命令：{$command}
help-schedule-hint = 加上“今晚11点”（或 at=+30m）即可排期。

## Small talk and fallback
smalltalk-thanks = 不客气！
smalltalk-bye = 再见！运行会继续进行，随时可以问我。
smalltalk-hello = 你好，{$user}！我可以帮你运行和查看作业。试试「帮助」或「有哪些作业」。
fallback-job = 我不确定你想让我做什么。如果你指的是作业 `{$job}`，试试“运行 {$job}”。
fallback-with-job = 抱歉，这个我帮不上。我可以运行作业并告诉你结果：试试“运行 {$job}”、“有哪些作业”、“今天哪些失败了？”或“帮助”。
fallback = 抱歉，这个我帮不上。我可以运行作业并告诉你结果：试试“有哪些作业”、“今天哪些失败了？”或“帮助”。
deploy-not-set-up = 这里没有配置发布：目录中没有 `{$job}` 作业。

## Reply language
lang-fixed = 我用{$lang ->
        [zh] 中文
       *[en] 英文
    }回复你（这是你选的；发送 !lang auto 可改回跟随你的消息）。
lang-auto = 我用你写消息的语言回复（现在是{$lang ->
        [zh] 中文
       *[en] 英文
    }）。发送 !lang zh 或 !lang en 可以固定一种。
lang-now-auto = 好的，我会用你写消息的语言回复。
lang-now-fixed = 好的，从现在起我用{$lang ->
        [zh] 中文
       *[en] 英文
    }回复你。
lang-usage = 用法：!lang zh、!lang en 或 !lang auto

## Scheduling limits
too-far-ahead = 超过了 {$span}，这是排期的最远期限（[scheduler] max_ahead）
span-days = {$days} 天

## Days, relative to today
day-today = 今天
day-tonight = 今晚
day-tomorrow = 明天
day-tomorrow-evening = 明晚
day-yesterday = 昨天
day-last-night = 昨晚

## Details of executions that the bot writes (stored in English, shown translated)
detail-timeout = 超时（{$took}）后被停止
detail-shutdown = 运行期间机器人关闭了
detail-killed = 被信号 {$number}（{$signal}）终止
detail-cancelled-before-start = 启动前已被 {$by} 取消
detail-cannot-wait = 无法等待进程：{$error}
detail-skipped-late = 它本应在 {$late} 前开始，超过了排期运行允许的最大延迟 {$max}（[scheduler] max_late；overdue = "skip"）；如仍需要请重新运行

## Command syntax
usage-run = !run 作业 [参数=值 ...] [at=时间]
usage-deploy = !deploy 应用 环境 [版本] [at=时间]
usage-id = !status|!watch|!cancel 编号（或 !status 作业）
usage-history = !history [作业] [job=作业] [status=状态] [count=数量] [since=时间] [until=时间]

## runs on hosts over SSH (the stored English details, for render::detail_text)
detail-ssh-host-key = {$host}（{$at}）的主机密钥与 {$file} 中记录的不符，连接被拒绝（{$why}）；请先与主机管理员核对密钥，再添加它（{$add}）或替换旧记录（{$replace}）
detail-ssh-auth = {$host}（{$at}）拒绝了 {$user} 的登录（{$why}）；请把机器人的公钥加入该用户的 authorized_keys，或在 [ssh] 中设置 `user` 和 `identity_file`
detail-ssh-unreachable = 无法连接 {$host}（{$at}）：{$why}；请确认主机在线，且 sshd 在该地址监听
detail-ssh-dropped = 作业运行时与 {$host}（{$at}）的连接断开（{$why}）；已通知它在该主机上的进程停止
