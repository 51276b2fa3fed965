//! What every teacher command does: one arm of [`Room::execute`] per [`Request`] (its grammar
//! is one arm of `console/grammar.rs`), and the views `status`, `who`, `top` and `stats` show.
//!
//! To add a command: a `Request` variant and its parse arm in `console/grammar.rs`, a line in
//! its `HELP`, an apply arm here, and a test in `room/tests.rs` on the virtual clock.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::live::Transition;
use super::roster::{NameKeys, Status};
use super::{ConnId, Io, Member, Origin, Role, Room};
use crate::console::render::{
    Mode, StatsView, StatusView, TopRow, WhoRow, render_stats, render_status, render_top,
    render_who,
};
use crate::console::{CloseReason, Request};
use crate::quiz::Quiz;

/// A reply to a teacher's command.
enum Reply {
    /// One or more lines (`ok: ...`, `error: ...`), then the prompt.
    Lines(String),
    /// A block ending with a `.` line.
    Block(Vec<String>),
    /// Nothing more (the console is closing).
    Nothing,
}

/// Where `load`, `reload` and `upload` take a bank from.
enum BankSource {
    /// These files or directories (`load`).
    Files(Vec<PathBuf>),
    /// The files the quiz came from, read again (`reload`); none: the bundled bank.
    Again,
    /// A bank's text sent over the console (`upload`).
    Upload { name: String, text: String },
}

impl Room {
    /// Carries out one console request from connection `id` (at `peer`) and replies on its
    /// console. The console may have closed already (`quit`, three wrong tokens): the request
    /// is still carried out, with no reply.
    pub(super) fn execute(
        &mut self,
        id: ConnId,
        peer: SocketAddr,
        request: Request,
        now: Instant,
        io: &mut dyn Io,
    ) {
        log::info!("teacher {peer}: {request}");
        let reply = match request {
            Request::Status => Reply::Block(render_status(&self.status_view())),
            Request::Who => Reply::Block(render_who(&self.who_rows(now))),
            Request::Start | Request::Next | Request::End if self.shared.live.is_some() => {
                Reply::Lines(self.drive_live(&request, now, io))
            }
            Request::Start | Request::Next => Reply::Lines(
                "error: this quiz is self-paced (each student goes at their own pace); start and next drive live quizzes (quizd --mode live)".into(),
            ),
            Request::End => {
                let n = self.stop_students(None, Status::Ended, now, io);
                Reply::Lines(format!(
                    "ok: quiz ended for {n} student(s); their answers are saved"
                ))
            }
            Request::Kick { name } => {
                if self.stop_students(Some(&name), Status::Kicked, now, io) > 0 {
                    Reply::Lines(format!("ok: {name} removed; their answers are saved"))
                } else {
                    Reply::Lines(format!("error: no student named {name} is in the quiz"))
                }
            }
            Request::Say { text } => {
                let n = self.tell_students(None, &format!("[teacher] {text}"), io);
                Reply::Lines(format!("ok: sent to {n} student(s)"))
            }
            Request::Code { name } => Reply::Lines(self.reissue_code(&name, io)),
            Request::Retake { name } => Reply::Lines(self.allow_retake(&name)),
            Request::Tell { name, text } => {
                if self.tell_students(Some(&name), &format!("[teacher, to you] {text}"), io) > 0 {
                    Reply::Lines(format!("ok: sent to {name}"))
                } else {
                    Reply::Lines(format!("error: no student named {name} is connected"))
                }
            }
            Request::Load { paths } => Reply::Lines(self.switch_bank(BankSource::Files(paths), now, io)),
            Request::Reload => Reply::Lines(self.switch_bank(BankSource::Again, now, io)),
            Request::Upload { name, text } => {
                Reply::Lines(self.switch_bank(BankSource::Upload { name, text }, now, io))
            }
            Request::Results => match io.results() {
                Ok(csv) => Reply::Block(vec![csv]),
                Err(why) => Reply::Lines(format!("error: {why}")),
            },
            Request::Top { n } => Reply::Block(render_top(&self.top(n, now))),
            Request::Report => Reply::Block(crate::report::render(
                &self.items,
                Some(&self.shared.quiz.questions),
            )),
            Request::Stats => Reply::Block(render_stats(&self.stats_view(now, io))),
            Request::Shutdown => {
                log::warn!("shutdown asked from the teacher console");
                self.reply(
                    id,
                    Reply::Lines("ok: shutting down; every answer is saved".into()),
                    io,
                );
                io.shutdown();
                Reply::Nothing
            }
            Request::Close { reason } => {
                if reason == CloseReason::WrongToken {
                    self.shared.counters.wrong_token_closes += 1;
                    log::warn!("teacher console from {peer}: three wrong tokens; closing");
                }
                Reply::Nothing
            }
        };
        self.reply(id, reply, io);
        self.drain_effects(now, io);
        // A command can move many seats at once (kick, end, code, the live game).
        self.journal_all();
    }

    fn reply(&mut self, id: ConnId, reply: Reply, io: &mut dyn Io) {
        let Some(Some(Member {
            role: Role::Teacher { console, .. },
            ..
        })) = self.members.get(id)
        else {
            return;
        };
        match reply {
            Reply::Lines(text) => console.reply_line(&mut self.out, &text),
            Reply::Block(lines) => console.reply_block(&mut self.out, lines),
            Reply::Nothing => {}
        }
        self.flush(id, io);
    }

    /// The teacher's `start`, `next` or `end` in live mode; returns the reply.
    fn drive_live(&mut self, request: &Request, now: Instant, io: &mut dyn Io) -> String {
        let present = self.shared.present();
        let Some(live) = self.shared.live.as_mut() else {
            return "error: this quiz is not live".into();
        };
        let moved = match request {
            Request::Start => live.start(now, present),
            Request::Next => live.next(now, present),
            _ => live.end(),
        };
        // What this sets in motion (the end after the last question, the consoles' notices)
        // follows the reply ([`Room::execute`]).
        match moved {
            Ok(t @ Transition::Over { .. }) => {
                let finished = self.shared.counters.finished;
                self.broadcast(t, now, io);
                let rows = self.shared.counters.finished - finished;
                format!(
                    "ok: quiz over, {rows} attempt(s) recorded; the room waits for the next start"
                )
            }
            Ok(t @ Transition::Closed { index, .. }) => {
                self.broadcast(t, now, io);
                let n = self.shared.live.as_ref().map_or(0, |g| g.order.len());
                if index + 1 == n {
                    format!(
                        "ok: question {}/{n} closed, the last: the podium follows and the room waits for the next start",
                        index + 1
                    )
                } else {
                    format!("ok: {}", self.live_phase())
                }
            }
            Ok(t) => {
                self.broadcast(t, now, io);
                format!("ok: {}", self.live_phase())
            }
            Err(why) => format!("error: {why}"),
        }
    }

    /// The seat of the attempt the teacher named: `#N` as `who` numbers it, or a name (any
    /// case, or one that looks like it).
    fn seat_named(&self, name: &str) -> Option<usize> {
        match name.strip_prefix('#').and_then(|n| n.parse().ok()) {
            Some(number) => self.shared.roster.numbered(number),
            None => self.shared.roster.find(name),
        }
    }

    /// `retake NAME`: one more attempt for a name that has taken the quiz.
    fn allow_retake(&mut self, name: &str) -> String {
        let Some(allowed) = self.shared.quiz.settings.attempts else {
            return format!("ok: attempts are not limited (--attempts 0); {name} may start again");
        };
        let keys = NameKeys::of(name);
        let Some(taken) = self.shared.roster.grant_retake(keys) else {
            return format!(
                "error: {name} has not taken this quiz yet ({allowed} attempt(s) allowed); they may start"
            );
        };
        log::info!("a teacher allowed {name} another attempt");
        let left = allowed
            .saturating_add(taken.granted)
            .saturating_sub(taken.attempts);
        format!(
            "ok: {name} may start {left} more attempt(s) ({} taken so far)",
            taken.attempts
        )
    }

    /// `code NAME`: a new resume code for that attempt, shown to the teacher and, if they are
    /// connected, to the student.
    fn reissue_code(&mut self, name: &str, io: &mut dyn Io) -> String {
        let Some(key) = self.seat_named(name) else {
            return format!("error: no student named {name} is in the quiz");
        };
        let code = self.shared.secrets.code();
        let Some(seat) = self.shared.roster.get_mut(key) else {
            return format!("error: no student named {name} is in the quiz");
        };
        seat.reissue(code.clone());
        let (student, holder) = (seat.name.clone(), seat.holder);
        log::info!("a teacher gave {student} a new resume code");
        if let Some(id) = holder
            && let Some(Some(Member {
                role: Role::Student(session),
                ..
            })) = self.members.get(id)
        {
            session.notice(
                &format!("[teacher] Your new resume code is {code}."),
                &mut self.out,
            );
            self.flush(id, io);
        }
        format!("ok: new resume code for {student}: {code} (the old one no longer works)")
    }

    /// The connections of every student still in a session (`name`: `None`), or of the one
    /// holding `name`'s attempt.
    fn students_named(&self, name: Option<&str>) -> Vec<ConnId> {
        match name {
            Some(name) => match self.seat_named(name) {
                Some(key) => self
                    .shared
                    .roster
                    .get(key)
                    .and_then(|seat| seat.holder)
                    .into_iter()
                    .collect(),
                // Live: one who joined during the last question waits, without a seat, for
                // the next round (a walk over the members: a teacher's command).
                None => self
                    .sessions()
                    .filter(|(_, session)| {
                        session.is_between()
                            && session.name().is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
                    .map(|(id, _)| id)
                    .take(1)
                    .collect(),
            },
            None => self.sessions().map(|(id, _)| id).collect(),
        }
    }

    /// Every student connection and its session.
    fn sessions(&self) -> impl Iterator<Item = (ConnId, &super::Session)> {
        self.members
            .iter()
            .enumerate()
            .filter_map(|(id, member)| match member {
                Some(Member {
                    role: Role::Student(session),
                    ..
                }) => Some((id, session)),
                _ => None,
            })
    }

    /// Ends the attempts of every student (`name`: `None`) or of one, with `status`; returns
    /// how many.
    fn stop_students(
        &mut self,
        name: Option<&str>,
        status: Status,
        now: Instant,
        io: &mut dyn Io,
    ) -> usize {
        let mut stopped = 0;
        for id in self.students_named(name) {
            if let Some(Some(Member {
                role: Role::Student(session),
                ..
            })) = self.members.get_mut(id)
            {
                session.on_stopped_by_teacher(status, now, &mut self.shared, &mut self.out);
                stopped += 1;
                self.settle(id, now, io);
            }
        }
        // Students who dropped and may still resume.
        let shared = &mut self.shared;
        match name {
            Some(name) => {
                let seat = match name.strip_prefix('#').and_then(|n| n.parse().ok()) {
                    Some(number) => shared.roster.numbered(number),
                    None => shared.roster.find(name),
                };
                if let Some(seat) = seat
                    && shared.roster.finish_parked_seat(
                        seat,
                        status,
                        now,
                        &mut shared.finished,
                        &mut shared.counters,
                    )
                {
                    stopped += 1;
                }
            }
            None => {
                stopped += shared.roster.parked();
                shared.finish_parked(status, now);
            }
        }
        self.record_finished(io);
        self.drain_effects(now, io);
        stopped
    }

    /// Shows `text` to every connected student (`name`: `None`) or to one; returns how many.
    fn tell_students(&mut self, name: Option<&str>, text: &str, io: &mut dyn Io) -> usize {
        let mut told = 0;
        for id in self.students_named(name) {
            if let Some(Some(Member {
                role: Role::Student(session),
                ..
            })) = self.members.get(id)
            {
                session.notice(text, &mut self.out);
                told += 1;
                self.flush(id, io);
            }
        }
        told
    }

    /// `load` (new paths), `reload` (the same paths again) or `upload` (a bank's text): serves
    /// the new bank if it is good and no connected student is mid-quiz; otherwise the old one
    /// stays. Attempts waiting for a student who dropped are recorded (`ended`): they could not
    /// go on in another bank, and they must not let anyone who drops attempt after attempt
    /// block the switch. Returns the reply.
    fn switch_bank(&mut self, source: BankSource, now: Instant, io: &mut dyn Io) -> String {
        // Before any reading or parsing: nothing a busy room cannot use may stall it. A live
        // lobby is not busy: nobody there has been asked anything, and they move to the new
        // bank's lobby.
        let in_lobby = self
            .shared
            .live
            .as_ref()
            .is_some_and(|l| l.phase() == crate::room::live::Phase::Lobby);
        let busy = self.shared.roster.len() - self.shared.roster.parked();
        if busy > 0 && !in_lobby {
            return format!(
                "error: {busy} student(s) are mid-quiz; switch banks between quizzes (end the quiz first; quizd --check FILE checks a bank meanwhile)"
            );
        }
        let loaded = match (&source, &self.origin) {
            (BankSource::Upload { name, text }, _) => crate::bank::from_text(name, text.as_bytes()),
            (BankSource::Files(paths), _) => io.read_banks(paths),
            (BankSource::Again, Origin::Bundled) => crate::bank::bundled(),
            (BankSource::Again, Origin::Files(paths)) => io.read_banks(paths),
            (BankSource::Again, Origin::Upload(name)) => {
                return format!(
                    "error: the bank was uploaded ({name}): there is no file to read again; upload it again, or load PATH"
                );
            }
        };
        let bank = match loaded {
            Ok(bank) => bank,
            Err(problems) => {
                return problems
                    .iter()
                    .map(|p| {
                        if p.warning {
                            p.to_string()
                        } else {
                            format!("error: {p}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        };
        let count = bank.questions.len();
        let mut bank = bank;
        // `--title` names the banks it was given with: `reload` keeps it, another bank brings
        // its own.
        match (&source, &self.title) {
            (BankSource::Again, Some(title)) => bank.title = title.clone(),
            (BankSource::Again, None) => {}
            _ => self.title = None,
        }
        let title = bank.title.clone();
        for warning in &bank.warnings {
            log::warn!("{warning}");
        }
        let questions = match (count, bank.skipped) {
            (1, 0) => "1 question".to_string(),
            (n, 0) => format!("{n} questions"),
            (n, skipped) => format!(
                "{n} of {} questions ({skipped} skipped: quizd cannot ask them; the log, or quizd --check, says why)",
                n + skipped
            ),
        };
        let waiting = self.shared.roster.parked();
        self.shared.finish_parked(Status::Ended, now);
        self.record_finished(io);
        if in_lobby {
            for member in self.members.iter_mut() {
                if let Some(Member {
                    role: Role::Student(session),
                    ..
                }) = member
                {
                    session.leave_lobby(&mut self.shared);
                }
            }
        }
        let settings = self.shared.quiz.settings.clone();
        self.shared.quiz = Quiz::new(bank, settings);
        // Another quiz: its questions are numbered afresh.
        self.items = crate::report::Tally::default();
        self.scores = [0; 11];
        self.shared.item_marks.clear();
        // The last round's podium was of the other quiz.
        self.last_round.clear();
        self.last_results = None;
        // A new quiz: nobody has taken it yet.
        self.shared.roster.forget_taken();
        self.shared.new_game();
        if in_lobby {
            self.rejoin_all(
                Some(&format!("The teacher changed the quiz to {title}.")),
                now,
                io,
            );
        }
        match source {
            BankSource::Files(paths) => self.origin = Origin::Files(paths),
            BankSource::Upload { name, .. } => self.origin = Origin::Upload(name),
            BankSource::Again => {}
        }
        self.journal_new_quiz();
        log::info!("now serving '{title}': {questions}");
        if waiting > 0 {
            log::info!("{waiting} attempt(s) of students who dropped recorded as ended");
            format!(
                "ok: {questions}; now serving {title} ({waiting} attempt(s) of students who dropped recorded as ended)"
            )
        } else {
            format!("ok: {questions}; now serving {title}")
        }
    }

    fn status_view(&self) -> StatusView {
        let quiz = &self.shared.quiz;
        StatusView {
            mode: if self.shared.live.is_some() {
                Mode::Live
            } else {
                Mode::SelfPaced
            },
            title: quiz.title.clone(),
            questions: quiz.questions.len(),
            per_attempt: Some(quiz.count()),
            files: match &self.origin {
                Origin::Bundled => Vec::new(),
                Origin::Files(paths) => paths.iter().map(|p| p.display().to_string()).collect(),
                Origin::Upload(name) => vec![format!("{name}, uploaded")],
            },
            students_connected: self.students,
            in_quiz: self.shared.roster.len(),
            finished: self.shared.counters.finished,
            live_phase: self.shared.live.is_some().then(|| self.live_phase()),
        }
    }

    /// The live game's phase in words.
    fn live_phase(&self) -> String {
        self.shared
            .live
            .as_ref()
            .map_or_else(|| "self-paced".into(), |live| live.describe())
    }

    fn who_rows(&self, now: Instant) -> Vec<WhoRow> {
        let mut rows: Vec<WhoRow> = Vec::new();
        for member in self.members.iter().flatten() {
            let Role::Student(session) = &member.role else {
                continue;
            };
            let described = session.describe(&self.shared.roster);
            rows.push(WhoRow {
                number: described.number,
                attempt: described.attempt,
                name: session.name().unwrap_or("").to_string(),
                peer: member.peer,
                state: described.state,
                score: described.score,
                idle: now.saturating_duration_since(member.last_line),
            });
        }
        for seat in self.shared.roster.seats().filter(|s| s.is_parked()) {
            let (done, total) = seat.progress();
            let away = seat
                .parked_at()
                .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
            let mut state = format!("dropped at {}/{total}, may resume", done + 1);
            if seat.wrong_codes > 0 {
                state.push_str(&format!(", {} wrong codes", seat.wrong_codes));
            }
            rows.push(WhoRow {
                number: Some(seat.number as usize),
                attempt: Some(seat.attempt),
                name: seat.name.clone(),
                peer: seat.peer,
                state,
                score: Some((seat.score, done as u32)),
                idle: away,
            });
        }
        rows
    }

    /// The best `n` attempts: finished ones of this run and those in progress, by score, then
    /// by time taken.
    fn top(&self, n: usize, now: Instant) -> Vec<TopRow> {
        if let Some(game) = self.shared.live.as_ref() {
            // Exactly the leaderboard the students saw: this round's, or, until the next
            // starts, the last round's.
            let mut rows =
                if game.phase() == super::live::Phase::Lobby && !self.last_round.is_empty() {
                    self.last_round.clone()
                } else {
                    self.live_standings()
                };
            rows.truncate(n);
            return rows;
        }
        let mut rows: Vec<TopRow> = self.board.clone();
        rows.extend(self.shared.roster.seats().map(|seat| TopRow {
            rank: 0,
            name: seat.name.clone(),
            attempt: seat.attempt,
            points: None,
            score: seat.score,
            max: seat.progress().1 as u32,
            time: now.saturating_duration_since(seat.started()),
        }));
        rows.sort_by(|a, b| b.score.cmp(&a.score).then(a.time.cmp(&b.time)));
        rows.truncate(n);
        for (i, row) in rows.iter_mut().enumerate() {
            row.rank = i + 1;
        }
        rows
    }

    /// Live: every seat by leaderboard points, then time taken to answer, as students see it
    /// (ties share a rank).
    pub(super) fn live_standings(&self) -> Vec<TopRow> {
        let scoring = self
            .shared
            .quiz
            .settings
            .live
            .as_ref()
            .map_or(crate::quiz::Scoring::Count, |live| live.scoring);
        let mut standings: Vec<super::live::Standing> = self
            .shared
            .roster
            .seats
            .iter()
            .map(|(key, s)| super::live::Standing {
                seat: key,
                name: s.name.clone(),
                points: s.points,
                time: s.answer_time,
            })
            .collect();
        let ranks = super::live::rank(&mut standings);
        standings
            .iter()
            .zip(ranks)
            .filter_map(|(standing, rank)| {
                let s = self.shared.roster.get(standing.seat)?;
                Some(TopRow {
                    rank,
                    name: s.name.clone(),
                    attempt: s.attempt,
                    points: Some(super::live::shown_points(scoring, s.points)),
                    score: s.score,
                    max: s.order.len().saturating_sub(s.first) as u32,
                    time: s.answer_time,
                })
            })
            .collect()
    }

    fn stats_view(&self, now: Instant, io: &dyn Io) -> StatsView {
        let c = &self.shared.counters;
        let net = io.net();
        StatsView {
            connected_students: self.students,
            connected_teachers: self.teachers,
            peak_connections: net.peak_connections,
            accepted_total: net.accepted,
            rejected_full: net.rejected_full,
            rejected_address: net.rejected_address,
            closed_output_cap: net.closed_output_cap,
            wrong_token_closes: c.wrong_token_closes,
            consoles_refused: net.rejected_consoles,
            consoles_evicted: c.consoles_evicted,
            attempts_parked_early: c.parked_early,
            attempts_refused: c.retakes_refused,
            attempts_started: c.started,
            attempts_finished: c.finished,
            attempts_discarded: c.discarded,
            wrong_codes: c.wrong_codes,
            codes_refused: c.codes_refused,
            answers: c.answers,
            timeouts: c.timeouts,
            lines_too_long: c.lines_too_long,
            asks: c.asks,
            asks_refused: c.asks_refused,
            bytes_in: net.bytes_in,
            bytes_out: net.bytes_out,
            journal: net
                .journal
                .as_ref()
                .map_or_else(|| "off".to_string(), |j| j.describe(c.answers)),
            board: net.board.as_ref().map_or_else(
                || "off".to_string(),
                |b| {
                    format!(
                        "{} watching (peak {}), {} served, {} updates; refused {} full, {} bad requests, {} slow dropped",
                        b.watching, b.peak, b.served, b.pushes, b.refused_full, b.bad_requests, b.dropped_slow
                    )
                },
            ),
            uptime: now.saturating_duration_since(self.started),
        }
    }
}
