//! A real browser for the board's tests: Debian's Chromium, headless, driven over the Chrome
//! DevTools Protocol (a WebSocket) with the few calls the tests need: open a page, wait in the
//! page for a condition, read the DOM, take a screenshot. No browser download, no Node: the
//! WebSocket client is the few lines the protocol needs (RFC 6455 frames, client-masked).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::PATIENCE;

/// Where Chromium is, if it is installed (`.ci/run` installs Debian's).
pub fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

pub struct Browser {
    child: Child,
    ws: TcpStream,
    next_id: u64,
    _profile: super::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to DevTools");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n")
        .map_or(out.clone(), |(_, b)| b.to_string())
}

impl Browser {
    /// Starts Chromium headless with a 1280x720 window (a projector), on an empty page.
    pub fn start(binary: &Path) -> Browser {
        let profile = super::TempDir::new("chromium-profile");
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--window-size=1280,720",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("chromium said where DevTools listen")
                .expect("read chromium's stderr");
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                break rest
                    .split('/')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok())
                    .expect("a port");
            }
        };
        // Keep draining stderr so Chromium never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let list: Value =
            serde_json::from_str(&http_get(port, "/json/list")).expect("the target list");
        let url = list
            .as_array()
            .and_then(|targets| {
                targets
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            })
            .expect("a page target")
            .to_string();
        let path = url
            .find("/devtools/")
            .map(|at| url[at..].to_string())
            .unwrap_or_else(|| panic!("a ws path in {url}"));
        let mut ws = TcpStream::connect(("127.0.0.1", port)).expect("connect the page");
        ws.set_read_timeout(Some(PATIENCE)).expect("timeout");
        write!(
            ws,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("handshake");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            ws.read_exact(&mut byte).expect("handshake reply");
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        let mut browser = Browser {
            child,
            ws,
            next_id: 0,
            _profile: profile,
        };
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": false}),
        );
        browser
    }

    fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.ws.write_all(&frame).expect("send a frame");
    }

    fn receive(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.ws
                .read_exact(&mut head)
                .expect("a frame from chromium");
            let fin = head[0] & 0x80 != 0;
            let mut len = u64::from(head[1] & 0x7f);
            if len == 126 {
                let mut b = [0u8; 2];
                self.ws.read_exact(&mut b).expect("length");
                len = u64::from(u16::from_be_bytes(b));
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.ws.read_exact(&mut b).expect("length");
                len = u64::from_be_bytes(b);
            }
            let mut payload = vec![0u8; len as usize];
            self.ws.read_exact(&mut payload).expect("payload");
            message.extend_from_slice(&payload);
            if fin {
                return String::from_utf8_lossy(&message).into_owned();
            }
        }
    }

    /// Calls a DevTools method and returns its result (events in between are skipped).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"id": id, "method": method, "params": params}).to_string());
        loop {
            let reply: Value = serde_json::from_str(&self.receive()).expect("JSON from chromium");
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// Waits, in the page, until `condition` (a JavaScript expression) is true, up to
    /// [`PATIENCE`]; then returns `value` (another expression) as the page has it.
    pub fn wait_for(&mut self, condition: &str, value: &str) -> Value {
        let patience = PATIENCE.as_millis();
        let script = format!(
            "new Promise((resolve, reject) => {{ const start = Date.now(); (function check() {{ \
             let ok = false; try {{ ok = !!({condition}); }} catch (e) {{}} \
             if (ok) resolve({value}); \
             else if (Date.now() - start > {patience}) reject(new Error('not seen: ' + document.body.innerText)); \
             else setTimeout(check, 20); }})(); }})"
        );
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": script, "awaitPromise": true, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "waiting for {condition}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// A PNG of the page as it is, 1280x720.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let result = self.call("Page.captureScreenshot", json!({"format": "png"}));
        base64_decode(result["data"].as_str().expect("base64 data"))
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// How long the tests give the browser for one thing.
pub const STEP: Duration = Duration::from_secs(20);
