//! Framing over a `SOCK_SEQPACKET` Unix socket: a `u32` length prefix
//! checked against the packet size, descriptors as `SCM_RIGHTS` (see
//! unix(7), sendmsg(2), recvmsg(2)). A message is one packet, or, when it
//! is longer than one packet may be, a stream of full packets flagged
//! "more" and a last one: replies of any size get through, while what the
//! broker accepts from a client stays bounded by [`MAX_MESSAGE`].

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{MAX_FDS, MAX_MESSAGE, MAX_REPLY};

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

/// Set in a packet's length prefix when more packets of the same message
/// follow. Every packet but the last of a message then carries exactly
/// [`MAX_MESSAGE`] bytes, so a message of `n` bytes is `n / MAX_MESSAGE + 1`
/// packets at most and a peer cannot stretch one with empty pieces.
const MORE: u32 = 1 << 31;

/// Sends `msg` with `fds` attached (they travel with the first packet).
/// A body longer than [`MAX_MESSAGE`] goes out as a stream of packets, each
/// but the last flagged `MORE` (bit 31 of its length prefix); a send that
/// fails part way leaves the connection unusable (the peer holds half a
/// message), so close it.
pub fn send<T: Serialize>(sock: impl AsFd, msg: &T, fds: &[BorrowedFd<'_>]) -> Result<(), FrameError> {
    assert!(fds.len() <= MAX_FDS, "too many descriptors in one message");
    let body = serde_json::to_vec(msg).map_err(|e| FrameError::Protocol(e.to_string()))?;
    if body.len() > MAX_REPLY {
        return Err(FrameError::Protocol(format!("message of {} bytes exceeds {MAX_REPLY}", body.len())));
    }
    let mut at = 0;
    loop {
        let end = body.len().min(at + MAX_MESSAGE);
        let more = end < body.len();
        let prefix = (end - at) as u32 | if more { MORE } else { 0 };
        send_packet(&sock, prefix, &body[at..end], if at == 0 { fds } else { &[] })?;
        at = end;
        if !more {
            return Ok(());
        }
    }
}

fn send_packet(sock: &impl AsFd, prefix: u32, piece: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), FrameError> {
    let len = prefix.to_le_bytes();
    let iov = [IoSlice::new(&len), IoSlice::new(piece)];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !anc.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(FrameError::Protocol("descriptors do not fit".into()));
    }
    let sent = loop {
        match sendmsg(sock, &iov, &mut anc, SendFlags::NOSIGNAL) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::PIPE) | Err(rustix::io::Errno::CONNRESET) => return Err(FrameError::Closed),
            r => break r?,
        }
    };
    if sent != 4 + piece.len() {
        return Err(FrameError::Protocol("short send on a packet socket".into()));
    }
    Ok(())
}

/// Receives one message of at most [`MAX_MESSAGE`] bytes and the
/// descriptors that came with it: what the broker accepts from a client.
/// Every failure mode of a hostile peer (oversized, truncated, wrong length
/// prefix, bad JSON, too many fds) is a [`FrameError::Protocol`].
pub fn recv<T: DeserializeOwned>(sock: impl AsFd) -> Result<(T, Vec<OwnedFd>), FrameError> {
    recv_up_to(sock, MAX_MESSAGE)
}

/// Receives one message of at most `limit` bytes (at least [`MAX_MESSAGE`]
/// is always accepted), reassembling a stream of packets: what a client
/// accepts from the broker, whose replies ([`crate::Response::Stats`] of
/// thousands of queues) can be larger than one packet.
pub fn recv_up_to<T: DeserializeOwned>(sock: impl AsFd, limit: usize) -> Result<(T, Vec<OwnedFd>), FrameError> {
    recv_from(sock, limit).map(|(m, fds, _)| (m, fds))
}

/// Who sent a message, as the kernel attests it (`SCM_CREDENTIALS`, on a
/// socket with [`pass_credentials`] set; unix(7)): the sending process,
/// whatever process the connection was made by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sender {
    /// Process id (thread group) of the sender.
    pub pid: i32,
    /// Its real user id.
    pub uid: u32,
    /// Its real group id.
    pub gid: u32,
}

/// Asks the kernel to attach the sender's credentials to every message
/// this socket receives from now on (`SO_PASSCRED`).
pub fn pass_credentials(sock: impl AsFd) -> std::io::Result<()> {
    Ok(rustix::net::sockopt::set_socket_passcred(sock, true)?)
}

/// [`recv_up_to`], with the sender of the message when the kernel said
/// (see [`pass_credentials`]). Every packet of a streamed message must come
/// from the same sender.
pub fn recv_from<T: DeserializeOwned>(
    sock: impl AsFd,
    limit: usize,
) -> Result<(T, Vec<OwnedFd>, Option<Sender>), FrameError> {
    let limit = limit.max(MAX_MESSAGE);
    let mut buf = vec![0u8; 4 + MAX_MESSAGE + 1];
    let (len, mut more, fds, sender) = recv_packet(&sock, &mut buf)?;
    if !more {
        let msg = serde_json::from_slice(&buf[4..4 + len]).map_err(|e| FrameError::Protocol(e.to_string()))?;
        return Ok((msg, fds, sender));
    }
    let mut body = buf[4..4 + len].to_vec();
    while more {
        let (len, next, extra, from) = recv_packet(&sock, &mut buf)?;
        if !extra.is_empty() {
            return Err(FrameError::Protocol("descriptors after the first packet of a message".into()));
        }
        if from != sender {
            return Err(FrameError::Protocol("packets of one message from different processes".into()));
        }
        if body.len() + len > limit {
            return Err(FrameError::Protocol(format!("message of more than {limit} bytes")));
        }
        body.extend_from_slice(&buf[4..4 + len]);
        more = next;
    }
    let msg = serde_json::from_slice(&body).map_err(|e| FrameError::Protocol(e.to_string()))?;
    Ok((msg, fds, sender))
}

/// What one packet brought: its body length, whether more follow, its
/// fds, and its sender when the kernel attached one.
type Packet = (usize, bool, Vec<OwnedFd>, Option<Sender>);

/// One packet into `buf`.
fn recv_packet(sock: &impl AsFd, buf: &mut [u8]) -> Result<Packet, FrameError> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS), ScmCredentials(1))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let mut flags = RecvFlags::CMSG_CLOEXEC;
    let r = loop {
        let mut iov = [IoSliceMut::new(buf)];
        match recvmsg(sock, &mut iov, &mut anc, flags) {
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
    let mut sender = None;
    for m in anc.drain() {
        match m {
            RecvAncillaryMessage::ScmRights(received) => fds.extend(received),
            RecvAncillaryMessage::ScmCredentials(c) => {
                sender = Some(Sender { pid: c.pid.as_raw_nonzero().get(), uid: c.uid.as_raw(), gid: c.gid.as_raw() })
            }
            _ => {}
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
    let prefix = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let (len, more) = ((prefix & !MORE) as usize, prefix & MORE != 0);
    if len > MAX_MESSAGE || len != r.bytes - 4 {
        return Err(FrameError::Protocol(format!("length prefix {len} but {} bytes followed", r.bytes - 4)));
    }
    if more && len != MAX_MESSAGE {
        return Err(FrameError::Protocol(format!("a packet of {len} bytes announces more (only full ones may)")));
    }
    Ok((len, more, fds, sender))
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
    fn the_kernel_names_the_sender_of_each_message() {
        let (a, b) = pair();
        let r: Result<(Request, _, _), _> = {
            send(&a, &Request::ListDevices, &[]).unwrap();
            recv_from(&b, MAX_MESSAGE)
        };
        assert_eq!(r.unwrap().2, None, "no SO_PASSCRED: no sender");
        pass_credentials(&b).unwrap();
        send(&a, &Request::Stats, &[]).unwrap();
        let (m, _, from): (Request, _, _) = recv_from(&b, MAX_MESSAGE).unwrap();
        assert_eq!(m, Request::Stats);
        let from = from.expect("a sender");
        assert_eq!(from.pid, std::process::id() as i32);
        assert_eq!(from.uid, rustix::process::getuid().as_raw());
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

    fn stats_of(n: usize) -> Response {
        let queues = (0..n)
            .map(|i| crate::QueueStat {
                pid: i as i32,
                uid: 1000,
                device: "dma0".into(),
                queue: i as u32,
                state: "running".into(),
                requests: u64::MAX - i as u64,
                bytes_in: 1 << 40,
                bytes_out: 1 << 41,
                errors: 0,
                in_flight: 7,
            })
            .collect();
        Response::Stats { clients: 3, queues, routes: Vec::new(), chains: Default::default(), health: Vec::new() }
    }

    /// A reply several packets long arrives whole, with its descriptors,
    /// and the connection stays in step for the next message.
    #[test]
    fn a_reply_longer_than_a_packet_streams_and_arrives_whole() {
        let (a, b) = pair();
        // Thousands of queues: several 64 KiB packets, more than the
        // socket buffer holds, so the sender must run alongside.
        let big = stats_of(5000);
        assert!(serde_json::to_vec(&big).unwrap().len() > 8 * MAX_MESSAGE);
        let memfd = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        let sent = big.clone();
        let t = std::thread::spawn(move || {
            send(&b, &sent, &[memfd.as_fd()]).unwrap();
            send(&b, &Response::Ok, &[]).unwrap();
            b
        });
        let (r, fds): (Response, _) = recv_up_to(&a, MAX_REPLY).unwrap();
        assert_eq!(r, big);
        assert_eq!(fds.len(), 1);
        assert_eq!(recv_up_to::<Response>(&a, MAX_REPLY).unwrap().0, Response::Ok);
        drop(t.join().unwrap());
        // Exactly one full packet and nothing more is still one packet.
        let (a, b) = pair();
        let body = serde_json::to_vec(&stats_of(1)).unwrap();
        let pad = MAX_MESSAGE - body.len();
        let mut exact = body[..body.len() - 1].to_vec();
        exact.extend(std::iter::repeat_n(b' ', pad));
        exact.push(b'}');
        assert_eq!(exact.len(), MAX_MESSAGE);
        let mut pkt = (exact.len() as u32).to_le_bytes().to_vec();
        pkt.extend_from_slice(&exact);
        rustix::io::write(&b, &pkt).unwrap();
        assert_eq!(recv::<Response>(&a).unwrap().0, stats_of(1));
    }

    /// What the broker reads from a client stays within one packet's
    /// worth, however the client splits it; a stream can be neither
    /// stretched with short pieces nor carry descriptors past its start.
    #[test]
    fn streams_are_bounded_and_well_formed_or_refused() {
        let more = |body: &[u8]| {
            let mut p = (body.len() as u32 | MORE).to_le_bytes().to_vec();
            p.extend_from_slice(body);
            p
        };
        let last = |body: &[u8]| {
            let mut p = (body.len() as u32).to_le_bytes().to_vec();
            p.extend_from_slice(body);
            p
        };
        // Two packets: over the request limit, whatever they hold.
        let (a, b) = pair();
        let big = stats_of(1000);
        let t = std::thread::spawn(move || send(&b, &big, &[]).map(|()| b));
        match recv::<Response>(&a) {
            Err(FrameError::Protocol(m)) => assert!(m.contains("more than"), "{m}"),
            other => panic!("{other:?}"),
        }
        drop(a);
        let _ = t.join().unwrap();
        // Over the caller's limit.
        let (a, b) = pair();
        let t = std::thread::spawn(move || send(&b, &stats_of(5000), &[]).map(|()| b));
        assert!(matches!(recv_up_to::<Response>(&a, 3 * MAX_MESSAGE), Err(FrameError::Protocol(_))));
        drop(a);
        let _ = t.join().unwrap();
        // A short piece flagged "more".
        let (a, b) = pair();
        rustix::io::write(&b, &more(b"{\"op\":")).unwrap();
        match recv::<Request>(&a) {
            Err(FrameError::Protocol(m)) => assert!(m.contains("announces more"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Descriptors on a continuation.
        let (a, b) = pair();
        rustix::io::write(&b, &more(&vec![b' '; MAX_MESSAGE])).unwrap();
        let memfd = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        let piece = last(br#"{"op":"ok"}"#);
        let iov = [IoSlice::new(&piece)];
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = SendAncillaryBuffer::new(&mut space);
        let fds = [memfd.as_fd()];
        assert!(anc.push(SendAncillaryMessage::ScmRights(&fds)));
        sendmsg(&b, &iov, &mut anc, SendFlags::empty()).unwrap();
        match recv_up_to::<Response>(&a, MAX_REPLY) {
            Err(FrameError::Protocol(m)) => assert!(m.contains("descriptors after"), "{m}"),
            other => panic!("{other:?}"),
        }
        // A full piece and a last one within the limit is fine.
        let (a, b) = pair();
        rustix::io::write(&b, &more(&vec![b' '; MAX_MESSAGE])).unwrap();
        rustix::io::write(&b, &last(br#"{"op":"ok"}"#)).unwrap();
        assert_eq!(recv_up_to::<Response>(&a, MAX_REPLY).unwrap().0, Response::Ok);
        // The peer leaving mid-stream is a hang-up.
        let (a, b) = pair();
        rustix::io::write(&b, &more(&vec![b' '; MAX_MESSAGE])).unwrap();
        drop(b);
        assert!(matches!(recv_up_to::<Response>(&a, MAX_REPLY), Err(FrameError::Closed)));
    }

    #[test]
    fn peer_credentials_are_ours() {
        let (a, _b) = pair();
        let c = peer_credentials(&a).unwrap();
        assert_eq!(c.pid, std::process::id() as i32);
        assert_eq!(c.uid, rustix::process::getuid().as_raw());
    }
}
