//! The control protocol between a process and `warpd`.
//!
//! Control messages only: the data path is the shared-memory queue the
//! broker hands over. A message is a little-endian `u32` length followed
//! by that many bytes of JSON (at most [`MAX_MESSAGE`] per packet; a longer
//! reply is a stream of packets, see [`recv_up_to`]), sent with sendmsg(2); file descriptors (queue memfds, eventfds, region memfds)
//! travel in the same call as `SCM_RIGHTS`. The first exchange is
//! [`Request::Hello`] / [`Response::Hello`] carrying [`PROTO_VERSION`].
//! The broker identifies the peer by `SO_PEERCRED`, never by anything the
//! peer says. See docs/PROTOCOL.md.
#![forbid(unsafe_code)]

mod frame;
mod msg;

pub use frame::{pass_credentials, peer_credentials, recv, recv_from, recv_up_to, send, Creds, FrameError, Sender};
pub use msg::{
    ChainStats, DeviceDesc, ErrorCode, HealthStat, LimitDesc, OpDesc, QueueDesc, QueueStat, Request, Response,
    RouteStat, PROTO_VERSION,
};

/// Largest packet body, bytes, and the largest request the broker accepts.
/// A peer announcing more in one packet is cut off.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Largest message a stream of packets may carry (the library's limit on
/// a broker reply: `stats` of every queue of a busy broker).
pub const MAX_REPLY: usize = 64 << 20;
/// Most descriptors one message may carry.
pub const MAX_FDS: usize = 4;
/// Default socket path when `WARPD_SOCKET` is not set: in the directory
/// systemd creates for the broker (`RuntimeDirectory=warpd` in
/// dist/warpd.service), where dist/warpd.toml puts it too.
pub const DEFAULT_SOCKET: &str = "/run/warpd/warpd.sock";
