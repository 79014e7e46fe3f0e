//! Embedded runtimes configured for tests (feature `warpdrive`).

use std::sync::OnceLock;

use warpdrive::{EmbeddedConfig, Runtime};

/// Test configuration: unpinned engines (parallel test threads must not all
/// fight for one pinned CPU) with the default idle spin.
pub fn config() -> EmbeddedConfig {
    EmbeddedConfig { pin: false, ..EmbeddedConfig::default() }
}

/// A fresh embedded runtime with [`config`].
pub fn runtime() -> Runtime {
    Runtime::embedded_with(&config()).expect("embedded runtime")
}

/// One runtime shared by every test of a test binary (engines spin, so keep
/// their number small). Each test opens its own queues on it.
pub fn shared() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(runtime)
}
