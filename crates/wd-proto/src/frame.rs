//! Framing over a `SOCK_SEQPACKET` Unix socket: one message per packet,
//! `u32` length prefix checked against the packet size, descriptors as
//! `SCM_RIGHTS` (see unix(7), sendmsg(2), recvmsg(2)).

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{MAX_FDS, MAX_MESSAGE};

/// Why a message could not be sent or received.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection.
    #[error("connection closed")]
    Closed,
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a valid message (length, truncation, JSON, fds).
    #[error("protocol violation: {0}")]
    Protocol(String),
}

impl From<rustix::io::Errno> for FrameError {
    fn from(e: rustix::io::Errno) -> Self {
        FrameError::Io(e.into())
    }
}

/// Sends `msg` with `fds` attached.
pub fn send<T: Serialize>(sock: impl AsFd, msg: &T, fds: &[BorrowedFd<'_>]) -> Result<(), FrameError> {
    assert!(fds.len() <= MAX_FDS, "too many descriptors in one message");
    let body = serde_json::to_vec(msg).map_err(|e| FrameError::Protocol(e.to_string()))?;
    if body.len() > MAX_MESSAGE {
        return Err(FrameError::Protocol(format!("message of {} bytes exceeds {MAX_MESSAGE}", body.len())));
    }
    let len = (body.len() as u32).to_le_bytes();
    let iov = [IoSlice::new(&len), IoSlice::new(&body)];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !anc.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(FrameError::Protocol("descriptors do not fit".into()));
    }
    let sent = loop {
        match sendmsg(&sock, &iov, &mut anc, SendFlags::NOSIGNAL) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::PIPE) | Err(rustix::io::Errno::CONNRESET) => return Err(FrameError::Closed),
            r => break r?,
        }
    };
    if sent != 4 + body.len() {
        return Err(FrameError::Protocol("short send on a packet socket".into()));
    }
    Ok(())
}

/// Receives one message and the descriptors that came with it. Every
/// failure mode of a hostile peer (oversized, truncated, wrong length
/// prefix, bad JSON, too many fds) is a [`FrameError::Protocol`].
pub fn recv<T: DeserializeOwned>(sock: impl AsFd) -> Result<(T, Vec<OwnedFd>), FrameError> {
    let mut buf = vec![0u8; 4 + MAX_MESSAGE + 1];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let mut flags = RecvFlags::CMSG_CLOEXEC;
    let r = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg(&sock, &mut iov, &mut anc, flags) {
            Err(rustix::io::Errno::INTR) => continue,
            // A peer that closes with our message unread leaves us
            // ECONNRESET, reported (once) ahead of whatever it sent
            // before closing: a refusal's reason, say. Collect that
            // last message if there is one, without waiting.
            Err(rustix::io::Errno::CONNRESET) if !flags.contains(RecvFlags::DONTWAIT) => {
                flags |= RecvFlags::DONTWAIT;
                continue;
            }
            Err(rustix::io::Errno::CONNRESET) | Err(rustix::io::Errno::AGAIN)
                if flags.contains(RecvFlags::DONTWAIT) =>
            {
                return Err(FrameError::Closed)
            }
            r => break r?,
        }
    };
    let mut fds = Vec::new();
    for m in anc.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = m {
            fds.extend(received);
        }
    }
    if r.bytes == 0 && fds.is_empty() {
        return Err(FrameError::Closed);
    }
    if r.flags.contains(ReturnFlags::TRUNC) || r.flags.contains(ReturnFlags::CTRUNC) {
        return Err(FrameError::Protocol("message or descriptors truncated".into()));
    }
    if fds.len() > MAX_FDS {
        return Err(FrameError::Protocol(format!("{} descriptors in one message", fds.len())));
    }
    if r.bytes < 4 {
        return Err(FrameError::Protocol("packet shorter than its length prefix".into()));
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_MESSAGE || len != r.bytes - 4 {
        return Err(FrameError::Protocol(format!("length prefix {len} but {} bytes followed", r.bytes - 4)));
    }
    let msg = serde_json::from_slice(&buf[4..4 + len]).map_err(|e| FrameError::Protocol(e.to_string()))?;
    Ok((msg, fds))
}

/// The peer's credentials, from the kernel (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creds {
    /// Process id at connect time.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Reads `SO_PEERCRED` of a connected Unix socket.
pub fn peer_credentials(sock: impl AsFd) -> std::io::Result<Creds> {
    let c = rustix::net::sockopt::socket_peercred(&sock)?;
    Ok(Creds { pid: c.pid.as_raw_nonzero().get(), uid: c.uid.as_raw(), gid: c.gid.as_raw() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response};
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None).unwrap()
    }

    #[test]
    fn round_trip_with_descriptors() {
        let (a, b) = pair();
        let memfd = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        send(&a, &Request::RegisterMemory { len: 4096 }, &[memfd.as_fd()]).unwrap();
        let (m, fds): (Request, _) = recv(&b).unwrap();
        assert_eq!(m, Request::RegisterMemory { len: 4096 });
        assert_eq!(fds.len(), 1);
        send(&b, &Response::Ok, &[]).unwrap();
        let (r, fds): (Response, _) = recv(&a).unwrap();
        assert_eq!(r, Response::Ok);
        assert!(fds.is_empty());
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let (a, b) = pair();
        rustix::io::write(&a, b"\xff\xff\xff\x7fnot json").unwrap();
        assert!(matches!(recv::<Request>(&b), Err(FrameError::Protocol(_))));
        let body = b"{\"op\":\"frobnicate\"}";
        let mut pkt = (body.len() as u32).to_le_bytes().to_vec();
        pkt.extend_from_slice(body);
        rustix::io::write(&a, &pkt).unwrap();
        assert!(matches!(recv::<Request>(&b), Err(FrameError::Protocol(_))));
        rustix::io::write(&a, b"ab").unwrap();
        assert!(matches!(recv::<Request>(&b), Err(FrameError::Protocol(_))));
        drop(a);
        assert!(matches!(recv::<Request>(&b), Err(FrameError::Closed)));
    }

    /// A peer that answers and hangs up without reading what we sent:
    /// the kernel reports ECONNRESET first, and its answer must still
    /// reach us (a refusal's reason), then the close.
    #[test]
    fn last_words_of_a_peer_that_left_our_message_unread_arrive() {
        let (client, broker) = pair();
        send(&broker, &Response::error(crate::ErrorCode::Os, "no room"), &[]).unwrap();
        send(&client, &Request::Stats, &[]).unwrap();
        drop(broker);
        match recv::<Response>(&client) {
            Ok((Response::Error { message, .. }, _)) => assert_eq!(message, "no room"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(recv::<Response>(&client), Err(FrameError::Closed)));
        // Reset with nothing queued: closed at once, no wait.
        let (client, broker) = pair();
        send(&client, &Request::Stats, &[]).unwrap();
        drop(broker);
        assert!(matches!(recv::<Response>(&client), Err(FrameError::Closed)));
    }

    #[test]
    fn peer_credentials_are_ours() {
        let (a, _b) = pair();
        let c = peer_credentials(&a).unwrap();
        assert_eq!(c.pid, std::process::id() as i32);
        assert_eq!(c.uid, rustix::process::getuid().as_raw());
    }
}
