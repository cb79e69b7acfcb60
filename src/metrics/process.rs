//! The process's own figures, under the names Prometheus client libraries
//! give them (so standard dashboards and alerts work), and the build.

use super::{escape, gauge, header};
use std::fmt::Write;

/// Appends `contas_build_info` and, on Linux, the process metrics.
pub(super) fn render(out: &mut String) {
    header(
        out,
        "contas_build_info",
        "gauge",
        "The running build: its version and source revision (always 1).",
    );
    let _ = writeln!(
        out,
        "contas_build_info{{version=\"{}\",revision=\"{}\"}} 1",
        escape(env!("CARGO_PKG_VERSION")),
        escape(env!("CONTAS_REVISION"))
    );
    #[cfg(target_os = "linux")]
    linux::render(out);
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{gauge, header};
    use procfs::WithCurrentSystemInfo;
    use procfs::process::{LimitValue, Process};
    use std::fmt::Write;

    /// What /proc says of this process; a figure it cannot give is left
    /// out rather than reported as 0.
    pub(super) fn render(out: &mut String) {
        let Ok(me) = Process::myself() else { return };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            header(
                out,
                "process_cpu_seconds_total",
                "counter",
                "User and system CPU time spent, in seconds.",
            );
            let _ = writeln!(
                out,
                "process_cpu_seconds_total {}",
                (stat.utime + stat.stime) as f64 / ticks
            );
            gauge(
                out,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                stat.rss_bytes().get(),
            );
            gauge(
                out,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stat.vsize,
            );
            if let Ok(boot) = procfs::boot_time_secs() {
                gauge(
                    out,
                    "process_start_time_seconds",
                    "Start time of the process since the Unix epoch, in seconds.",
                    boot as f64 + stat.starttime as f64 / ticks,
                );
            }
        }
        if let Ok(open) = me.fd_count() {
            gauge(
                out,
                "process_open_fds",
                "Number of open file descriptors.",
                open,
            );
        }
        if let Ok(limits) = me.limits()
            && let LimitValue::Value(max) = limits.max_open_files.soft_limit
        {
            gauge(
                out,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max,
            );
        }
    }
}
