//! The harness's own memory use, for the report: a full run must stay bounded (issue 12), and
//! the number is only believed if every run states it.

/// Peak resident set size of this process so far, in KiB: the `VmHWM` line of
/// `/proc/self/status` (Linux). `None` on other platforms or if the line is missing.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

/// The `VmHWM:` value of a `/proc/<pid>/status` text, in KiB.
fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark_in_kib() {
        let status =
            "Name:\tzmtp-harness\nVmPeak:\t  900000 kB\nVmHWM:\t   48212 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(48212));
    }

    #[test]
    fn a_status_without_the_line_says_nothing() {
        assert_eq!(parse_vm_hwm("Name:\tx\nVmRSS:\t1 kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\tlots kB\n"), None);
    }

    #[test]
    fn this_process_has_one_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_kib().is_some_and(|k| k > 0));
        }
    }
}
