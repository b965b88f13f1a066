// SPDX-License-Identifier: GPL-2.0

//! `dm-ulog-tool`: a hostile peer for testing the kernel side of the
//! `userspace` dirty log. It sends garbage on the device-mapper log
//! connector, serves logs correctly while injecting malformed replies, or
//! fuzzes the connector while serving. Its message builders ([`hostile`],
//! [`fuzz`]) and random numbers ([`rng`]) are its own: none of it is in the
//! daemon's library.

#![deny(unsafe_code)]

mod fuzz;
mod hostile;
mod rng;

use fuzz::Fuzzer;
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
       dm-ulog-tool fuzz [--messages N] [--per-request K] [--replace-every R]
                         [--seed S] [-v]
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
  fuzz               serve every log request correctly, but first send 0 to
                     2K fuzzed messages (K: default 16), until N (default 100000)
                     are sent; then serve plainly. Each is random bytes, a
                     random payload, a lying length, the correct reply near
                     the live seq broken in one field with random bit flips,
                     a non-errno acknowledgement, or a well-formed reply to
                     a seq no request holds: all must be dropped, so the
                     mirror must work as with a plain server. With
                     --replace-every R, about one correct reply in R (never
                     the constructor's) is replaced by a well-formed one
                     with a random error or hostile data, for as long as it
                     serves. Prints its seed
                     first, a line when N are sent, a summary on exit.
                     Needs root. Runs until SIGTERM/SIGINT.
  unprivileged-send  send 10 truncated 20-byte payloads; meant for a
                     non-root user (the kernel must ignore them).

Each prints a one-line summary on standard output and exits 0 on success,
1 on a fatal error, 2 on a usage error.
";

struct Args {
    count: Option<u64>,
    messages: Option<u64>,
    per_request: Option<u32>,
    replace_every: Option<u64>,
    seed: Option<u64>,
    mode: Option<Mode>,
    verbose: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        count: None,
        messages: None,
        per_request: None,
        replace_every: None,
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
            "--messages" => {
                let v = value("--messages")?;
                out.messages = Some(v.parse().map_err(|_| format!("bad --messages {v:?}"))?);
            }
            "--per-request" => {
                let v = value("--per-request")?;
                out.per_request = Some(v.parse().map_err(|_| format!("bad --per-request {v:?}"))?);
            }
            "--replace-every" => {
                let v = value("--replace-every")?;
                out.replace_every = Some(
                    v.parse()
                        .map_err(|_| format!("bad --replace-every {v:?}"))?,
                );
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

/// The signalfd and the connector socket of a serving command.
fn open_server(verbose: bool) -> Result<(SignalFd, NetlinkSocket), ExitCode> {
    logging::init("dm-ulog-tool", verbose);
    let signals = SignalFd::new(&[libc::SIGTERM, libc::SIGINT]).map_err(|e| {
        eprintln!("dm-ulog-tool: error: signalfd: {}", errno::describe(&e));
        ExitCode::from(1)
    })?;
    let sock = NetlinkSocket::open(true).map_err(|e| {
        eprintln!(
            "dm-ulog-tool: error: cannot join the device-mapper connector group: {} (needs root)",
            errno::describe(&e)
        );
        ExitCode::from(1)
    })?;
    let missing = dm_logd::sys::missing_capabilities();
    if !missing.is_empty() {
        dm_logd::log_warn!(
            "missing {}: the kernel will ignore every reply (serving anyway)",
            missing.join(" and ")
        );
    }
    Ok((signals, sock))
}

/// Serves until a signal with `hook` in the loop; `Err` on a socket error.
fn run_server(
    signals: &SignalFd,
    sock: &NetlinkSocket,
    hook: &mut dyn runloop::BeforeReply,
) -> Result<runloop::LoopStats, ExitCode> {
    let mut server = Server::new();
    let r = runloop::run(sock, signals, &mut server, hook);
    server.flush_all();
    r.map_err(|e| {
        eprintln!(
            "dm-ulog-tool: error: netlink socket: {}",
            errno::describe(&e)
        );
        ExitCode::from(1)
    })
}

fn serve(a: &Args) -> ExitCode {
    let Some(mode) = a.mode else {
        eprintln!("dm-ulog-tool: error: serve needs --mode\n\n{USAGE}");
        return ExitCode::from(2);
    };
    let (signals, sock) = match open_server(a.verbose) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let mut inj = Injector::new(mode, a.count, a.seed.unwrap_or_else(Rng::time_seed));
    println!("dm-ulog-tool: serving (mode {})", mode.name());
    let _ = std::io::stdout().flush();
    match run_server(&signals, &sock, &mut inj) {
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
        Err(c) => c,
    }
}

fn fuzz(a: &Args) -> ExitCode {
    let (signals, sock) = match open_server(a.verbose) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let seed = a.seed.unwrap_or_else(Rng::time_seed);
    let budget = a.messages.unwrap_or(100_000);
    let per_request = a.per_request.unwrap_or(16);
    let replace_every = a.replace_every.unwrap_or(0);
    let mut fuzzer = Fuzzer::new(seed, budget, per_request, replace_every);
    println!(
        "dm-ulog-tool: fuzzing (seed {seed}): {budget} messages, {per_request} before each reply on average, {}",
        match replace_every {
            0 => "no reply replaced".to_string(),
            r => format!("about one reply in {r} replaced"),
        }
    );
    let _ = std::io::stdout().flush();
    match run_server(&signals, &sock, &mut fuzzer) {
        Ok(stats) => {
            let f = &fuzzer.stats;
            println!(
                "dm-ulog-tool: fuzz (seed {seed}): served {} requests, sent {} fuzzed messages ({}), \
                 {} refused, {} replies replaced",
                stats.served,
                f.total(),
                f.by_kind(),
                f.refused,
                f.replaced
            );
            ExitCode::SUCCESS
        }
        Err(c) => c,
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
        "fuzz" => fuzz(&args),
        "unprivileged-send" => unprivileged(&args),
        other => {
            eprintln!("dm-ulog-tool: error: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
