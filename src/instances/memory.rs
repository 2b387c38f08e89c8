//! Memory of child process trees, read from /proc: what `instances list`
//! shows per instance and what the warm-process budget is measured in.
//! Every child runs in its own process group, so a child's tree is its
//! group (a `claude` and whatever it started).

use std::collections::HashMap;

/// RSS in KiB of each of `groups` (process group ids), summed over every
/// process in the group. Groups with no process are absent. Empty where
/// /proc is not available.
pub fn rss_of_groups(groups: &[u32]) -> HashMap<u32, u64> {
    let mut rss = HashMap::new();
    if groups.is_empty() {
        return rss;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return rss;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(group) = process_group(pid) else {
            continue;
        };
        if groups.contains(&group) {
            *rss.entry(group).or_default() += process_rss_kib(pid).unwrap_or(0);
        }
    }
    rss
}

/// The process group of `pid` (field 5 of /proc/PID/stat, after the
/// command name in parentheses, which may itself hold spaces).
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(2)?.parse().ok()
}

/// Resident memory of one process, in KiB.
pub fn process_rss_kib(pid: u32) -> Option<u64> {
    kib_field(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// The machine's memory in KiB (MemTotal), if known.
pub fn mem_total_kib() -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal:")
}

fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The memory warm and standby stream processes may hold together, in
/// KiB: the configured MB, or a quarter of the machine's memory (8 GiB
/// where that cannot be read).
pub fn warm_budget_kib(configured_mb: Option<u64>) -> u64 {
    match configured_mb {
        Some(mb) => mb.saturating_mul(1024),
        None => mem_total_kib().map_or(8 * 1024 * 1024, |total| total / 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_group_has_a_resident_size() {
        let group = nix::unistd::getpgrp().as_raw() as u32;
        let rss = rss_of_groups(&[group]);
        let own = process_rss_kib(std::process::id()).unwrap();
        assert!(rss[&group] >= own, "{rss:?} vs own {own}");
        assert!(rss_of_groups(&[u32::MAX]).is_empty());
        assert!(warm_budget_kib(None) > 0);
        assert_eq!(warm_budget_kib(Some(300)), 300 * 1024);
    }

    /// The assertions of the dashboard's former /proc walker, kept on the
    /// one reader that replaced it: a child in its own group (as every
    /// instance child is) is found and counted, and is gone once reaped.
    #[test]
    fn a_child_group_is_found_counted_and_gone_once_reaped() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let group = child.id();
        assert_eq!(process_group(child.id()), Some(group));
        let own = process_rss_kib(child.id()).unwrap_or(0);
        let rss = rss_of_groups(&[group]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            rss.get(&group).copied().unwrap_or(0) >= own,
            "{rss:?} < {own}"
        );
        assert!(
            rss.contains_key(&group),
            "the live group is counted: {rss:?}"
        );
        assert!(rss_of_groups(&[group]).is_empty(), "gone once reaped");
    }
}
