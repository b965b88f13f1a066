// SPDX-License-Identifier: GPL-2.0

//! `dm-ulog-tool`: a hostile peer for testing the kernel side of the
//! `userspace` dirty log. It sends garbage on the device-mapper log
//! connector, or serves logs correctly while injecting malformed replies.
//! Its message builders ([`hostile`]) and random numbers ([`rng`]) are its
//! own: none of it is in the daemon's library.

#![deny(unsafe_code)]

mod hostile;
mod rng;

use hostile::{Injector, Mode, MODES};
use rng::Rng;

use std::io::Write;
use std::process::ExitCode;

use dm_logd::runloop;
use dm_logd::server::Server;
use dm_logd::sys::{NetlinkSocket, SignalFd};
use dm_logd::{errno, logging};

const USAGE: &str = "\
Usage: dm-ulog-tool garbage [--count N] [--seed S]
       dm-ulog-tool serve --mode MODE [--count N] [--seed S] [-v]
       dm-ulog-tool unprivileged-send [--seed S]
       dm-ulog-tool --help

Test tool for the kernel side of device-mapper's `userspace` dirty log
(connector CN_IDX_DM = 7, CN_VAL_DM_USERSPACE_LOG = 1).

  garbage            send N (default 200) hostile messages to the kernel
                     without waiting for requests: random bytes, cn_msg.len 0,
                     truncated headers, version 2, data_size larger than the
                     message, data_size 100000, random seqs. Any user.
  serve              serve every log request correctly (the dm-logd code),
                     but first send a hostile message for each request (or
                     the first N). Needs root. Runs until SIGTERM/SIGINT.
                     MODE: none, truncated, bad-version, short-data, too-big,
                     unknown-seq, flood.
  unprivileged-send  send 10 truncated 20-byte payloads; meant for a
                     non-root user (the kernel must ignore them).

Each prints a one-line summary on standard output and exits 0 on success,
1 on a fatal error, 2 on a usage error.
";

struct Args {
    count: Option<u64>,
    seed: Option<u64>,
    mode: Option<Mode>,
    verbose: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        count: None,
        seed: None,
        mode: None,
        verbose: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--count" => {
                let v = value("--count")?;
                out.count = Some(v.parse().map_err(|_| format!("bad --count {v:?}"))?);
            }
            "--seed" => {
                let v = value("--seed")?;
                out.seed = Some(v.parse().map_err(|_| format!("bad --seed {v:?}"))?);
            }
            "--mode" => {
                let v = value("--mode")?;
                out.mode = Some(Mode::parse(&v).ok_or_else(|| {
                    let names: Vec<&str> = MODES.iter().map(|(n, _)| *n).collect();
                    format!("unknown mode {v:?} (one of {})", names.join(", "))
                })?);
            }
            "-v" | "--verbose" => out.verbose = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

fn open_sender() -> Result<NetlinkSocket, ExitCode> {
    hostile::open_sender().map_err(|e| {
        eprintln!(
            "dm-ulog-tool: error: cannot open a netlink connector socket: {}",
            errno::describe(&e)
        );
        ExitCode::from(1)
    })
}

fn summary(what: &str, total: usize, s: &hostile::SendStats) -> String {
    let mut line = format!(
        "dm-ulog-tool: {what}: {total} messages, {} sent, {} refused (EPERM), {} failed",
        s.sent, s.refused, s.failed
    );
    if let Some(e) = s.first_error {
        line.push_str(&format!(" (first error {})", errno::name(e)));
    }
    line
}

fn garbage(a: &Args) -> ExitCode {
    let sock = match open_sender() {
        Ok(s) => s,
        Err(c) => return c,
    };
    let seed = a.seed.unwrap_or_else(Rng::time_seed);
    let count = a.count.unwrap_or(200) as usize;
    let msgs = hostile::garbage_messages(count, seed, sock.port());
    let s = hostile::send_all(&sock, &msgs);
    println!("{} (seed {seed})", summary("garbage", count, &s));
    ExitCode::SUCCESS
}

fn unprivileged(a: &Args) -> ExitCode {
    let sock = match open_sender() {
        Ok(s) => s,
        Err(c) => return c,
    };
    let msgs =
        hostile::unprivileged_messages(10, a.seed.unwrap_or_else(Rng::time_seed), sock.port());
    let s = hostile::send_all(&sock, &msgs);
    println!(
        "dm-ulog-tool: unprivileged-send: {} of 10 sends succeeded ({} refused, {} failed; uid {})",
        s.sent,
        s.refused,
        s.failed,
        dm_logd::sys::uid()
    );
    ExitCode::SUCCESS
}

fn serve(a: &Args) -> ExitCode {
    let Some(mode) = a.mode else {
        eprintln!("dm-ulog-tool: error: serve needs --mode\n\n{USAGE}");
        return ExitCode::from(2);
    };
    logging::init("dm-ulog-tool", a.verbose);
    let signals = match SignalFd::new(&[libc::SIGTERM, libc::SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dm-ulog-tool: error: signalfd: {}", errno::describe(&e));
            return ExitCode::from(1);
        }
    };
    let sock = match NetlinkSocket::open(true) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "dm-ulog-tool: error: cannot join the device-mapper connector group: {} (needs root)",
                errno::describe(&e)
            );
            return ExitCode::from(1);
        }
    };
    let missing = dm_logd::sys::missing_capabilities();
    if !missing.is_empty() {
        dm_logd::log_warn!(
            "missing {}: the kernel will ignore every reply (serving anyway)",
            missing.join(" and ")
        );
    }
    let mut inj = Injector::new(mode, a.count, a.seed.unwrap_or_else(Rng::time_seed));
    println!("dm-ulog-tool: serving (mode {})", mode.name());
    let _ = std::io::stdout().flush();
    let mut server = Server::new();
    let r = runloop::run(&sock, &signals, &mut server, &mut inj);
    server.flush_all();
    match r {
        Ok(stats) => {
            println!(
                "dm-ulog-tool: served {} requests, sent {} hostile messages ({} refused), mode {}",
                stats.served,
                inj.sent,
                inj.refused,
                mode.name()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "dm-ulog-tool: error: netlink socket: {}",
                errno::describe(&e)
            );
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    if cmd == "-h" || cmd == "--help" {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&argv[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("dm-ulog-tool: error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    logging::init("dm-ulog-tool", args.verbose);
    match cmd.as_str() {
        "garbage" => garbage(&args),
        "serve" => serve(&args),
        "unprivileged-send" => unprivileged(&args),
        other => {
            eprintln!("dm-ulog-tool: error: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
