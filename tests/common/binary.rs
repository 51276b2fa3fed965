//! The built `quizd` binary, started the way a teacher starts it, for end-to-end tests: its
//! address read from its `listening on` log line (a thread reads stderr and hands the lines
//! over a channel), its exit awaited, and killed when its guard drops.

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::PATIENCE;

/// Columns of a results row.
pub const NAME: usize = 1;
pub const SCORE: usize = 4;
pub const MAX: usize = 5;
pub const ANSWERS: usize = 8;
pub const STATUS: usize = 9;
pub const ATTEMPT: usize = 10;
pub const POINTS: usize = 11;

/// A small good bank; with `--no-shuffle` the right letters are b, c, a.
pub const BANK: &str = "\
Which call binds a socket to a local address?
A) connect()
B) bind()
C) listen()
D) accept()
ANSWER: B

What does read() returning 0 mean on a TCP socket?
A) No data has arrived yet
B) An error happened
C) The peer closed its sending side
ANSWER: C

Which layer does TCP belong to?
A) Transport
B) Network
ANSWER: A
";

/// A temporary path as an argument.
pub fn text(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A running (or finished) quizd; killed on drop unless it has exited.
pub struct Quizd {
    pub child: Child,
    /// stderr lines as they arrive; disconnected once quizd has exited (closed stderr).
    pub stderr: Receiver<String>,
    /// Every stderr line received so far, for assertions and failure messages.
    pub log: Vec<String>,
    stdout: Option<JoinHandle<String>>,
    exited: Option<ExitStatus>,
}

impl Quizd {
    /// The command a user would type; logging at quizd's default level, whatever the
    /// environment of the test run says.
    pub fn command(args: &[&str]) -> Command {
        // QUIZD_BIN runs the tests against another build (an older one, to see a test fail).
        let binary =
            std::env::var("QUIZD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_quizd").into());
        let mut cmd = Command::new(binary);
        cmd.args(args);
        // Tests run in parallel: each console on a port of its own, unless the test says.
        if !args.contains(&"--admin-listen") {
            cmd.args(["--admin-listen", "127.0.0.1:0"]);
        }
        if !args.contains(&"--board-listen") {
            cmd.args(["--board-listen", "127.0.0.1:0"]);
        }
        cmd.env_remove("QUIZD_ADMIN_TOKEN")
            .env("RUST_LOG", "info")
            .env("RUST_LOG_STYLE", "never")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn start(args: &[&str]) -> Quizd {
        Quizd::spawn(Quizd::command(args))
    }

    pub fn spawn(mut cmd: Command) -> Quizd {
        let mut child = cmd.spawn().expect("start the quizd binary");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\r', '\n']).to_string();
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut out = child.stdout.take().expect("stdout is piped");
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        Quizd {
            child,
            stderr: rx,
            log: Vec::new(),
            stdout: Some(stdout),
            exited: None,
        }
    }

    /// Runs to completion (`--check`, start-up failures): exit status, stdout, stderr lines.
    pub fn run(args: &[&str]) -> (ExitStatus, String, Vec<String>) {
        let mut q = Quizd::start(args);
        let status = q.wait_exit(PATIENCE);
        let stdout = q.stdout();
        (status, stdout, q.log.clone())
    }

    /// Starts quizd on `bank` as a teacher would, expecting it to refuse: exit status 1 and
    /// never a "listening on" line. Returns stderr's lines.
    pub fn refuses_to_start(results: &Path, bank: &Path) -> Vec<String> {
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--results",
            text(results),
            text(bank),
        ];
        let (status, _, log) = Quizd::run(&args);
        assert_eq!(status.code(), Some(1), "stderr: {log:#?}");
        assert!(
            !log.iter().any(|l| l.contains("listening on")),
            "it must not serve: {log:#?}"
        );
        log
    }

    /// Starts a server on a free port; returns it and the address it really listens on.
    pub fn serve(args: &[&str]) -> (Quizd, SocketAddr) {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut q = Quizd::start(&all);
        let addr = q.listening();
        (q, addr)
    }

    /// The address in the first log line holding `what` (`teacher console on `, `board on
    /// http://`), waited for.
    pub fn address_after(&mut self, what: &str) -> SocketAddr {
        let line = self.wait_for(what, |l| l.contains(what));
        let rest = &line[line.find(what).expect("just matched") + what.len()..];
        let addr = rest
            .trim_start_matches("http://")
            .split(['/', ' '])
            .next()
            .unwrap_or(rest);
        addr.parse()
            .unwrap_or_else(|e| panic!("bad address {addr:?} in {line:?}: {e}"))
    }

    /// The teacher console (started with `--admin-token TOKEN`), past the token, at `admin> `.
    pub fn teacher(&mut self) -> super::Client {
        let mut teacher = super::Client::connect(self.address_after("teacher console on "));
        teacher.expect("token> ");
        teacher.send(super::TOKEN);
        teacher.expect("admin> ");
        teacher
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line that satisfies `pred`; returns it.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self
                .stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    self.log.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no {what} on quizd's stderr within {PATIENCE:?}; got:\n{}",
                    self.log.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "quizd exited before {what}; stderr:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits for `listening on 127.0.0.1:PORT (...)`; returns the address.
    pub fn listening(&mut self) -> SocketAddr {
        let line = self.wait_for("`listening on` line", |l| l.contains("listening on "));
        let rest = &line[line.find("listening on ").expect("just matched") + 13..];
        let addr = rest.split(" (").next().unwrap_or(rest);
        addr.parse()
            .unwrap_or_else(|e| panic!("bad address {addr:?} in {line:?}: {e}"))
    }

    /// Sends SIGTERM, as `kill PID` or a service manager does.
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid fits pid_t");
        // SAFETY: kill takes no pointers; the child is not reaped yet, so the pid is still ours.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill: {}", io::Error::last_os_error());
    }

    /// Waits for quizd to exit (its stderr closes), at most `limit`; returns the status.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            match self
                .stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "quizd did not exit within {limit:?}; stderr:\n{}",
                    self.log.join("\n")
                ),
            }
        }
        let status = self.child.wait().expect("wait for quizd");
        self.exited = Some(status);
        status
    }

    /// Everything quizd printed on stdout (after it exited).
    pub fn stdout(&mut self) -> String {
        self.stdout
            .take()
            .map(|t| t.join().expect("stdout reader"))
            .unwrap_or_default()
    }

    /// Log lines holding `needle` so far.
    pub fn logged(&self, needle: &str) -> usize {
        self.log.iter().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for Quizd {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
