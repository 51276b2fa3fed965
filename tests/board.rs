//! The projector board end to end: the built binary, students over TCP, the teacher at the
//! console, and the board in a real headless Chromium (Debian's; `.ci/run` installs it, and
//! without it the browser test says so and skips). Also the board's HTTP door under bad
//! requests, and its numbers against the console's and the results file's.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;

use common::binary::{Quizd, text};
use common::cdp::{Browser, chromium};
use common::{Client, PATIENCE, TOKEN, TempDir, csv_rows};
use serde_json::Value;

/// Three questions; with `--no-shuffle` the right letters are b, a, c.
const BANK: &str = "\
::bind:: Which call gives a socket its local address? {~connect() =bind() ~listen() ~accept()}

::udp:: Which protocol sends datagrams without a connection? {=UDP ~TCP ~SCTP ~QUIC}

::port:: Which port does HTTPS use by default? {~80 ~8080 =443 ~22}
";

struct Class {
    _dir: TempDir,
    results: PathBuf,
    quizd: Quizd,
    students: SocketAddr,
    board: SocketAddr,
    teacher: Client,
}

impl Class {
    fn start(tag: &str, extra: &[&str]) -> Class {
        let dir = TempDir::new(tag);
        let bank = dir.write("net.gift", BANK);
        let results = dir.path().join("results.csv");
        let mut args = vec![
            "--no-shuffle",
            "--admin-token",
            TOKEN,
            "--results",
            text(&results),
        ];
        args.extend_from_slice(extra);
        args.push(text(&bank));
        let (mut quizd, students) = Quizd::serve(&args);
        let teacher = quizd.teacher();
        let board = quizd.address_after("board on ");
        Class {
            _dir: dir,
            results,
            quizd,
            students,
            board,
            teacher,
        }
    }

    /// A console command's reply block, up to its closing `.` line.
    fn block(&mut self, command: &str) -> Vec<String> {
        self.teacher.send(command);
        let text = self.teacher.expect("\r\n.\r\n");
        text.trim_end_matches("\r\n.\r\n")
            .split("\r\n")
            .map(|l| l.trim_start_matches("admin> ").to_string())
            .collect()
    }

    /// A console command's one-line reply (`ok: ...` or `error: ...`).
    fn say(&mut self, command: &str) -> String {
        self.teacher.send(command);
        loop {
            let line = self.teacher.expect_line("");
            let line = line.trim_start_matches("admin> ");
            if line.starts_with("ok:") || line.starts_with("error:") {
                return line.to_string();
            }
        }
    }

    fn join(&self, name: &str) -> Client {
        let mut s = Client::connect(self.students);
        s.expect("name> ");
        s.send(name);
        s
    }
}

/// One HTTP exchange with the board: the whole response, as text.
fn http(board: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(board).expect("connect to the board");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s.write_all(request).expect("send the request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn state(board: SocketAddr) -> Value {
    let reply = http(board, b"GET /state.json HTTP/1.1\r\nHost: board\r\n\r\n");
    let (_, body) = reply.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).expect("JSON")
}

#[test]
fn a_live_quiz_on_the_board_in_a_real_browser_from_lobby_to_podium() {
    let Some(chromium) = chromium() else {
        eprintln!("SKIPPED: no Chromium (apt-get install chromium); .ci/run installs it");
        return;
    };
    let mut class = Class::start("board-live", &["--mode", "live", "--time-limit", "60"]);
    let shots = std::env::var_os("QUIZD_BOARD_SHOTS").map(PathBuf::from);
    let shoot = |browser: &mut Browser, name: &str| {
        let png = browser.screenshot();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir).expect("screenshot dir");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("write screenshot");
        }
    };
    let mut browser = Browser::start(&chromium);
    browser.open(&format!("http://{}/", class.board));
    browser.wait_for("document.body.dataset.stage === 'lobby'", "1");

    // The lobby: names arrive as students join.
    let mut students: Vec<Client> = ["ann", "bo", "cy"].iter().map(|n| class.join(n)).collect();
    for s in &mut students {
        s.expect_line("Waiting for the teacher");
    }
    let lobby = browser.wait_for(
        "document.getElementById('here').textContent === '3'",
        "document.getElementById('names').innerText",
    );
    let lobby = lobby.as_str().unwrap_or_default().to_string();
    for name in ["ann", "bo", "cy"] {
        assert!(lobby.contains(name), "{lobby}");
    }
    let join = browser.wait_for("true", "document.getElementById('join').textContent");
    assert_eq!(
        join.as_str(),
        Some(format!("telnet 127.0.0.1 {}", class.students.port()).as_str())
    );
    shoot(&mut browser, "1-lobby");

    // A question: its text and options large, a countdown, answers coming in.
    assert!(class.say("start").starts_with("ok: "));
    let options = browser.wait_for(
        "document.body.dataset.stage === 'open'",
        "[...document.querySelectorAll('#options li')].map(li => li.innerText)",
    );
    assert_eq!(options.as_array().map(Vec::len), Some(4), "{options}");
    assert!(
        options[1].as_str().unwrap_or_default().contains("bind()"),
        "{options}"
    );
    let question = browser.wait_for("true", "document.getElementById('question').textContent");
    assert_eq!(
        question.as_str(),
        Some("Which call gives a socket its local address?")
    );
    for (s, answer) in students.iter_mut().zip(["b", "a"]) {
        s.expect("answer> ");
        s.send(answer);
        s.expect_line("Answer recorded");
    }
    browser.wait_for(
        "document.getElementById('answered').textContent === '2' && \
         document.getElementById('present').textContent === '3'",
        "1",
    );
    // While the question is open, nothing tells who answered right: no distribution and no
    // standings (which would move with the first right answer).
    let open = state(class.board);
    assert_eq!(open["live"]["phase"], "open");
    assert_eq!(open["live"]["leaderboard"], serde_json::json!([]), "{open}");
    assert!(open["live"].get("distribution").is_none(), "{open}");
    let countdown = browser.wait_for("true", "document.getElementById('countdown').textContent");
    let left: u32 = countdown
        .as_str()
        .unwrap_or("")
        .parse()
        .expect("seconds left");
    assert!((1..=60).contains(&left), "{countdown}");
    shoot(&mut browser, "2-question");

    // Closed: the distribution with the right option marked, and the leaderboard.
    students[2].expect("answer> ");
    students[2].send("b");
    let bars = browser.wait_for(
        "document.body.dataset.stage === 'closed'",
        "[...document.querySelectorAll('#distribution li')].map(li => [li.dataset.right, li.dataset.count, li.innerText])",
    );
    let bars = bars.as_array().expect("bars").clone();
    assert_eq!(bars.len(), 5, "four options and no answer: {bars:?}");
    assert_eq!(bars[1][0], "yes", "b) bind() is marked right: {bars:?}");
    assert_eq!(bars[1][1], "2");
    assert_eq!(bars[0][1], "1");
    assert!(bars[1][2].as_str().unwrap_or_default().contains('\u{2713}'));
    let board_rows = browser.wait_for(
        "document.querySelectorAll('#leaderboard li').length === 3",
        "[...document.querySelectorAll('#leaderboard li')].map(li => li.innerText.split(/\\s+/).slice(0, 3).join(' '))",
    );
    // The same standings as the console's `top`.
    let top = class.block("top");
    let header = top
        .iter()
        .position(|l| l.starts_with("#  name"))
        .unwrap_or_else(|| panic!("top's table: {top:?}"));
    for (i, row) in board_rows.as_array().expect("rows").iter().enumerate() {
        let words: Vec<&str> = row.as_str().unwrap_or_default().split(' ').collect();
        let console: Vec<&str> = top[header + 1 + i].split_whitespace().collect();
        assert_eq!(
            (words[1], words[2]),
            (console[1], console[3]),
            "{top:?} {row}"
        );
    }
    shoot(&mut browser, "3-closed");

    // Two more questions, then the podium.
    for (q, answers) in [(2, ["a", "a", "b"]), (3, ["c", "a", "c"])] {
        assert!(class.say("next").starts_with("ok: "));
        browser.wait_for(
            &format!("document.body.dataset.stage === 'open' && document.getElementById('where').textContent.startsWith('Question {q}')"),
            "1",
        );
        for (s, answer) in students.iter_mut().zip(answers) {
            s.expect("answer> ");
            s.send(answer);
        }
    }
    // The last question's results come first (the room is already in the next lobby), then
    // the podium.
    let last = browser.wait_for(
        "document.body.dataset.stage === 'closed' && document.getElementById('where').textContent.startsWith('Question 3')",
        "[...document.querySelectorAll('#distribution li[data-right]')].map(li => li.dataset.right + li.dataset.count).join(' ')",
    );
    assert_eq!(
        last.as_str(),
        Some("no1 no0 yes2 no0"),
        "c) 443 right for two"
    );
    let podium = browser.wait_for(
        "document.body.dataset.stage === 'over' && document.querySelectorAll('#podium li').length === 3",
        "[...document.querySelectorAll('#podium li')].map(li => [li.dataset.rank, li.innerText])",
    );
    let podium = podium.as_array().expect("podium").clone();
    // ann 3/3 first; bo and cy 1 each.
    let first = podium.iter().find(|p| p[0] == "1").expect("a first place");
    assert!(
        first[1].as_str().unwrap_or_default().contains("ann"),
        "{podium:?}"
    );
    shoot(&mut browser, "4-podium");
    for s in &mut students {
        s.expect_line("Quiz over");
    }

    // The server stops: the page says so.
    class.quizd.terminate();
    class.quizd.wait_exit(PATIENCE);
    let stopped = browser.wait_for(
        "document.body.dataset.stage === 'stopped'",
        "document.getElementById('stopped').innerText",
    );
    assert!(
        stopped.as_str().unwrap_or_default().contains("has stopped"),
        "{stopped}"
    );
    shoot(&mut browser, "5-stopped");
    let rows = csv_rows(&std::fs::read_to_string(&class.results).expect("results"));
    assert_eq!(rows.len(), 3);
}

#[test]
fn the_self_paced_board_counts_agree_with_the_console_and_the_results_file() {
    let mut class = Class::start("board-self", &[]);
    let first = state(class.board);
    assert_eq!(first["mode"], "self-paced");
    assert_eq!(first["questions"], 3);
    assert!(first.get("report").is_none(), "nothing finished yet");
    for (name, answers) in [
        ("ann", ["b", "a", "c"]),
        ("bo", ["b", "b", "c"]),
        ("cy", ["a", "b", "a"]),
    ] {
        let mut s = class.join(name);
        for a in answers {
            s.expect("answer> ");
            s.send(a);
        }
        s.expect_line("Quiz over");
    }
    let board = state(class.board);
    assert_eq!(board["finished"], 3);
    // Scores 3, 2, 0 of 3: 100%, 67% (the 60s tenth), 0%.
    let scores: Vec<u64> = board["scores"]
        .as_array()
        .expect("scores")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(scores, [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    // Per question, right so far: 2/3, 1/3, 2/3.
    let percents: Vec<f64> = board["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["percent"].as_f64())
        .collect();
    assert_eq!(percents, [67.0, 33.0, 67.0]);
    // The report on the board is the console's.
    let report = class.block("report");
    for item in board["report"]["items"].as_array().expect("report items") {
        let n = item["number"].as_u64().expect("number");
        let line = report
            .iter()
            .find(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(&n.to_string())
                    && words.next().is_some_and(|w| w.parse::<u64>().is_ok())
            })
            .unwrap_or_else(|| panic!("question {n} in {report:?}"));
        let facility = format!("{}%", item["facility"].as_f64().expect("facility"));
        assert!(line.contains(&facility), "{line} has {facility}");
    }
    // The page shows the same, in a real browser where there is one.
    if let Some(chromium) = chromium() {
        let mut browser = Browser::start(&chromium);
        browser.open(&format!("http://{}/", class.board));
        let shown = browser.wait_for(
            "document.body.dataset.stage === 'selfpaced' && document.getElementById('finished').textContent === '3'",
            "[...document.querySelectorAll('#histogram li')].map(li => li.dataset.count).join(' ')",
        );
        assert_eq!(shown.as_str(), Some("1 0 0 0 0 0 1 0 0 0 1"));
        if let Some(dir) = std::env::var_os("QUIZD_BOARD_SHOTS").map(PathBuf::from) {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(dir.join("6-self-paced.png"), browser.screenshot()).expect("write");
        }
    }
    // And the CSV's scores are the histogram's.
    class.quizd.terminate();
    class.quizd.wait_exit(PATIENCE);
    let rows = csv_rows(&std::fs::read_to_string(&class.results).expect("results"));
    let mut percent: Vec<&str> = rows.iter().map(|r| r[6].as_str()).collect();
    percent.sort_unstable();
    assert_eq!(percent, ["0", "100", "67"]);
}

#[test]
fn the_board_door_refuses_what_it_does_not_serve_and_never_shows_codes_or_addresses() {
    let class = Class::start("board-door", &[]);
    let mut s = class.join("ann");
    s.expect("answer> ");
    let status = |reply: &str| reply.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        status(&http(class.board, b"GET / HTTP/1.1\r\n\r\n")),
        "HTTP/1.1 200 OK"
    );
    let page = http(class.board, b"GET / HTTP/1.1\r\n\r\n");
    assert!(page.contains("EventSource"));
    assert!(
        status(&http(
            class.board,
            b"POST /state.json HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
        ))
        .starts_with("HTTP/1.1 405")
    );
    assert!(status(&http(class.board, b"GET /admin HTTP/1.1\r\n\r\n")).starts_with("HTTP/1.1 404"));
    assert!(
        status(&http(
            class.board,
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"
        ))
        .starts_with("HTTP/1.1 400")
    );
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n", "y".repeat(9000));
    assert!(status(&http(class.board, huge.as_bytes())).starts_with("HTTP/1.1 431"));
    // The state: the class's counts, no code, no address.
    let json = http(class.board, b"GET /state.json HTTP/1.1\r\n\r\n");
    assert!(!json.contains("127.0.0.1:"), "{json}");
    let code = s.log.clone();
    let code = String::from_utf8_lossy(&code);
    let code = code
        .split("resume code is ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("a code")
        .to_string();
    assert!(!json.contains(&code), "{json}");
    // An event stream gets the state at once, then each change.
    let mut events = TcpStream::connect(class.board).expect("connect");
    events.set_read_timeout(Some(PATIENCE)).expect("timeout");
    events
        .write_all(b"GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n")
        .expect("send");
    let mut seen = String::new();
    let mut chunk = [0u8; 4096];
    while !seen.contains("\"answering\":1") {
        let n = events.read(&mut chunk).expect("the stream");
        assert!(n > 0, "the stream stays open: {seen}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream"));
    s.send("b");
    seen.clear();
    while !seen.contains("\"answers\":1") {
        let n = events.read(&mut chunk).expect("the stream");
        assert!(n > 0, "the stream stays open: {seen}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    // A viewer of the stream has nothing to say: one that sends anything is closed (reading
    // it without end would hold the loop).
    events.write_all(&[b'x'; 4096]).expect("send junk");
    loop {
        match events.read(&mut chunk) {
            Ok(0) => break,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the stream is closed, not left open ({e})"),
            Ok(_) => {}
        }
    }
    // A whole request from a client that then shuts its side (`printf ... | nc -N`) is
    // answered.
    let mut once = TcpStream::connect(class.board).expect("connect");
    once.set_read_timeout(Some(PATIENCE)).expect("timeout");
    once.write_all(b"GET /state.json HTTP/1.0\r\n\r\n")
        .expect("send");
    once.shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let mut reply = String::new();
    let _ = once.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    // Every viewer slot taken (by connections that say nothing): one more gets 503, and the
    // students are served all the while.
    let idle: Vec<TcpStream> = (0..quizd::limits::MAX_BOARD_VIEWERS)
        .map(|_| TcpStream::connect(class.board).expect("connect"))
        .collect();
    let full = http(class.board, b"GET / HTTP/1.1\r\n\r\n");
    assert!(full.starts_with("HTTP/1.1 503"), "{full}");
    assert!(full.contains("error: the board has all the viewers it can take"));
    s.send("/time");
    s.expect("answer> ");
    drop(idle);
    // Their slots come back as the server sees them close.
    let back = (0..10_000).any(|_| {
        http(class.board, b"GET /state.json HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200")
    });
    assert!(back, "slots freed");
    // A request that never ends is cut off, and the students never notice.
    let mut slow = TcpStream::connect(class.board).expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\n").expect("send half");
    slow.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s.expect("answer> ");
    s.send("a");
    s.expect("answer> ");
    let mut reply = String::new();
    let _ = slow.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
}
