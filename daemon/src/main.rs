// SPDX-License-Identifier: GPL-2.0

//! `dm-logd`: the userspace dirty-log server for device-mapper mirrors using
//! the `userspace` log type. Runs in the foreground; stops on SIGTERM or
//! SIGINT after flushing every disk-like log.

use std::process::ExitCode;

use dm_logd::group::{CpgGroup, Transport};
use dm_logd::runloop::{self, Plain};
use dm_logd::server::Server;
use dm_logd::sys::{NetlinkSocket, SignalFd};
use dm_logd::{errno, log_error, log_info, log_warn, logging};

const USAGE: &str = "\
Usage: dm-logd [-c|--cluster] [-v|--verbose]
       dm-logd --help | --version

Userspace dirty-log server for device-mapper's `userspace` log type.
Serves the log types core, clustered-core, disk and clustered-disk over
the netlink connector (CN_IDX_DM). Runs in the foreground, logs to
standard error, and stops on SIGTERM or SIGINT after flushing every
disk log. Needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for the kernel to accept
its replies).

Options:
  -c, --cluster   serve clustered-core and clustered-disk logs across the
                  nodes of the local corosync cluster (one CPG group per log);
                  without it they are served as local core and disk logs
  -v, --verbose   log every request
  -h, --help      print this text
  -V, --version   print the version

Exit status: 0 stopped by a signal, 1 fatal error, 2 usage error.
";

fn main() -> ExitCode {
    let mut verbose = false;
    let mut cluster = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-v" | "--verbose" => verbose = true,
            "-c" | "--cluster" => cluster = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("dm-logd {}", dm_logd::VERSION);
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("dm-logd: error: unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    logging::init("dm-logd", verbose);

    let missing = dm_logd::sys::missing_capabilities();
    if !missing.is_empty() {
        log_error!(
            "missing {} (uid {}): the kernel ignores log replies from unprivileged senders; run dm-logd as root",
            missing.join(" and "),
            dm_logd::sys::uid()
        );
        return ExitCode::from(1);
    }
    let signals = match SignalFd::new(&[libc::SIGTERM, libc::SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            log_error!("cannot set up signal handling: {}", errno::describe(&e));
            return ExitCode::from(1);
        }
    };
    let sock = match NetlinkSocket::open(true) {
        Ok(s) => s,
        Err(e) => {
            let hint = match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => {
                    " (joining the device-mapper connector group needs root / CAP_NET_ADMIN)"
                }
                Some(libc::EPROTONOSUPPORT) | Some(libc::EAFNOSUPPORT) => {
                    " (the kernel has no netlink connector: CONFIG_CONNECTOR)"
                }
                _ => "",
            };
            log_error!(
                "cannot open the netlink connector socket: {}{hint}",
                errno::describe(&e)
            );
            return ExitCode::from(1);
        }
    };
    log_info!(
        "dm-logd {} listening on netlink port {}",
        dm_logd::VERSION,
        sock.port()
    );
    log_info!("ready");
    // Listening now: requests sent from here on are served.
    if let Err(e) = dm_logd::notify::notify("READY=1") {
        log_warn!(
            "cannot tell the service manager we are ready: {}",
            errno::describe(&e)
        );
    }

    let mut server = if cluster {
        log_info!("cluster mode: clustered-* logs are served through corosync CPG");
        Server::with_cluster(Box::new(|name| {
            CpgGroup::join(name).map(|g| Box::new(g) as Box<dyn Transport>)
        }))
    } else {
        Server::new()
    };
    let result = runloop::run(&sock, &signals, &mut server, &mut Plain);
    let _ = dm_logd::notify::notify("STOPPING=1");
    let disk_logs = server.log_count();
    let failures = server.flush_all();
    drop(sock);
    match result {
        Ok(stats) => {
            log_info!(
                "exiting: served {} requests, {} logs open, {} final flush failures",
                stats.served,
                disk_logs,
                failures
            );
            if failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            log_error!("netlink socket failed: {}", errno::describe(&e));
            ExitCode::from(1)
        }
    }
}
