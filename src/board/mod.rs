//! The projector board: a read-only web page for the room's big screen, served by the same
//! poll loop as the students, on its own address (`--board-listen`).
//!
//! HTTP/1.1 requests are parsed with `httparse` (what hyper uses). Three things are served,
//! each with `Connection: close` but the stream:
//!
//! - `GET /`: the page ([`PAGE`]: HTML, CSS and a little JavaScript, embedded in the binary, no
//!   build step and nothing fetched from the internet);
//! - `GET /events`: Server-Sent Events, each `data:` line the board's state as JSON
//!   ([`crate::room::Room::board_state`]), sent when it changes, at most every
//!   [`BOARD_PUSH_EVERY`], with a comment line every [`BOARD_PING_EVERY`] so a viewer that
//!   went away is found;
//! - `GET /state.json`: the state once, for scripts.
//!
//! Like every door it is bounded: at most [`MAX_BOARD_VIEWERS`] viewers (one more gets `503`
//! and is closed), a request must arrive whole within [`BOARD_REQUEST_TIMEOUT`] and
//! [`MAX_BOARD_REQUEST_BYTES`], a viewer that does not read its stream past
//! [`BOARD_OUTPUT_CAP`] is dropped, and anything else gets a `4xx` and is closed. Each has a
//! counter (the console's `stats`) and a log line. Nothing a viewer sends reaches the room.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::limits::{
    BOARD_OUTPUT_CAP, BOARD_PING_EVERY, BOARD_PUSH_EVERY, BOARD_REQUEST_TIMEOUT,
    MAX_BOARD_REQUEST_BYTES, MAX_BOARD_VIEWERS,
};

/// The page, as embedded.
pub const PAGE: &str = include_str!("page.html");

/// Viewer tokens are this plus the viewer's slab key (student and console keys are small).
pub const BOARD_BASE: usize = usize::MAX / 2;

/// What the board counts, for `stats`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BoardStats {
    /// Viewers with the event stream open now, and most at once.
    pub watching: usize,
    pub peak: usize,
    /// Requests answered (page, stream, state).
    pub served: u64,
    /// Connections refused: every viewer slot taken.
    pub refused_full: u64,
    /// Requests refused with a 4xx (malformed, too large, too slow, not found, not GET).
    pub bad_requests: u64,
    /// Viewers dropped for not reading their stream.
    pub dropped_slow: u64,
    /// State updates sent (each to every viewer).
    pub pushes: u64,
}

#[derive(Debug, PartialEq, Eq)]
enum Stage {
    /// Reading the request, until the deadline.
    Request(Instant),
    /// The event stream.
    Events,
    /// A response to send whole, then close, by the deadline (a client that does not read
    /// it cannot keep its slot).
    Closing(Instant),
}

struct Viewer {
    stream: TcpStream,
    peer: SocketAddr,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Bytes of `output` already written.
    sent: usize,
    stage: Stage,
    writable_interest: bool,
}

/// The board's door and its viewers.
pub struct Board {
    listener: TcpListener,
    addr: SocketAddr,
    viewers: Slab<Viewer>,
    pub stats: BoardStats,
    /// The state last sent, and the version of the room it was made from.
    json: String,
    version: Option<u64>,
    last_push: Option<Instant>,
    next_sweep: Instant,
    next_ping: Instant,
    /// When `json` was made: a new viewer gets it fresh past a second (the countdown in it).
    json_at: Option<Instant>,
    /// How students join (`telnet HOST PORT`), shown in the lobby; set by the server.
    join: String,
}

/// A short response that closes the connection.
fn plain(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn ok(content_type: &str, body: &str, head: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'self'; style-src 'unsafe-inline'; \
         script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:\r\n\
         Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Page {
        head: bool,
    },
    Events,
    State {
        head: bool,
    },
    /// A response already made (an error).
    Refuse(&'static str, &'static str),
}

/// Reads a whole request head: `None` while it is incomplete.
fn route(input: &[u8]) -> Option<Route> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(input) {
        Ok(httparse::Status::Partial) => None,
        Err(httparse::Error::TooManyHeaders) => Some(Route::Refuse(
            "431 Request Header Fields Too Large",
            "error: too many header fields\n",
        )),
        Err(_) => Some(Route::Refuse(
            "400 Bad Request",
            "error: not an HTTP request this board understands\n",
        )),
        Ok(httparse::Status::Complete(_)) => {
            let method = request.method.unwrap_or("");
            let path = request.path.unwrap_or("");
            // The absolute form (`GET http://host/ HTTP/1.1`), as a proxy would send it.
            let path = match path.split_once("://") {
                Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
                None => path,
            };
            let path = path.split(['?', '#']).next().unwrap_or("");
            let head = method == "HEAD";
            if method != "GET" && !head {
                return Some(Route::Refuse(
                    "405 Method Not Allowed",
                    "error: the board is read-only: GET or HEAD only\n",
                ));
            }
            Some(match path {
                "/" | "/index.html" => Route::Page { head },
                "/events" if !head => Route::Events,
                "/state.json" => Route::State { head },
                _ => Route::Refuse("404 Not Found", "error: nothing here; the board is at /\n"),
            })
        }
    }
}

impl Board {
    /// The board on `listener` (bound by the caller, so a port in use is a start-up error),
    /// registered with `token`.
    pub fn new(
        mut listener: TcpListener,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> io::Result<Board> {
        registry.register(&mut listener, token, Interest::READABLE)?;
        let addr = listener.local_addr()?;
        Ok(Board {
            listener,
            addr,
            viewers: Slab::new(),
            stats: BoardStats::default(),
            json: String::new(),
            version: None,
            last_push: None,
            next_sweep: now + Duration::from_secs(1),
            next_ping: now + BOARD_PING_EVERY,
            json_at: None,
            join: String::new(),
        })
    }

    /// How students join, as the lobby shows it (`telnet labpc 9999`).
    pub fn set_join(&mut self, join: String) {
        self.join = join;
    }

    /// The room's state with the board's own part (how to join) added.
    fn stamp(&self, json: String) -> String {
        match json.strip_prefix('{') {
            Some(rest) if !self.join.is_empty() => format!(
                "{{\"join\":{},{rest}",
                serde_json::Value::from(self.join.as_str())
            ),
            _ => json,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Accepts every waiting viewer (one past the limit gets `503` and is closed).
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors or the like: the students' door matters more; try
                    // again at the next event.
                    log::debug!("board: accept failed: {e}");
                    return;
                }
            };
            if self.viewers.len() >= MAX_BOARD_VIEWERS {
                self.stats.refused_full += 1;
                if self.stats.refused_full.is_power_of_two() {
                    log::warn!(
                        "board: {MAX_BOARD_VIEWERS} viewers already; refused {peer} ({} so far)",
                        self.stats.refused_full
                    );
                }
                // Best effort, never waited for: the socket is closed right after.
                let _ = stream.write(&plain(
                    "503 Service Unavailable",
                    "error: the board has all the viewers it can take; close another and reload\n",
                ));
                continue;
            }
            let entry = self.viewers.vacant_entry();
            let key = entry.key();
            if let Err(e) =
                registry.register(&mut stream, Token(BOARD_BASE + key), Interest::READABLE)
            {
                log::debug!("board: cannot register {peer}: {e}");
                continue;
            }
            entry.insert(Viewer {
                stream,
                peer,
                input: Vec::new(),
                output: Vec::new(),
                sent: 0,
                stage: Stage::Request(now + BOARD_REQUEST_TIMEOUT),
                writable_interest: false,
            });
        }
    }

    /// A viewer's socket is ready. `state` makes the board's state as JSON, asked only when a
    /// viewer needs it and the room changed (`version`).
    pub fn on_event(
        &mut self,
        key: usize,
        readable: bool,
        registry: &Registry,
        version: u64,
        now: Instant,
        state: impl FnOnce() -> String,
    ) {
        let read = if readable { self.read(key) } else { Got::Open };
        let Some(viewer) = self.viewers.get(key) else {
            return;
        };
        match (&viewer.stage, read) {
            (_, Got::Broken) => return self.close(key, registry),
            (Stage::Request(_), read) => match route(&viewer.input) {
                // A whole request is answered even if the client then shut its side
                // (`printf ... | nc -N`).
                Some(route) => self.answer(key, route, version, now, state),
                None if viewer.input.len() >= MAX_BOARD_REQUEST_BYTES => self.refuse(
                    key,
                    "431 Request Header Fields Too Large",
                    "error: request too large\n",
                    now,
                ),
                None if read == Got::Ended => return self.close(key, registry),
                None => {}
            },
            // A stream's viewer has nothing to say: sending anything (or hanging up) ends it.
            (Stage::Events, Got::Sent | Got::Ended) => return self.close(key, registry),
            // A response on its way: what the client sends meanwhile is left unread.
            _ => {}
        }
        if !self.flush(key, registry) {
            self.close(key, registry);
        }
    }

    /// Reads what arrived, at most a request's worth: a request being read keeps its bytes;
    /// from a viewer past its request, any byte is news ([`Got::Sent`]).
    fn read(&mut self, key: usize) -> Got {
        let Some(viewer) = self.viewers.get_mut(key) else {
            return Got::Broken;
        };
        if matches!(viewer.stage, Stage::Closing(_)) {
            return Got::Open;
        }
        let mut chunk = [0u8; 2048];
        let mut sent = false;
        loop {
            match viewer.stream.read(&mut chunk) {
                Ok(0) => return Got::Ended,
                Ok(n) => {
                    if !matches!(viewer.stage, Stage::Request(_)) {
                        return Got::Sent;
                    }
                    sent = true;
                    let room = MAX_BOARD_REQUEST_BYTES.saturating_sub(viewer.input.len());
                    viewer.input.extend_from_slice(&chunk[..n.min(room)]);
                    if room <= n {
                        return Got::Sent;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return if sent { Got::Sent } else { Got::Open };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Got::Broken,
            }
        }
    }

    fn answer(
        &mut self,
        key: usize,
        route: Route,
        version: u64,
        now: Instant,
        state: impl FnOnce() -> String,
    ) {
        // Made again when the room changed, or past a second (its countdown would be stale).
        let fresh = |board: &mut Board| {
            let old = board
                .json_at
                .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
            if board.version != Some(version) || board.json.is_empty() || old {
                board.json = board.stamp(state());
                board.version = Some(version);
                board.json_at = Some(now);
            }
        };
        let Some(viewer) = self.viewers.get_mut(key) else {
            return;
        };
        match route {
            Route::Page { head } => {
                viewer.output = ok("text/html; charset=utf-8", PAGE, head);
                viewer.stage = Stage::Closing(now + BOARD_REQUEST_TIMEOUT);
            }
            Route::State { head } => {
                fresh(self);
                let Some(viewer) = self.viewers.get_mut(key) else {
                    return;
                };
                viewer.output = ok("application/json", &self.json, head);
                viewer.stage = Stage::Closing(now + BOARD_REQUEST_TIMEOUT);
            }
            Route::Events => {
                fresh(self);
                let Some(viewer) = self.viewers.get_mut(key) else {
                    return;
                };
                viewer.output = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                    Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n"
                    .to_vec();
                event(&mut viewer.output, &self.json);
                viewer.stage = Stage::Events;
                self.stats.watching += 1;
                self.stats.peak = self.stats.peak.max(self.stats.watching);
            }
            Route::Refuse(status, body) => return self.refuse(key, status, body, now),
        }
        self.stats.served += 1;
        if let Some(viewer) = self.viewers.get_mut(key) {
            viewer.input = Vec::new();
        }
    }

    fn refuse(&mut self, key: usize, status: &str, body: &str, now: Instant) {
        self.stats.bad_requests += 1;
        let Some(viewer) = self.viewers.get_mut(key) else {
            return;
        };
        if self.stats.bad_requests.is_power_of_two() {
            log::info!(
                "board: {} gets {status} ({} so far)",
                viewer.peer,
                self.stats.bad_requests
            );
        }
        viewer.output = plain(status, body);
        viewer.sent = 0;
        viewer.input = Vec::new();
        viewer.stage = Stage::Closing(now + BOARD_REQUEST_TIMEOUT);
    }

    /// Writes what waits; false when the viewer is done (its response sent) or broken.
    fn flush(&mut self, key: usize, registry: &Registry) -> bool {
        let Some(viewer) = self.viewers.get_mut(key) else {
            return true;
        };
        while viewer.sent < viewer.output.len() {
            match viewer.stream.write(&viewer.output[viewer.sent..]) {
                Ok(0) => return false,
                Ok(n) => viewer.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        if viewer.sent == viewer.output.len() {
            viewer.output.clear();
            viewer.sent = 0;
            if matches!(viewer.stage, Stage::Closing(_)) {
                return false;
            }
        } else if viewer.sent > BOARD_OUTPUT_CAP / 2 {
            viewer.output.drain(..viewer.sent);
            viewer.sent = 0;
        }
        let want = !viewer.output.is_empty();
        if want != viewer.writable_interest {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut viewer.stream, Token(BOARD_BASE + key), interest)
                .is_err()
            {
                return false;
            }
            viewer.writable_interest = want;
        }
        true
    }

    fn close(&mut self, key: usize, registry: &Registry) {
        if let Some(mut viewer) = self.viewers.try_remove(key) {
            if viewer.stage == Stage::Events {
                self.stats.watching = self.stats.watching.saturating_sub(1);
            }
            let _ = registry.deregister(&mut viewer.stream);
        }
    }

    /// Whether the board wants a state to push (viewers are streaming and the room changed).
    pub fn wants(&self, version: u64) -> bool {
        self.stats.watching > 0 && self.version != Some(version)
    }

    /// When the loop must come back for the board: the next push of a change, the next sweep
    /// of slow requests and pings.
    pub fn next_deadline(&self, version: u64) -> Option<Instant> {
        let push = self.wants(version).then(|| {
            self.last_push
                .map_or(self.next_sweep, |at| at + BOARD_PUSH_EVERY)
        });
        let sweep = (!self.viewers.is_empty()).then_some(self.next_sweep);
        push.into_iter().chain(sweep).min()
    }

    /// End of a loop turn: pushes the state if it changed (at most every
    /// [`BOARD_PUSH_EVERY`]); once a second, closes requests past their deadline and pings the
    /// streams.
    pub fn tick(
        &mut self,
        now: Instant,
        registry: &Registry,
        version: u64,
        state: impl FnOnce() -> String,
    ) {
        let due = self.last_push.is_none_or(|at| now >= at + BOARD_PUSH_EVERY);
        if self.wants(version) && due {
            self.json = self.stamp(state());
            self.version = Some(version);
            self.json_at = Some(now);
            self.last_push = Some(now);
            self.stats.pushes += 1;
            self.broadcast(registry, event);
        }
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + Duration::from_secs(1);
        let late: Vec<usize> = self
            .viewers
            .iter()
            .filter(|(_, v)| matches!(v.stage, Stage::Request(at) if now >= at))
            .map(|(k, _)| k)
            .collect();
        for key in late {
            self.refuse(
                key,
                "408 Request Timeout",
                "error: the request did not arrive in time\n",
                now,
            );
            if !self.flush(key, registry) {
                self.close(key, registry);
            }
        }
        // A response its client never read: the slot goes back.
        let unread: Vec<usize> = self
            .viewers
            .iter()
            .filter(|(_, v)| matches!(v.stage, Stage::Closing(at) if now >= at))
            .map(|(k, _)| k)
            .collect();
        for key in unread {
            self.close(key, registry);
        }
        if now >= self.next_ping {
            self.next_ping = now + BOARD_PING_EVERY;
            self.broadcast(registry, |out, _| out.extend_from_slice(b": ping\n\n"));
        }
    }

    /// Appends to every stream and writes what it can; a viewer over [`BOARD_OUTPUT_CAP`] is
    /// dropped.
    fn broadcast(&mut self, registry: &Registry, add: impl Fn(&mut Vec<u8>, &str)) {
        let keys: Vec<usize> = self
            .viewers
            .iter()
            .filter(|(_, v)| v.stage == Stage::Events)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            let Some(viewer) = self.viewers.get_mut(key) else {
                continue;
            };
            add(&mut viewer.output, &self.json);
            if viewer.output.len() - viewer.sent > BOARD_OUTPUT_CAP {
                self.stats.dropped_slow += 1;
                if self.stats.dropped_slow.is_power_of_two() {
                    log::warn!(
                        "board: {} does not read its updates (over {} KiB waiting): dropped ({} so far)",
                        viewer.peer,
                        BOARD_OUTPUT_CAP >> 10,
                        self.stats.dropped_slow
                    );
                }
                self.close(key, registry);
                continue;
            }
            if !self.flush(key, registry) {
                self.close(key, registry);
            }
        }
    }

    /// Closes every viewer (the server stops): each page shows that the server is gone.
    pub fn close_all(&mut self, registry: &Registry) {
        let keys: Vec<usize> = self.viewers.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.close(key, registry);
        }
    }
}

/// What reading a viewer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    /// Nothing new.
    Open,
    /// Bytes arrived.
    Sent,
    /// The client shut its side.
    Ended,
    Broken,
}

/// One Server-Sent Event: `data: JSON` and a blank line (the JSON holds no line break).
fn event(out: &mut Vec<u8>, json: &str) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_routed_and_anything_else_is_refused_with_a_4xx() {
        assert_eq!(
            route(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(Route::Page { head: false })
        );
        assert_eq!(
            route(b"HEAD /?x=1 HTTP/1.0\r\n\r\n"),
            Some(Route::Page { head: true })
        );
        assert_eq!(
            route(b"GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n"),
            Some(Route::Events)
        );
        assert_eq!(
            route(b"GET /state.json HTTP/1.1\r\n\r\n"),
            Some(Route::State { head: false })
        );
        assert_eq!(
            route(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            None,
            "not whole yet"
        );
        let status = |r: Option<Route>| match r {
            Some(Route::Refuse(status, _)) => status,
            other => panic!("refused: {other:?}"),
        };
        assert!(status(route(b"POST / HTTP/1.1\r\n\r\n")).starts_with("405"));
        assert!(status(route(b"GET /../etc/passwd HTTP/1.1\r\n\r\n")).starts_with("404"));
        assert!(status(route(b"\x16\x03\x01\x02\x00 tls hello\r\n\r\n")).starts_with("400"));
        assert!(status(route(b"GET / HTTP/9.9\r\n\r\n")).starts_with("400"));
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        assert!(
            status(route(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes())).starts_with("431")
        );
    }

    /// A viewer that opens the stream and never reads it is dropped once its unread updates
    /// pass [`BOARD_OUTPUT_CAP`], counted, while a reading one stays.
    #[test]
    fn a_viewer_that_does_not_read_its_stream_is_dropped_past_the_cap() {
        let poll = mio::Poll::new().expect("poll");
        let listener =
            crate::server::bind_listener("127.0.0.1:0", Some(crate::limits::BOARD_BUFFERS))
                .expect("bind");
        let now = Instant::now();
        let mut board =
            Board::new(listener, poll.registry(), Token(usize::MAX), now).expect("board");
        let mut sleeper = std::net::TcpStream::connect(board.addr()).expect("connect");
        sleeper
            .write_all(b"GET /events HTTP/1.1\r\n\r\n")
            .expect("request");
        board.accept(poll.registry(), now);
        assert_eq!(board.viewers.len(), 1);
        // Its request: read as a readiness event would have it read.
        let mut at = now;
        for _ in 0..100_000 {
            if board.stats.watching > 0 {
                break;
            }
            board.on_event(0, true, poll.registry(), 0, at, || "{}".to_string());
            at += Duration::from_millis(1);
        }
        assert_eq!(board.stats.watching, 1, "the stream opened");
        // Updates of 100 KB each, every push interval, never read.
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000));
        for version in 1..40u64 {
            at += BOARD_PUSH_EVERY;
            board.tick(at, poll.registry(), version, || big.clone());
            if board.stats.dropped_slow > 0 {
                break;
            }
        }
        assert_eq!(board.stats.dropped_slow, 1);
        assert_eq!((board.viewers.len(), board.stats.watching), (0, 0));
        drop(sleeper);
    }

    #[test]
    fn the_page_is_self_contained() {
        assert!(PAGE.contains("new EventSource(\"/events\")"));
        for outside in ["http://", "https://", "//cdn", "<link"] {
            assert!(
                !PAGE.contains(outside),
                "the page fetches nothing from outside: {outside}"
            );
        }
    }
}
