//! Small text helpers everyone shares: making text safe for another person's terminal, the
//! rules for names, and the few ways numbers are put into words (percentages, ordinals,
//! durations, sizes, OS errors).

use std::time::Duration;

use crate::limits::MAX_NAME_CHARS;

/// An OS error in plain words, without Rust's "(os error 98)".
pub fn describe_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".into(),
        std::io::ErrorKind::AddrNotAvailable => "address not available on this machine".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_lowercase(),
                None => text,
            }
        }
    }
}

/// Characters that print nothing but can reorder or hide text in other people's terminals and
/// spreadsheets: kept out of names and recorded answers.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}' | '\u{fffd}' | '\u{e0000}'..='\u{e007f}')
}

/// Whether a bank may not hold `c`: what can move a terminal's cursor or hide text (C0 and C1
/// controls but the tab, so escape sequences too; bidi embeddings, overrides and isolates,
/// which reorder what follows) and U+FFFD, the mark of bytes that were not valid text.
/// Ordinary format characters are fine: ZWNJ and ZWJ (Persian, Indic scripts, emoji), the
/// soft hyphen of text pasted from Word or a PDF, LRM and RLM, the word joiner, ZWSP.
pub fn unfit_for_a_bank(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffd}')
}

/// Makes text safe to show on another person's terminal (names on leaderboards, teacher
/// messages to students, `/ask` messages to teachers): drops every invisible or control
/// character (so no escape sequence or bidi override gets through), turns any whitespace
/// (tab, CR, LF, ...) into a space, folds runs of spaces into one, trims, and caps the result at
/// `max_chars` characters, the last being `…` when text was cut.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let mut clean = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !clean.is_empty();
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if pending_space {
            clean.push(' ');
            chars += 1;
            pending_space = false;
        }
        clean.push(c);
        chars += 1;
        if chars > max_chars {
            break;
        }
    }
    if chars > max_chars {
        // Cut to `max_chars - 1` characters and mark the cut.
        let keep = clean
            .char_indices()
            .nth(max_chars.saturating_sub(1))
            .map_or(clean.len(), |(at, _)| at);
        clean.truncate(keep);
        clean.truncate(clean.trim_end().len());
        if max_chars > 0 {
            clean.push('…');
        }
    }
    clean
}

/// Checks a proposed name; on success returns it trimmed, with inner runs of spaces folded.
pub fn validate_name(raw: &str) -> Result<String, String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(format!("type a name (1 to {MAX_NAME_CHARS} characters)"));
    }
    if name.chars().any(is_invisible) {
        return Err("names may only hold visible characters".into());
    }
    if let Some(c) = name.chars().find(|&c| !name_char(c)) {
        return Err(format!(
            "names may hold letters, digits, spaces and punctuation, not U+{:04X}",
            u32::from(c)
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("name too long (max {MAX_NAME_CHARS} characters)"));
    }
    if name.starts_with('/') {
        return Err("names cannot start with '/' (that starts a command)".into());
    }
    if name.starts_with('#') {
        return Err(
            "names cannot start with '#' (the teacher's `who` numbers students that way)".into(),
        );
    }
    if !name.chars().any(char::is_alphanumeric) {
        // Braille blanks, fillers and lone marks look like nobody on a leaderboard.
        return Err("a name needs at least one letter or digit".into());
    }
    Ok(name)
}

/// Whether `c` may be in a name: printable ASCII, or a letter, digit or mark that Unicode's
/// identifier profile allows (TR39 `Identifier_Status=Allowed`: recommended scripts, no format
/// characters, no symbols that draw nothing). An allow-list, because the characters that look
/// like nothing (braille blanks, format characters, musical and Egyptian spacing marks) are too
/// many to list one by one, and one of them after `alice` would look like `alice` in `who`.
fn name_char(c: char) -> bool {
    use unicode_security::GeneralSecurityProfile;
    c == ' ' || c.is_ascii_graphic() || (!c.is_ascii() && c.identifier_allowed())
}

/// What two names are compared by: their confusable skeletons (Unicode TR39) after NFKC, one
/// as written and one in lower case. Two names clash when either key is the same, so `alice`,
/// `Alice`, `ALICE`, `аlice` (Cyrillic а), `ａｌｉｃｅ` and `aIice` (capital I) all clash, and
/// nobody can take a name that looks like another student's; `aiice` does not clash with
/// `alice`. (One key cannot do both: lower case makes `I` an `i`, the skeleton makes it an `l`.)
pub fn name_keys(name: &str) -> [String; 2] {
    use unicode_normalization::UnicodeNormalization;
    let normal: String = name.nfkc().collect();
    let lower: String = normal.chars().flat_map(char::to_lowercase).collect();
    [
        unicode_security::skeleton(&normal).collect(),
        unicode_security::skeleton(&lower).collect(),
    ]
}

/// Whether two names clash (see [`name_keys`]).
pub fn names_clash(a: &str, b: &str) -> bool {
    let (a, b) = (name_keys(a), name_keys(b));
    a[0] == b[0] || a[1] == b[1]
}

/// The letter a student sees for option position `shown` (0 is `a`); `?` past `z`.
pub fn letter(shown: usize) -> char {
    u8::try_from(shown)
        .ok()
        .filter(|&shown| usize::from(shown) < crate::limits::MAX_OPTIONS)
        .map_or('?', |shown| char::from(b'a' + shown))
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`, ...
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A duration to the tenth of a second, as leaderboards show it (`9.3 s`): rounded half up,
/// the same rounding that ranks ties ([`tenths`]).
pub fn seconds_tenths(d: Duration) -> String {
    let t = tenths(d);
    format!("{}.{} s", t / 10, t % 10)
}

/// A duration in tenths of a second, rounded half up: what a leaderboard shows, and so what
/// ties are judged by (two students shown `4.2 s` share a rank).
pub fn tenths(d: Duration) -> u128 {
    (d.as_millis() + 50) / 100
}

/// A duration in at most two units: `42s`, `3m05s`, `2h07m`, `3d04h`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// A byte count in binary units: `512 B`, `1.5 KiB`, `4 MiB` (no decimal when exact).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut unit = 0;
    let mut whole = n;
    while whole >= 1024 && unit + 1 < UNITS.len() {
        whole /= 1024;
        unit += 1;
    }
    let scale = 1u64 << (10 * unit);
    if n.is_multiple_of(scale) {
        format!("{} {}", n / scale, UNITS[unit])
    } else {
        format!("{:.1} {}", n as f64 / scale as f64, UNITS[unit])
    }
}

/// Columns text is wrapped to when the client does not say its width (telnet NAWS).
pub const DEFAULT_WIDTH: usize = 80;
/// Narrowest width honoured (a client that says less is wrapped at this).
pub const MIN_WIDTH: usize = 20;

/// Whether any line of `text` (CR LF ended, the last one perhaps a prompt) is wider than
/// `width` columns. Cheap when none is: a line of at most `width` bytes is never wider.
pub fn needs_wrap(text: &[u8], width: usize) -> bool {
    text.split(|&b| b == b'\n')
        .any(|line| line.len() > width && display_width(line) > width)
}

/// Columns `text` takes on a terminal (East Asian wide characters count two, combining marks
/// none).
pub fn columns(text: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    text.width()
}

/// `text` padded with spaces to `width` terminal columns, after it (`left`) or before it: a
/// table column of names in any script lines up.
pub fn pad(text: &str, width: usize, left: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(columns(text)));
    if left {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

/// Columns `line` takes on a terminal (East Asian wide characters count two).
pub fn display_width(line: &[u8]) -> usize {
    use unicode_width::UnicodeWidthStr;
    match std::str::from_utf8(line) {
        Ok(text) => text.trim_end_matches('\r').width(),
        Err(_) => line.len(),
    }
}

/// `text` with every line wider than `width` columns broken at spaces (a word longer than a
/// line is cut), into `out` (cleared first). A continuation keeps the line's indent, and an
/// option line's (`  b) ...`) lines up under its text. Line ends stay CR LF; a last line
/// without one (a prompt) stays without.
pub fn wrap_into(text: &[u8], width: usize, out: &mut Vec<u8>) {
    let width = width.max(MIN_WIDTH);
    out.clear();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let (body, cr) = match line.strip_suffix(b"\r") {
            Some(body) => (body, true),
            None => (line, false),
        };
        let fits = body.len() <= width || display_width(body) <= width;
        let Some(body) = (!fits).then(|| std::str::from_utf8(body).ok()).flatten() else {
            out.extend_from_slice(line);
            continue;
        };
        // A verdict line keeps its anchors together (`Wrong.` ... `Score: S/A` on one line):
        // the answer it names goes on the next line instead. A line whose anchors span it
        // (a verdict, `Quiz over ... scored S out of N`) is never broken, even where the
        // window is narrower: the terminal folds it, and scripts still read it whole.
        match crate::wire::split_verdict(body) {
            Some((anchor, score, answer)) => {
                out.extend_from_slice(anchor.as_bytes());
                out.push(b' ');
                out.extend_from_slice(score.as_bytes());
                out.extend_from_slice(b"\r\n");
                wrap_line(answer, width, out);
            }
            None if crate::wire::keep_whole(body) => out.extend_from_slice(body.as_bytes()),
            None => wrap_line(body, width, out),
        }
        if cr {
            out.push(b'\r');
        }
    }
}

/// One line wider than `width` broken at spaces into `out` (no line end after the last piece).
fn wrap_line(body: &str, width: usize, out: &mut Vec<u8>) {
    use unicode_width::UnicodeWidthChar;
    let lead = body.len() - body.trim_start_matches(' ').len();
    let rest = &body[lead..];
    let option = rest.as_bytes().get(1..3) == Some(b") ")
        && rest.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let indent = (lead + if option { 3 } else { 0 }).min(width / 2);
    let mut col = 0;
    for (n, word) in body.split(' ').enumerate() {
        let w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        if n > 0 {
            if col > indent && col + 1 + w > width {
                out.extend_from_slice(b"\r\n");
                out.resize(out.len() + indent, b' ');
                col = indent;
            } else {
                out.push(b' ');
                col += 1;
            }
        }
        // A word longer than a line: cut where the line ends.
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if col + cw > width && col > indent {
                out.extend_from_slice(b"\r\n");
                out.resize(out.len() + indent, b' ');
                col = indent;
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            col += cw;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_looking_fillers_and_tag_characters_are_invisible() {
        for c in ['\u{3164}', '\u{ffa0}', '\u{e0041}', '\u{e007f}'] {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        assert_eq!(sanitize("\u{ffa0}\u{ffa0}", 32), "");
        assert!(validate_name("\u{ffa0}").is_err());
    }

    #[test]
    fn sanitize_keeps_plain_text() {
        assert_eq!(sanitize("is b) a trick?", 100), "is b) a trick?");
        assert_eq!(
            sanitize("héllo wörld € 😀 日本", 100),
            "héllo wörld € 😀 日本"
        );
        assert_eq!(sanitize("", 10), "");
    }

    #[test]
    fn sanitize_drops_escape_sequences_to_their_visible_rest() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m", 100), "[31mred[0m");
        assert_eq!(sanitize("a\x1b]0;title\x07b", 100), "a]0;titleb");
        // C1 CSI and DEL.
        assert_eq!(sanitize("a\u{9b}2Jb\x7fc", 100), "a2Jbc");
        assert!(!sanitize("\x1b\x1b\x1b", 100).contains('\x1b'));
    }

    #[test]
    fn sanitize_drops_bidi_overrides_and_zero_width_characters() {
        assert_eq!(sanitize("abc\u{202e}fed\u{202c}", 100), "abcfed");
        assert_eq!(sanitize("\u{2066}x\u{2069}\u{200f}\u{061c}", 100), "x");
        assert_eq!(
            sanitize("a\u{200b}l\u{200d}i\u{feff}ce\u{2060}", 100),
            "alice"
        );
        assert_eq!(sanitize("\u{00ad}\u{3164}\u{115f}", 100), "");
    }

    #[test]
    fn sanitize_turns_line_breaks_into_one_space() {
        assert_eq!(
            sanitize("hi\r\nerror: fake line\r\n", 100),
            "hi error: fake line"
        );
        assert_eq!(sanitize("a\rb\nc\td\u{0b}e\u{0c}f", 100), "a b c d e f");
        assert_eq!(sanitize("a\u{85}b\u{2028}c\u{2029}d", 100), "a b c d");
    }

    #[test]
    fn sanitize_folds_and_trims_whitespace() {
        assert_eq!(sanitize("  a  \t\t b   ", 100), "a b");
        assert_eq!(sanitize(" \t\r\n ", 100), "");
        // An invisible character between spaces does not leave two spaces behind.
        assert_eq!(sanitize("a \u{200b} b", 100), "a b");
        assert_eq!(sanitize("\u{200b} a", 100), "a");
    }

    #[test]
    fn sanitize_caps_long_text_with_an_ellipsis() {
        assert_eq!(sanitize("abcdef", 6), "abcdef");
        assert_eq!(sanitize("abcdefg", 6), "abcde…");
        assert_eq!(sanitize("ab cdefg", 4), "ab…");
        assert_eq!(sanitize("日本語テキスト", 3), "日本…");
        assert_eq!(sanitize("abc", 1), "…");
        assert_eq!(sanitize("abc", 0), "");
        let long = "word ".repeat(100_000);
        let capped = sanitize(&long, 300);
        assert_eq!(capped.chars().count(), 300);
        assert!(capped.ends_with('…'));
        // Whitespace and invisible characters removed do not count towards the cap.
        assert_eq!(sanitize("\u{200b}\u{200b}ab   \n  cd", 5), "ab cd");
    }

    #[test]
    fn sanitize_output_never_holds_invisible_characters() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let text: String = (0..40)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let c = match seed % 4 {
                        0 => (seed >> 8) % 0x80,
                        1 => 0x2000 + (seed >> 8) % 0x80,
                        2 => 0x80 + (seed >> 8) % 0x40,
                        _ => (seed >> 8) % 0x11_0000,
                    };
                    char::from_u32(c as u32).unwrap_or(' ')
                })
                .collect();
            let clean = sanitize(&text, 20);
            assert!(!clean.chars().any(is_invisible), "{clean:?}");
            assert!(!clean.contains("  "), "{clean:?}");
            assert_eq!(clean, clean.trim());
            assert!(clean.chars().count() <= 20);
        }
    }

    #[test]
    fn human_durations() {
        let d = Duration::from_secs;
        assert_eq!(human_duration(Duration::from_millis(999)), "0s");
        assert_eq!(human_duration(d(59)), "59s");
        assert_eq!(human_duration(d(60)), "1m00s");
        assert_eq!(human_duration(d(3599)), "59m59s");
        assert_eq!(human_duration(d(3600)), "1h00m");
        assert_eq!(human_duration(d(86_399)), "23h59m");
        assert_eq!(human_duration(d(86_400 + 4 * 3600)), "1d04h");
        assert!(human_duration(d(u64::MAX)).ends_with('h'));
    }

    #[test]
    fn human_byte_counts() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(4 * 1024 * 1024), "4 MiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024 + 1), "5.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn ordinals_read_right() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .map(ordinal)
            .into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }

    #[test]
    fn names_are_trimmed_and_inner_spaces_folded() {
        assert_eq!(
            validate_name("  Ada   Lovelace \t").as_deref(),
            Ok("Ada Lovelace")
        );
        assert_eq!(validate_name("Zoë").as_deref(), Ok("Zoë"));
    }

    #[test]
    fn names_that_look_alike_clash_and_different_names_do_not() {
        for lookalike in [
            "Alice",
            "ALICE",
            "\u{430}lice",
            "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}",
            "aIice",
            "a\u{200b}lice",
        ] {
            assert!(names_clash(lookalike, "alice"), "{lookalike:?}");
        }
        for other in ["alicia", "bob", "alice2", "a lice", "aiice"] {
            assert!(!names_clash(other, "alice"), "{other:?}");
        }
        assert!(!names_clash("李", "李四"));
        assert!(names_clash("Zoë", "zoe\u{308}"));
    }

    #[test]
    fn names_with_a_character_that_draws_nothing_are_refused() {
        // Found by review: each of these after `alice` looked like `alice` in `who`.
        for invisible in [
            "\u{2800}",
            "\u{13430}",
            "\u{1d159}",
            "\u{16fe4}",
            "\u{3164}",
        ] {
            let name = format!("alice{invisible}");
            assert!(validate_name(&name).is_err(), "{name:?}");
        }
        for fine in [
            "Zoë",
            "José María",
            "李四",
            "Ann-Marie O'Neil",
            "Алёна",
            "Σωκράτης",
            "n\u{303}a",
        ] {
            assert!(validate_name(fine).is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn blank_looking_names_and_the_who_number_prefix_are_refused() {
        for blank in [
            "\u{2800}",
            "\u{2800}\u{2800}",
            "\u{3164}",
            "...",
            "-_-",
            "\u{301}\u{301}",
        ] {
            assert!(validate_name(blank).is_err(), "{blank:?}");
        }
        assert!(validate_name("#3").is_err());
        assert_eq!(validate_name("Ann #3").as_deref(), Ok("Ann #3"));
        assert_eq!(validate_name("李").as_deref(), Ok("李"));
        assert_eq!(validate_name("7").as_deref(), Ok("7"));
    }
}

#[cfg(test)]
mod wrap_tests {
    use super::*;

    fn wrapped(text: &str, width: usize) -> String {
        let mut out = Vec::new();
        wrap_into(text.as_bytes(), width, &mut out);
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn long_lines_break_between_words_and_short_ones_and_prompts_stay() {
        let text = "Which call binds a socket to a local address before it listens?\r\nanswer> ";
        assert!(needs_wrap(text.as_bytes(), 40));
        assert!(!needs_wrap(text.as_bytes(), 80));
        assert_eq!(
            wrapped(text, 40),
            "Which call binds a socket to a local\r\naddress before it listens?\r\nanswer> "
        );
    }

    #[test]
    fn option_lines_continue_under_their_text_and_a_long_word_is_cut() {
        assert_eq!(
            wrapped("  b) SYN, SYN-ACK, ACK, then data flows both ways\r\n", 24),
            "  b) SYN, SYN-ACK, ACK,\r\n     then data flows\r\n     both ways\r\n"
        );
        assert_eq!(
            wrapped("x https://example.org/a/very/long/path/indeed\r\n", 20),
            "x\r\nhttps://example.org/\r\na/very/long/path/ind\r\need\r\n"
        );
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let text = "李".repeat(15);
        assert!(needs_wrap(text.as_bytes(), 20), "45 bytes, 30 columns");
        assert!(
            !needs_wrap("é".repeat(30).as_bytes(), 30),
            "60 bytes, 30 columns"
        );
        assert_eq!(
            wrapped(&text, 20),
            format!("{}\r\n{}", "李".repeat(10), "李".repeat(5))
        );
    }

    #[test]
    fn a_verdict_too_wide_keeps_its_anchors_on_one_line_and_names_the_answer_below() {
        let verdict = "Wrong. The answer was d) Local IP address, local port, remote IP address and remote port. Score: 0/1\r\n\r\nQuestion 2 of 58 (30 s)\r\n";
        assert_eq!(
            wrapped(verdict, 80),
            "Wrong. Score: 0/1\r\nThe answer was d) Local IP address, local port, remote IP address and remote\r\nport.\r\n\r\nQuestion 2 of 58 (30 s)\r\n"
        );
        let timed_out = "\r\nTime is up. The answer was Domain Name System. Score: 12/40\r\nnext> ";
        assert!(
            wrapped(timed_out, 40).starts_with(
                "\r\nTime is up. Score: 12/40\r\nThe answer was Domain Name System.\r\n"
            ),
            "{}",
            wrapped(timed_out, 40)
        );
        // One that fits is left alone.
        assert_eq!(wrapped(verdict, 120), verdict);
    }

    #[test]
    fn lines_whose_anchors_span_them_are_never_broken_even_in_a_narrow_window() {
        // Narrower than the verdict itself: it stays whole, the answer it names is wrapped.
        assert_eq!(
            wrapped(
                "Time is up. The answer was Domain Name System. Score: 12/40\r\n",
                20
            ),
            "Time is up. Score: 12/40\r\nThe answer was\r\nDomain Name System.\r\n"
        );
        for line in ["Correct! Score: 10/10\r\n", "Answer recorded.\r\n"] {
            assert_eq!(wrapped(line, 20), line);
        }
        // Lines that only start like one (a bank's feedback) are wrapped as any other.
        assert_eq!(
            wrapped(
                "Wrong. The answer was the one Score: nothing at all\r\n",
                20
            ),
            "Wrong. The answer\r\nwas the one Score:\r\nnothing at all\r\n"
        );
        assert_eq!(
            wrapped(
                "Correct! That is right, and this feedback runs long.\r\n",
                30
            ),
            "Correct! That is right, and\r\nthis feedback runs long.\r\n"
        );
        let over = format!(
            "Quiz over, {}: you scored 3 out of 3 (100%).\r\n",
            "李".repeat(30)
        );
        assert_eq!(wrapped(&over, 80), over);
    }

    #[test]
    fn every_wrapped_line_fits_and_no_word_is_lost() {
        let text = "The quick brown fox jumps over the lazy dog, and then it keeps on running until the end of a rather long line.\r\n";
        for width in MIN_WIDTH..100 {
            let out = wrapped(text, width);
            for line in out.split("\r\n") {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
            assert_eq!(
                out.split_whitespace().collect::<Vec<_>>(),
                text.split_whitespace().collect::<Vec<_>>()
            );
        }
    }
}
