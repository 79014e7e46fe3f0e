//! `warpd` configuration (TOML). Every field has a default, so
//! `warpd --socket PATH` runs with no file at all (docs/INSTALL.md lists
//! every key).

use std::time::Duration;

use serde::Deserialize;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Socket and access control.
    pub daemon: DaemonCfg,
    /// Per-user limits.
    pub quota: Quota,
    /// Devices to run.
    #[serde(rename = "device")]
    pub devices: Vec<DeviceCfg>,
    /// The home-made crypto kernels.
    pub crypto: CryptoCfg,
}

/// `[crypto]`: whether the home-made kernels run (unset: the default of
/// docs/CRYPTO.md). `WD_MBX=0|1` and `WD_CHAPOLY=0|1` in warpd's
/// environment override these.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CryptoCfg {
    /// Multi-buffer RSA (`wd-mbx`) in `hpre` devices.
    pub mbx: Option<bool>,
    /// AVX-512 ChaCha20-Poly1305 (`wd-chapoly`) in `sec` devices.
    pub chapoly: Option<bool>,
}

/// `[daemon]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonCfg {
    /// Socket path.
    pub socket: String,
    /// Socket permission bits, e.g. `"0660"`.
    pub socket_mode: String,
    /// Group id to own the socket (`None`: the daemon's).
    pub socket_gid: Option<u32>,
    /// Users allowed to connect (empty: anyone the socket mode admits).
    pub allowed_uids: Vec<u32>,
    /// Groups allowed to connect (checked with `allowed_uids`: either admits).
    pub allowed_gids: Vec<u32>,
    /// Users allowed administrative requests (suspend); root always is.
    pub admin_uids: Vec<u32>,
    /// Error completions after which a queue is isolated (faulted).
    pub fault_threshold: u64,
    /// How long one SVA request may wait for the client's memory (an
    /// unserved page fault) before it fails with `Stalled` and its queue is
    /// faulted, milliseconds.
    pub sva_deadline_ms: u64,
    /// How long a new connection may take to say hello, milliseconds.
    pub hello_timeout_ms: u64,
    /// How long a client may take to accept a reply, milliseconds; a
    /// client that stops reading loses its connection after that.
    pub send_timeout_ms: u64,
    /// Where sysfs is, for the NUMA topology (unset: `/sys`; tests point
    /// it at a synthetic tree). `WD_SYSFS_ROOT` in warpd's environment
    /// overrides it.
    pub sysfs_root: Option<String>,
    /// On SIGHUP, how long requests in flight on an instance the file no
    /// longer names (or names with a changed table) get to finish before it
    /// is removed, milliseconds.
    pub reload_grace_ms: u64,
}

/// `[quota]`: per user, summed over all that user's connections.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quota {
    /// Open connections to the broker.
    pub connections: u32,
    /// Open queues.
    pub queues: u32,
    /// Registered regions (each is a mapping in the broker).
    pub regions: u32,
    /// Registered bytes.
    pub registered_bytes: u64,
    /// Open sessions.
    pub sessions: u32,
    /// Requests in flight: the sum of the user's submission ring sizes.
    pub in_flight: u32,
    /// Bytes of bounce buffers the broker holds at once for the user's SVA
    /// requests (a larger request completes with `Resources`).
    pub bounce_bytes: u64,
    /// SVA pager threads (one per connection that binds memory; a stalled
    /// one lives until its stall ends).
    pub sva_pagers: u32,
}

/// `[[device]]`: instances of one driver. Without `node`, `per_node`
/// instances (default 1) on every NUMA node that has CPUs, engines on
/// that node's CPUs; with `node`, one instance there (`-1`: no locality).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCfg {
    /// Driver: `dma`.
    pub driver: String,
    /// Device name (default: driver + index: `zip0`, `zip1`, ...). A
    /// named entry is one instance: on `node`, else on warpd's own node.
    pub name: Option<String>,
    /// Instances on each node with CPUs (default 1; not with `node`).
    pub per_node: Option<usize>,
    /// One instance on this NUMA node; `-1`: no locality (engines on any
    /// CPU). A node without CPUs runs its engines on the nearest node
    /// that has some.
    pub node: Option<i64>,
    /// Engine threads.
    #[serde(default = "one")]
    pub engines: usize,
    /// Pin engines to CPUs.
    #[serde(default = "yes")]
    pub pin: bool,
    /// Idle polling before an engine sleeps, microseconds.
    #[serde(default = "fifty")]
    pub idle_spin_us: u64,
    /// How long an engine may hold work without progress before the
    /// watchdog restarts the instance, milliseconds (0: no watchdog;
    /// unset: 5000).
    pub watchdog_ms: Option<u64>,
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn fifty() -> u64 {
    50
}

impl Default for DaemonCfg {
    fn default() -> Self {
        DaemonCfg {
            socket: wd_proto::DEFAULT_SOCKET.into(),
            socket_mode: "0666".into(),
            socket_gid: None,
            allowed_uids: Vec::new(),
            allowed_gids: Vec::new(),
            admin_uids: Vec::new(),
            fault_threshold: 1024,
            sva_deadline_ms: 2000,
            hello_timeout_ms: 5000,
            send_timeout_ms: 10_000,
            sysfs_root: None,
            reload_grace_ms: 1000,
        }
    }
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            connections: 256,
            queues: 64,
            regions: 4096,
            registered_bytes: 1 << 30,
            sessions: 4096,
            in_flight: 64 * 1024,
            bounce_bytes: 64 << 20,
            sva_pagers: 16,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            daemon: DaemonCfg::default(),
            quota: Quota::default(),
            devices: crate::drivers::DRIVERS
                .iter()
                .map(|d| DeviceCfg {
                    driver: d.to_string(),
                    name: None,
                    per_node: None,
                    node: None,
                    engines: 1,
                    pin: true,
                    idle_spin_us: 50,
                    watchdog_ms: None,
                })
                .collect(),
            crypto: CryptoCfg::default(),
        }
    }
}

impl DeviceCfg {
    /// The watchdog deadline `watchdog_ms` asks for.
    pub fn watchdog(&self) -> Option<Duration> {
        match self.watchdog_ms {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms)),
            None => Some(wd_device::WATCHDOG_DEFAULT),
        }
    }

    /// What this entry asks of the placement: warpd's own node
    /// (`home`) for a named entry without a node.
    pub fn want(&self, home: u32) -> wd_device::Want {
        match (self.node, &self.name) {
            (Some(-1), _) => wd_device::Want::At(wd_ops::desc::NO_NODE),
            (Some(n), _) => wd_device::Want::At(n as u32),
            (None, Some(_)) => wd_device::Want::At(home),
            (None, None) => wd_device::Want::PerNode(self.per_node.unwrap_or(1)),
        }
    }
}

impl Config {
    /// Parses a TOML document.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let c: Config = toml::from_str(text)?;
        u32::from_str_radix(c.daemon.socket_mode.trim_start_matches("0o"), 8)
            .map_err(|_| anyhow::anyhow!("socket_mode {:?} is not octal", c.daemon.socket_mode))?;
        anyhow::ensure!(!c.devices.is_empty(), "no [[device]] configured");
        for d in &c.devices {
            anyhow::ensure!(
                crate::drivers::DRIVERS.contains(&d.driver.as_str()),
                "unknown driver {:?} (known: {})",
                d.driver,
                crate::drivers::DRIVERS.join(", ")
            );
            anyhow::ensure!((1..=64).contains(&d.engines), "engines must be 1..=64");
            if let Some(n) = d.node {
                anyhow::ensure!((-1..=i64::from(u16::MAX)).contains(&n), "node must be -1 (none) or a node number");
                anyhow::ensure!(d.per_node.is_none(), "a device sets node (one instance) or per_node, not both");
            }
            if let Some(n) = d.per_node {
                anyhow::ensure!(n <= 64, "per_node must be 0..=64");
                anyhow::ensure!(d.name.is_none(), "a named device is one instance: set node, not per_node");
            }
        }
        // Zero would mean "wait forever" to the socket layer (and fail every
        // SVA request at once).
        for (name, ms) in [
            ("hello_timeout_ms", c.daemon.hello_timeout_ms),
            ("send_timeout_ms", c.daemon.send_timeout_ms),
            ("sva_deadline_ms", c.daemon.sva_deadline_ms),
        ] {
            anyhow::ensure!((1..=3_600_000).contains(&ms), "{name} must be 1..=3600000 (an hour)");
        }
        Ok(c)
    }

    /// The socket mode as bits.
    pub fn socket_mode(&self) -> u32 {
        u32::from_str_radix(self.daemon.socket_mode.trim_start_matches("0o"), 8).unwrap_or(0o666)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_parses_and_serves_every_driver() {
        let c = Config::parse(include_str!("../../../dist/warpd.toml")).unwrap();
        let drivers: Vec<&str> = c.devices.iter().map(|d| d.driver.as_str()).collect();
        assert_eq!(drivers, crate::drivers::DRIVERS);
        assert_eq!(c.quota.queues, 64);
    }

    #[test]
    fn parses_a_full_file() {
        let c = Config::parse(
            r#"
            [daemon]
            socket = "/tmp/x.sock"
            socket_mode = "0660"
            allowed_uids = [1000]
            admin_uids = [1000]
            [quota]
            queues = 4
            registered_bytes = 1048576
            [[device]]
            driver = "dma"
            engines = 2
            "#,
        )
        .unwrap();
        assert_eq!(c.socket_mode(), 0o660);
        assert_eq!(c.quota.queues, 4);
        assert_eq!(c.quota.sessions, 4096, "unset quota keeps its default");
        assert_eq!(c.devices[0].engines, 2);
    }

    #[test]
    fn crypto_section_sets_the_kernels() {
        let c = Config::parse("[crypto]\nmbx = true\nchapoly = false").unwrap();
        assert_eq!((c.crypto.mbx, c.crypto.chapoly), (Some(true), Some(false)));
        let c = Config::parse("").unwrap();
        assert_eq!((c.crypto.mbx, c.crypto.chapoly), (None, None), "unset: the defaults");
        assert!(Config::parse("[crypto]\nmbx = \"yes\"").is_err());
        assert!(Config::parse("[crypto]\nrsa = false").is_err(), "unknown keys are errors");
    }

    #[test]
    fn instances_per_node_or_at_a_node() {
        let c = Config::parse(
            "[daemon]\nsysfs_root = \"/tmp/x\"\n[[device]]\ndriver = \"zip\"\nper_node = 2\n\
             [[device]]\ndriver = \"sec\"\nnode = -1\n[[device]]\ndriver = \"dma\"\nnode = 1\nengines = 2\n\
             [[device]]\ndriver = \"hpre\"",
        )
        .unwrap();
        assert_eq!(c.daemon.sysfs_root.as_deref(), Some("/tmp/x"));
        let wants: Vec<_> = c.devices.iter().map(|d| d.want(0)).collect();
        use wd_device::Want;
        assert_eq!(wants, vec![Want::PerNode(2), Want::At(u32::MAX), Want::At(1), Want::PerNode(1)]);
        assert!(Config::parse("[[device]]\ndriver = \"dma\"\nnode = -2").is_err());
        assert!(Config::parse("[[device]]\ndriver = \"dma\"\nnode = 0\nper_node = 1").is_err());
        assert!(Config::parse("[[device]]\ndriver = \"dma\"\nname = \"d\"\nper_node = 2").is_err());
        assert!(Config::parse("[[device]]\ndriver = \"dma\"\nper_node = 65").is_err());
    }

    #[test]
    fn rejects_mistakes() {
        assert!(Config::parse("[daemon]\nsokcet = \"x\"").is_err(), "unknown keys are errors");
        assert!(Config::parse("[[device]]\ndriver = \"gpu\"").is_err());
        assert!(Config::parse("[daemon]\nsocket_mode = \"rw\"").is_err());
        assert!(Config::parse("[daemon]\nhello_timeout_ms = 0").is_err(), "no wait may be unbounded");
        assert!(Config::parse("[daemon]\nsva_deadline_ms = 0").is_err(), "an SVA deadline of zero fails everything");
        assert!(Config::parse("[daemon]\nsend_timeout_ms = 0").is_err(), "no wait may be unbounded");
    }
}
