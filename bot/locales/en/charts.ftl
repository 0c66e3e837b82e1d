# charts

## Charts: titles, axes, legends and their text forms
full-stop-space = .{" "}
chart-duration-title = {$job}: duration of the last {$runs} runs
chart-resources-title = {$job}: CPU time and peak memory of the last {$runs} runs
chart-failures-title = {$scope}: failures by cause
chart-range = (min {$min}, max {$max})
chart-range-usual = (min {$min}, max {$max}, usual {$usual})
chart-duration-text = Duration, last {$runs} runs: {$line} {$range}
chart-failed-runs = ; failed: {$ids}
chart-resources-text = CPU time, last {$runs} runs: {$cpu} (max {$cpu_max}); peak memory: {$memory} (max {$memory_max} MiB)
chart-failures-text = Failures by cause:
chart-duration-axis = duration
chart-usual-legend = usual (median of successful runs): {$usual}
chart-succeeded-legend = succeeded
chart-failed-legend = failed / timed out
chart-cpu-axis = CPU time (s)
chart-memory-axis = peak memory (MiB)
chart-failures-axis = failed runs
cause-failed-to-start = failed to start
cause-unknown = unknown
