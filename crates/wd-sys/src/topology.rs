//! NUMA topology from sysfs (see sysfs-devices-system-cpu).

use std::fs;

/// NUMA node of `cpu`, or 0 when the machine exposes no NUMA information.
pub fn numa_node_of_cpu(cpu: usize) -> u32 {
    let dir = format!("/sys/devices/system/cpu/cpu{cpu}");
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_prefix("node") {
            if let Ok(n) = n.parse() {
                return n;
            }
        }
    }
    0
}

/// Number of NUMA nodes online (at least 1).
pub fn numa_nodes() -> u32 {
    fs::read_to_string("/sys/devices/system/node/online")
        .ok()
        .and_then(|s| parse_last_in_list(s.trim()))
        .map_or(1, |last| last + 1)
}

fn parse_last_in_list(s: &str) -> Option<u32> {
    let last = s.split(',').next_back()?;
    last.split('-').next_back()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_last_in_list("0"), Some(0));
        assert_eq!(parse_last_in_list("0-3"), Some(3));
        assert_eq!(parse_last_in_list("0,2-5"), Some(5));
        assert!(numa_nodes() >= 1);
        let _ = numa_node_of_cpu(0);
    }
}
