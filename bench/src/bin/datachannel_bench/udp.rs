//! The ceiling: raw UDP datagrams from one loopback socket to another, no protocol at all.
//! The sender does not pace (what it sends beyond what the receiver drains is lost); the rate
//! is the receiver's: bytes received between its first and its last datagram.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Sends `count` datagrams of `size` bytes as fast as the kernel takes them; returns the bytes
/// received and the seconds from the first to the last datagram received.
pub fn blast(size: usize, count: usize) -> (usize, f64) {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let to = rx.local_addr().expect("receiver address");
    rx.set_read_timeout(Some(Duration::from_millis(200))).expect("read timeout");
    set_receive_buffer(&rx, 4 << 20);
    let receiver = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        let (mut bytes, mut first, mut last) = (0usize, None, Instant::now());
        let deadline = Instant::now() + crate::CHILD_DEADLINE;
        // Ends when nothing arrived for 200 ms (the sender is done and the queue is empty).
        while let Ok(n) = rx.recv(&mut buf) {
            bytes += n;
            last = Instant::now();
            first.get_or_insert(last);
            if last > deadline {
                break;
            }
        }
        (bytes, first.unwrap_or(last), last)
    });
    let data = vec![0x5a; size];
    for _ in 0..count {
        let _ = tx.send_to(&data, to);
    }
    let (bytes, first, last) = receiver.join().expect("receiver thread");
    eprintln!("  udp: {bytes} of {} bytes received", size * count);
    (bytes, last.duration_since(first).as_secs_f64().max(1e-6))
}

/// A larger receive buffer (capped by net.core.rmem_max), as a tuned server would set.
fn set_receive_buffer(s: &UdpSocket, bytes: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt on a socket we own, with a pointer to a local c_int and its size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
