# charts

## Charts: titles, axes, legends and their text forms
full-stop-space = 。
chart-duration-title = {$job}：最近 {$runs} 次运行的耗时
chart-resources-title = {$job}：最近 {$runs} 次运行的 CPU 时间和内存峰值
chart-failures-title = {$scope}：按原因统计的失败
chart-range = （最短 {$min}，最长 {$max}）
chart-range-usual = （最短 {$min}，最长 {$max}，通常 {$usual}）
chart-duration-text = 耗时，最近 {$runs} 次：{$line} {$range}
chart-failed-runs = ；失败：{$ids}
chart-resources-text = CPU 时间，最近 {$runs} 次：{$cpu}（最长 {$cpu_max}）；内存峰值：{$memory}（最高 {$memory_max} MiB）
chart-failures-text = 按原因统计的失败：
chart-duration-axis = 耗时
chart-usual-legend = 通常（成功运行的中位数）：{$usual}
chart-succeeded-legend = 成功
chart-failed-legend = 失败 / 超时
chart-cpu-axis = CPU 时间（秒）
chart-memory-axis = 内存峰值（MiB）
chart-failures-axis = 失败次数
cause-failed-to-start = 未能启动
cause-unknown = 未知
