// SPDX-License-Identifier: GPL-2.0

//! Readiness for the service manager (`sd_notify(3)`'s protocol, without
//! libsystemd): one datagram to the socket named in `$NOTIFY_SOCKET`.
//!
//! The unit is `Type=notify`, so "started" means ready: `READY=1` goes out
//! once the daemon has joined the connector group and answers requests, and
//! `Before=lvm2-activation*.service` orders LVM's activation after that.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends `state` (e.g. `READY=1`) to the service manager. Without
/// `$NOTIFY_SOCKET` (not started by systemd, or not `Type=notify`) there is
/// nobody to tell: `Ok(false)`.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let path = path.as_bytes();
    // A leading '@' names a socket in the abstract namespace.
    let addr = match path.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(OsStr::from_bytes(path))?,
    };
    let sock = UnixDatagram::unbound()?;
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_the_state_to_the_named_socket() {
        let dir = std::env::temp_dir().join(format!("dm-logd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        // The tests of this crate do not otherwise read NOTIFY_SOCKET.
        std::env::set_var("NOTIFY_SOCKET", &path);
        assert!(notify("READY=1").unwrap());
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::env::remove_var("NOTIFY_SOCKET");
        assert!(!notify("READY=1").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
