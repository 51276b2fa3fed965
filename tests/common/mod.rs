//! Shared test helpers: a real server on its own thread on `127.0.0.1:0`, a line client that
//! waits for anchors (never for a fixed time), and throwaway directories.
#![allow(dead_code)]

pub mod binary;
pub mod cdp;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use quizd::bank::{Bank, Kind, Question};
use quizd::quiz::{Quiz, Settings};
use quizd::{Config, Handle, Server};

/// The console token of [`TestServer::with_console`].
pub const TOKEN: &str = "sesame-42";

/// How long a client waits for an anchor before the test fails (a safety net, not a timer
/// the test relies on).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("quizd-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Question `i` of a test bank: four options, the right one always the bank's second.
fn question(file: &std::sync::Arc<str>, i: u32, text: String) -> Question {
    Question::new(
        text,
        Kind::choice(
            vec![
                format!("wrong {i}"),
                format!("right {i}"),
                format!("other {i}"),
                format!("last {i}"),
            ],
            1,
        ),
        file,
        i,
    )
}

/// Three questions whose right answer is always b) when not shuffled.
pub fn three_questions() -> Bank {
    let file: std::sync::Arc<str> = std::sync::Arc::from("three.txt");
    Bank {
        title: "three".into(),
        questions: [
            "Which call binds a socket to a local address?",
            "What does read() returning 0 mean on a TCP socket?",
            "Which layer does TCP belong to?",
        ]
        .into_iter()
        .zip(1..)
        .map(|(text, i)| question(&file, i, text.to_string()))
        .collect(),
        ..Default::default()
    }
}

/// `n` questions with four options each, the right one always the bank's second.
pub fn numbered_questions(n: u32) -> Bank {
    let file: std::sync::Arc<str> = std::sync::Arc::from("numbered.txt");
    Bank {
        title: "numbered".into(),
        questions: (1..=n)
            .map(|i| {
                question(
                    &file,
                    i,
                    format!("Question number {i}: which option is right?"),
                )
            })
            .collect(),
        ..Default::default()
    }
}

/// Settings for transcripts: file order, 30 s per question.
pub fn in_order() -> Settings {
    Settings {
        shuffle: false,
        ..Settings::default()
    }
}

/// A quizd server on its own thread; stopped (and joined) on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The teacher console, when the test turned it on.
    pub admin: Option<SocketAddr>,
    pub results: PathBuf,
    handle: Handle,
    thread: Option<JoinHandle<io::Result<quizd::server::Stopped>>>,
    _dir: TempDir,
}

impl TestServer {
    pub fn start(settings: Settings) -> TestServer {
        Self::start_with(three_questions(), settings, |_| {})
    }

    pub fn start_with(
        bank: Bank,
        settings: Settings,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        Self::start_hooked(bank, settings, tweak, || {})
    }

    /// As [`TestServer::start_with`], and `on_thread` runs on the server's thread just before
    /// the loop starts (to mark that thread, e.g. for counting its allocations).
    pub fn start_hooked(
        bank: Bank,
        settings: Settings,
        tweak: impl FnOnce(&mut Config),
        on_thread: impl FnOnce() + Send + 'static,
    ) -> TestServer {
        let dir = TempDir::new("server");
        let results = dir.path().join("results.csv");
        let mut config = Config::new("127.0.0.1:0", Quiz::new(bank, settings), &results);
        tweak(&mut config);
        let server = Server::bind(config).expect("server binds to 127.0.0.1:0");
        let addr = server.local_addr();
        let admin = server.admin_addr();
        let handle = server.handle();
        let thread = std::thread::spawn(move || {
            on_thread();
            server.run()
        });
        TestServer {
            addr,
            admin,
            results,
            handle,
            thread: Some(thread),
            _dir: dir,
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// A teacher console, token typed and accepted (servers from [`TestServer::with_console`]).
    pub fn teacher(&self) -> Client {
        let mut t = Client::connect(self.admin.expect("the console is on"));
        t.expect("token> ");
        t.send(TOKEN);
        t.expect("admin> ");
        t
    }

    /// A server with its teacher console on `127.0.0.1:0`, token [`TOKEN`].
    pub fn with_console(bank: Bank, settings: Settings) -> TestServer {
        Self::start_with(bank, settings, |config| {
            config.admin_listen = Some("127.0.0.1:0".into());
            config.admin_token = TOKEN.into();
        })
    }

    /// Stops the server as SIGTERM would and waits for it to finish; returns the results file.
    pub fn stop(&mut self) -> String {
        self.handle.stop();
        if let Some(thread) = self.thread.take() {
            let stopped = thread.join().expect("server thread panicked");
            assert_eq!(
                stopped.expect("server loop failed"),
                quizd::server::Stopped::Clean
            );
        }
        std::fs::read_to_string(&self.results).unwrap_or_default()
    }

    /// The results rows (header excluded), after stopping the server.
    pub fn stop_and_rows(&mut self) -> Vec<Vec<String>> {
        let text = self.stop();
        csv_rows(&text)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.handle.stop();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// Parses quizd's CSV (quoted fields with doubled quotes); skips the header.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

/// A student at a terminal: sends lines, waits for text to appear.
pub struct Client {
    pub stream: TcpStream,
    /// Everything received and not yet consumed by an `expect`.
    pub buf: Vec<u8>,
    /// Everything received since connecting.
    pub log: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to the test server");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("set read timeout");
        Client {
            stream,
            buf: Vec::new(),
            log: Vec::new(),
        }
    }

    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to server");
    }

    /// Reads more; false at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.log.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!(
                "waiting for server output failed ({e}); got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Waits until `needle` has arrived; returns the text up to and including it and consumes
    /// it.
    pub fn expect(&mut self, needle: &str) -> String {
        String::from_utf8_lossy(&self.expect_bytes(needle.as_bytes())).into_owned()
    }

    pub fn expect_bytes(&mut self, needle: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = find(&self.buf, needle) {
                let end = at + needle.len();
                return self.buf.drain(..end).collect();
            }
            if !self.fill() {
                panic!(
                    "connection closed before {:?} arrived; got: {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Waits for a whole line starting with `prefix`; returns that line (without CR LF) as a
    /// terminal shows it: from its last lone CR on (the telnet opening before the greeting
    /// ends in one, for the screens of clients that do not speak telnet).
    pub fn expect_line(&mut self, prefix: &str) -> String {
        loop {
            let text = self.expect("\r\n");
            let line = text.rsplit("\r\n").nth(1).unwrap_or_default();
            let line = line.rsplit('\r').next().unwrap_or_default();
            if line.starts_with(prefix) {
                return line.to_string();
            }
        }
    }

    /// Reads to end of stream; returns everything not yet consumed.
    pub fn read_to_end(&mut self) -> String {
        while self.fill() {}
        let rest = std::mem::take(&mut self.buf);
        String::from_utf8_lossy(&rest).into_owned()
    }

    /// Gives a name and waits for the first question.
    pub fn join(&mut self, name: &str) {
        self.expect("name> ");
        self.send(name);
        self.expect("answer> ");
    }

    /// Waits until the server has let go of `name` (its holder's close was processed), by
    /// asking for it until it is given, or refused as having taken the quiz (its attempt was
    /// recorded); then leaves.
    pub fn wait_until_name_is_free(addr: SocketAddr, name: &str) {
        let mut c = Client::connect(addr);
        c.expect("name> ");
        loop {
            c.send(name);
            let reply = c.expect("\r\n");
            if reply.starts_with("Hello") {
                c.send("/quit");
                c.read_to_end();
                return;
            }
            if reply.contains("attempt allowed") {
                // Its attempt was recorded: the server let go of it.
                return;
            }
            if reply.contains("has a quiz in progress") {
                // Not free yet: decline to resume, back to the name prompt.
                c.expect("code> ");
                c.send("");
            }
            c.expect("name> ");
        }
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
