//! `wd admin remove|add`: run-time changes to warpd's instances, and the
//! health lines `wd status` prints.

use std::time::Duration;

use clap::Subcommand;
use warpdrive::{DeviceEvent, HealthStat, Runtime};

/// Administrative changes to the broker's instances.
#[derive(Subcommand)]
pub enum AdminCmd {
    /// Remove an instance: it takes no new queue; requests in flight get
    /// the grace period to finish, then what is left completes with
    /// DeviceLost at its clients.
    Remove {
        /// Instance name (`dma1`).
        name: String,
        /// Grace period for requests in flight, milliseconds.
        #[arg(long, default_value_t = 1000)]
        grace: u64,
    },
    /// Start instances described as one `[[device]]` table of the
    /// configuration file: `wd admin add driver=dma name=dma9 engines=2`.
    Add {
        /// `key=value` pairs of the table (strings are quoted for you).
        #[arg(required = true)]
        keys: Vec<String>,
    },
}

/// Runs one admin command against the broker.
pub fn run(cmd: AdminCmd) -> anyhow::Result<()> {
    let rt = Runtime::new()?;
    anyhow::ensure!(rt.is_daemon(), "wd admin changes warpd's instances: no broker in use (see wd doctor)");
    match cmd {
        AdminCmd::Remove { name, grace } => {
            let r = rt.remove_device(&name, Duration::from_millis(grace))?;
            println!(
                "removed {}: {} queue(s), drained in {} ms, {} request(s) lost{}",
                r.device,
                r.queues,
                r.drained.as_millis(),
                r.lost,
                if r.hung_engines > 0 {
                    format!(", {} hung engine(s) left behind", r.hung_engines)
                } else {
                    String::new()
                }
            );
        }
        AdminCmd::Add { keys } => {
            let names = rt.add_device(&table(&keys)?)?;
            println!("added {}", names.join(", "));
        }
    }
    Ok(())
}

/// `key=value` pairs as TOML: numbers and booleans as they are, anything
/// else as a quoted string.
fn table(keys: &[String]) -> anyhow::Result<String> {
    let mut out = String::new();
    for kv in keys {
        let (k, v) = kv.split_once('=').ok_or_else(|| anyhow::anyhow!("{kv:?}: expected key=value"))?;
        let bare = v.parse::<i64>().is_ok() || v == "true" || v == "false";
        if bare {
            out.push_str(&format!("{k} = {v}\n"));
        } else {
            out.push_str(&format!("{k} = {}\n", toml_string(v)));
        }
    }
    Ok(out)
}

fn toml_string(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_control() => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// `wd list --watch`: one line per instance that appears, goes away or
/// changes, as seen every `interval`; `iterations` bounds the run.
pub fn watch(interval: Duration, iterations: Option<u64>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let rt = crate::mode::default_runtime()?;
    let mut w = rt.watch_devices();
    let mut n = 0u64;
    loop {
        for e in w.poll()? {
            let line = match e {
                DeviceEvent::Appeared(d) => {
                    format!("+ {} ({}, node {}, {:?})", d.name, d.driver, d.numa_node, d.health)
                }
                DeviceEvent::Disappeared(name) => format!("- {name}"),
                DeviceEvent::Changed { now, what } => format!("~ {}: {what}", now.name),
            };
            println!("{line}");
        }
        std::io::stdout().flush()?;
        n += 1;
        if iterations.is_some_and(|k| n >= k) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

/// The health lines of `wd status`: one per instance, with its last event.
pub fn print_health(health: &[HealthStat]) {
    if health.is_empty() {
        return;
    }
    println!();
    println!("{:<10} {:<11} {:>8}  last event", "instance", "health", "restarts");
    for h in health {
        println!("{:<10} {:<11} {:>8}  {}", h.device, h.state, h.restarts, h.events.last().map_or("-", |e| e.as_str()));
    }
}

/// `wd doctor`'s lines on the broker's instances: each live one's
/// health, with its restarts and last event.
pub fn doctor_health(rt: &Runtime) {
    let Ok(health) = rt.health() else { return };
    for h in health.iter().filter(|h| h.state != "removed") {
        let fine = h.state == "ok" && h.restarts == 0;
        println!(
            "[{}] instance {}: {}, {} restart(s) after a hung engine{}",
            if fine { "ok  " } else { "WARN" },
            h.device,
            h.state,
            h.restarts,
            h.events.last().map_or(String::new(), |e| format!("; last: {e}"))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_become_a_toml_table() {
        let t = table(&["driver=dma".into(), "name=dma9".into(), "engines=2".into(), "pin=false".into()]).unwrap();
        assert_eq!(t, "driver = \"dma\"\nname = \"dma9\"\nengines = 2\npin = false\n");
        assert!(table(&["driver".into()]).is_err());
        assert_eq!(toml_string("a\"b\\"), "\"a\\\"b\\\\\"");
    }
}
