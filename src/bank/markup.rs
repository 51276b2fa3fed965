//! Bank text written as HTML or Markdown, shown as plain terminal text.
//!
//! Moodle's exports carry `[html]<p>...</p>`, entities (`&nbsp;`, `&quot;`), `<span style>`,
//! lists, images (`<img src="@@PLUGINFILE@@/x.jpg">`) and Markdown. quizd renders them to text
//! with `html2text` (entities decoded, `<br>` and paragraphs as line breaks, lists as `* `
//! lines, no styling) and `pulldown-cmark` for Markdown; an image becomes `[image: ALT]`, and
//! the bank gets a warning that the question needs an image a terminal cannot show.

/// How a text is written, as Moodle's format markers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// `[plain]`: shown as written.
    Plain,
    /// `[html]`: HTML; line breaks in the source are spaces.
    Html,
    /// `[moodle]`, and text with no marker (Moodle's default, FORMAT_MOODLE): HTML where line
    /// breaks count. Text with no tag or entity in it is shown as written, so `vector<int>`
    /// or `a < b` in a plain bank stays as it is.
    Moodle,
    /// `[markdown]`.
    Markdown,
}

/// Text ready for a terminal, and the images and recordings it mentioned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    pub text: String,
    /// Each image's alt text (or file name), in order.
    pub images: Vec<String>,
    /// Each sound or video (a link to one, `<audio>`, `<video>`): its file name.
    pub recordings: Vec<String>,
}

/// The images and recordings one question names, gathered from its texts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Media {
    pub images: Vec<String>,
    pub recordings: Vec<String>,
}

impl Media {
    /// Keeps what `rendered` names; returns its text.
    pub fn keep(&mut self, rendered: Rendered) -> String {
        self.images.extend(rendered.images);
        self.recordings.extend(rendered.recordings);
        rendered.text
    }

    pub fn append(&mut self, other: Media) {
        self.images.extend(other.images);
        self.recordings.extend(other.recordings);
    }

    /// The warnings for a question naming these: students cannot see or hear them in a
    /// terminal.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.images.is_empty() {
            out.push(format!(
                "needs an image a terminal cannot show ({}); students see [image: ...] in its place",
                self.images.join(", ")
            ));
        }
        if !self.recordings.is_empty() {
            out.push(format!(
                "needs a recording a terminal cannot play ({}); students see [recording: ...] in its place",
                self.recordings.join(", ")
            ));
        }
        out
    }
}

/// Renders `text` written in `markup` as plain text. Line breaks are `\n`; lines are not
/// wrapped (the quiz wraps to each student's window). What an entity or Markdown turned into
/// a character that could move a cursor or hide text (`&#27;`, `&#x202E;`) is dropped: the
/// bank's own bytes were checked before rendering, its entities could not be.
pub fn render(text: &str, markup: Markup) -> Rendered {
    let mut rendered = render_unchecked(text, markup);
    if rendered
        .text
        .chars()
        .any(|c| c != '\n' && crate::text::unfit_for_a_bank(c))
    {
        rendered.text = rendered
            .text
            .chars()
            .filter(|&c| c == '\n' || !crate::text::unfit_for_a_bank(c))
            .collect();
    }
    rendered
}

fn render_unchecked(text: &str, markup: Markup) -> Rendered {
    match markup {
        Markup::Plain => Rendered {
            text: text.to_owned(),
            ..Rendered::default()
        },
        Markup::Html => from_html(text),
        Markup::Moodle if looks_like_html(text) => from_html(&text.replace('\n', "<br>")),
        Markup::Moodle => Rendered {
            text: text.to_owned(),
            ..Rendered::default()
        },
        Markup::Markdown => {
            let mut html = String::with_capacity(text.len() + text.len() / 4);
            pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(text));
            from_html(&html)
        }
    }
}

/// Whether text with no marker is HTML: a tag Moodle's editor writes, or an entity.
fn looks_like_html(text: &str) -> bool {
    if !text.contains('<') && !text.contains('&') {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    const TAGS: [&str; 18] = [
        "<p>", "<p ", "</p>", "<br>", "<br/>", "<br />", "<b>", "</b>", "<i>", "</i>", "<strong>",
        "<em>", "<span ", "<div", "<img ", "<ul>", "<ol>", "<li>",
    ];
    const ENTITIES: [&str; 8] = [
        "&nbsp;", "&amp;", "&lt;", "&gt;", "&quot;", "&#", "&apos;", "&eacute;",
    ];
    TAGS.iter().any(|t| lower.contains(t)) || ENTITIES.iter().any(|e| lower.contains(e))
}

fn from_html(html: &str) -> Rendered {
    let (html, recordings) = recordings_as_text(html);
    let (html, images) = images_as_text(&html);
    // What Moodle's editor writes for most questions (paragraphs, bold, a line break, an
    // entity) is turned into text here, at a fraction of a full parse's cost; anything else
    // (lists, tables, attributes, other entities) goes to html2text.
    let text = simple_html(&html).unwrap_or_else(|| {
        // A table is laid out padded to its widest cell: one long cell over many rows made
        // gigabytes of spaces. Tables, and deep nesting, are read flat.
        if find_ignoring_case(&html, "<table").is_some() || nesting(&html) > MAX_NESTING {
            // Deeply nested lists cost html2text time that grows faster than the text: a
            // 280 KB file took 5 s. Such text is read flat instead.
            return flat_text(&html);
        }
        let text = html2text::config::plain_no_decorate()
            .string_from_read(html.as_bytes(), 100_000)
            .unwrap_or_else(|_| html.clone());
        // Text several times longer than its HTML is padding, not content.
        if text.len() > 4 * html.len() + 4096 {
            flat_text(&html)
        } else {
            text
        }
    });
    // A non-breaking space shows as a space; runs of blank lines as one.
    let text = text.replace('\u{a0}', " ");
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    Rendered {
        text: out,
        images,
        recordings,
    }
}

/// Deepest nesting of HTML elements handed to html2text; deeper text is read flat.
const MAX_NESTING: usize = 64;

/// How deep the elements of `html` nest: a stack of open elements, a closing tag popping
/// back to the element it closes (one that closes nothing is ignored, as an HTML parser
/// ignores it), void elements not counted.
fn nesting(html: &str) -> usize {
    let mut open: Vec<String> = Vec::new();
    let mut deepest = 0;
    for (at, _) in html.match_indices('<') {
        let rest = &html[at + 1..];
        let closing = rest.starts_with('/');
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        if closing {
            if let Some(depth) = open.iter().rposition(|n| *n == name) {
                open.truncate(depth);
            }
            continue;
        }
        let void = matches!(
            name.as_str(),
            "br" | "img"
                | "hr"
                | "input"
                | "meta"
                | "link"
                | "source"
                | "wbr"
                | "col"
                | "area"
                | "base"
                | "embed"
                | "param"
                | "track"
        );
        if !void {
            open.push(name);
            deepest = deepest.max(open.len());
            if deepest > MAX_NESTING {
                // Deep enough to be read flat: no need to look further.
                return deepest;
            }
        }
    }
    deepest
}

/// The character a common entity (`nbsp`, `amp`, ..., `#233`, `#xE9`) stands for.
fn entity(name: &str) -> Option<char> {
    Some(match name {
        "nbsp" => ' ',
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => name.strip_prefix('#')?.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// Text with its common entities decoded ([`entity`]); others are left as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let decoded = rest[at..]
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| Some((entity(&rest[at + 1..at + end])?, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[at + end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML read flat, in time linear in its length: tags are spaces (block tags line breaks),
/// the common entities decoded.
fn flat_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e + 1);
        let tag = rest[at..end].to_ascii_lowercase();
        let block = ["<p", "</p", "<br", "<div", "</div", "<li", "<tr", "<h"]
            .iter()
            .any(|t| tag.starts_with(t));
        out.push(if block { '\n' } else { ' ' });
        rest = &rest[end..];
    }
    out.push_str(rest);
    let out = decode_entities(&out);
    out.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How far past a recording's opening tag its closing tag is looked for.
const CLOSE_WITHIN: usize = 4096;

/// File extensions of sound and video.
const RECORDINGS: [&str; 11] = [
    ".mp3", ".wav", ".ogg", ".oga", ".m4a", ".aac", ".flac", ".mp4", ".webm", ".mov", ".avi",
];

/// Replaces each link to a recording with its text and `[recording: FILE]`, and each
/// `<audio>` or `<video>` with `[recording: FILE]`; lists the files. One pass forward: each
/// tag is looked at where it starts, and a link's or element's end searched for once.
fn recordings_as_text(html: &str) -> (String, Vec<String>) {
    let lower = html.to_ascii_lowercase();
    if !RECORDINGS.iter().any(|ext| lower.contains(ext)) {
        return (html.to_owned(), Vec::new());
    }
    let mut out = String::with_capacity(html.len());
    let mut found = Vec::new();
    let mut at = 0;
    let mut copied = 0;
    while let Some(next) = lower[at..].find('<') {
        let start = at + next;
        at = start + 1;
        let tag = if lower[start..].starts_with("<a ") {
            "a"
        } else if lower[start..].starts_with("<audio") {
            "audio"
        } else if lower[start..].starts_with("<video") {
            "video"
        } else {
            continue;
        };
        let Some(open_end) = lower[start..].find('>').map(|e| start + e + 1) else {
            break;
        };
        let close = format!("</{tag}>");
        // The element's end, looked for only near it (each tag costs a bounded search, so a
        // file of unclosed tags is not searched to its end again and again).
        let end_near = |from: usize| {
            let window = &lower[from..(from + CLOSE_WITHIN).min(lower.len())];
            window.find(&close).map(|e| from + e)
        };
        let open = &html[start..open_end];
        let mut file = attribute(open, "href").or_else(|| attribute(open, "src"));
        if tag != "a" && file.is_none() {
            // <audio><source src=...></audio>
            file = end_near(open_end).and_then(|end| {
                let inner = &html[open_end..end];
                let source = find_ignoring_case(inner, "<source")?;
                attribute(&inner[source..], "src")
            });
        }
        let Some(file) = file.filter(|f| {
            let f = f.to_ascii_lowercase();
            RECORDINGS.iter().any(|ext| f.ends_with(ext))
        }) else {
            at = open_end;
            continue;
        };
        let end = end_near(open_end);
        let name = crate::text::sanitize(file.rsplit('/').next().unwrap_or(&file), 80);
        out.push_str(&html[copied..start]);
        let after = end.map_or(open_end, |end| end + close.len());
        if tag == "a" {
            out.push_str(&html[open_end..end.unwrap_or(open_end)]);
            out.push(' ');
        }
        out.push_str("[recording: ");
        out.push_str(&escape_html(&name));
        out.push(']');
        found.push(name);
        copied = after;
        at = after;
    }
    out.push_str(&html[copied..]);
    (out, found)
}

/// Text of HTML that holds only `p`, `br`, `b`, `strong`, `i`, `em`, `u`, `span` and `div`
/// tags (no attribute but on `span` and `p`) and the common entities, as html2text would
/// write it; `None` for anything else.
fn simple_html(html: &str) -> Option<String> {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut space = false;
    let push_break = |out: &mut String, paragraph: bool| {
        while out.ends_with(' ') {
            out.pop();
        }
        if out.is_empty() {
            return;
        }
        let want = if paragraph { "\n\n" } else { "\n" };
        if !out.ends_with(want) {
            if paragraph && out.ends_with('\n') {
                out.push('\n');
            } else if !out.ends_with('\n') || paragraph {
                out.push_str(want);
            }
        }
    };
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>')?;
                let tag = rest[1..end].trim().to_ascii_lowercase();
                let (closing, name) = match tag.strip_prefix('/') {
                    Some(name) => (true, name.trim()),
                    None => (false, tag.trim_end_matches('/').trim()),
                };
                let (name, attributes) = name.split_once(char::is_whitespace).unwrap_or((name, ""));
                if !attributes.is_empty() && !matches!(name, "span" | "p") {
                    return None;
                }
                match name {
                    "p" | "div" => {
                        push_break(&mut out, true);
                        space = false;
                    }
                    "br" => {
                        // Each <br> is a line break: two make a blank line.
                        while out.ends_with(' ') {
                            out.pop();
                        }
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        space = false;
                    }
                    // Inline: a space before it is still owed.
                    "b" | "strong" | "i" | "em" | "u" | "span" => {}
                    _ => return None,
                }
                let _ = closing;
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|&e| e <= 10)?;
                let decoded = entity(&rest[1..end])?;
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(decoded);
                rest = &rest[end + 1..];
            }
            c if c.is_whitespace() => {
                space = !out.is_empty() && !out.ends_with('\n');
                rest = &rest[c.len_utf8()..];
            }
            c => {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Some(out.trim_end().to_string())
}

/// Replaces each `<img ...>` with the text `[image: ALT]` (the file name without alt text),
/// and lists them.
fn images_as_text(html: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(html.len());
    let mut images = Vec::new();
    let mut rest = html;
    while let Some(at) = find_ignoring_case(rest, "<img") {
        out.push_str(&rest[..at]);
        let tag_end = rest[at..].find('>').map_or(rest.len(), |end| at + end + 1);
        let tag = &rest[at..tag_end];
        let name = attribute(tag, "alt")
            .filter(|alt| !alt.trim().is_empty())
            .or_else(|| {
                attribute(tag, "src").map(|src| src.rsplit('/').next().unwrap_or(&src).to_string())
            })
            .unwrap_or_else(|| "picture".to_string());
        let name = crate::text::sanitize(name.trim(), 80);
        out.push_str("[image: ");
        out.push_str(&escape_html(&name));
        out.push(']');
        images.push(name);
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    (out, images)
}

fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value of `name="..."` (or `'...'`) in a tag, entities left as written.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = find_ignoring_case(&tag[from..], name) {
        let start = from + at;
        from = start + name.len();
        let before = tag[..start].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let after = tag[from..].trim_start();
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let inner = &value[1..];
            return Some(inner[..inner.find(quote)?].to_string());
        }
        let end = value
            .find(|c: char| c.is_whitespace() || c == '>')
            .unwrap_or(value.len());
        return Some(value[..end].to_string());
    }
    None
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        render(text, Markup::Html).text
    }

    #[test]
    fn moodle_html_becomes_terminal_text() {
        assert_eq!(
            html("<p>Which <b>port</b>&nbsp;is &quot;HTTPS&quot;?</p><p>Pick one.</p>"),
            "Which port is \"HTTPS\"?\n\nPick one."
        );
        assert_eq!(
            html("Line one<br>Line two<ul><li>first</li><li>second</li></ul>"),
            "Line one\nLine two\n* first\n* second"
        );
        assert_eq!(
            html("<span style=\"color:red\">red</span> &amp; &lt;tag&gt; &eacute;"),
            "red & <tag> é"
        );
        // Line breaks in HTML source are spaces.
        assert_eq!(html("two\nlines"), "two lines");
    }

    #[test]
    fn simple_html_reads_as_html2text_reads_it() {
        for html in [
            "<p>Which <b>port</b>&nbsp;is &quot;HTTPS&quot;?</p><p>Pick one.</p>",
            "<p dir=\"ltr\" style=\"text-align: left;\">Left<br>and right</p>",
            "A &amp; B &lt;tag&gt; &#233; &#x41; <span style=\"x\">s</span>",
            "<p>one</p>\n<p>two</p>",
            "two\n  spaced   words",
            "<p></p><p>after empty</p>",
            "Listen:<br /><br />What language?",
        ] {
            let simple = simple_html(html).expect("simple");
            let full = html2text::config::plain_no_decorate()
                .string_from_read(html.as_bytes(), 100_000)
                .expect("html2text");
            let tidy = |t: &str| {
                t.replace('\u{a0}', " ")
                    .lines()
                    .map(str::trim_end)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_string()
            };
            assert_eq!(tidy(&simple), tidy(&full), "{html:?}");
        }
        assert_eq!(
            simple_html("<ul><li>x</li></ul>"),
            None,
            "lists go to html2text"
        );
        assert_eq!(simple_html("&unknown;"), None);
    }

    #[test]
    fn deeply_nested_html_is_read_flat_in_linear_time() {
        // html2text took 5 s on this (280 KB): it is read flat instead.
        let deep = format!("{}deep? &amp; <b>more</b>", "<ul><li>".repeat(20_000));
        assert!(nesting(&deep) > MAX_NESTING);
        assert_eq!(render(&deep, Markup::Html).text, "deep? & more");
        assert_eq!(nesting("<p><b>x</b><br><img src=a></p>"), 2);
    }

    #[test]
    fn entities_cannot_make_characters_that_move_a_cursor_or_hide_text() {
        for markup in [Markup::Html, Markup::Moodle, Markup::Markdown] {
            let text = render(
                "<p>A&#27;[2J&#x1b;]0;x&#7;B&#155;C&#x202E;D&#8297;E &nbsp;<b>ok</b></p><ul><li>&#27;[31m</li></ul>",
                markup,
            )
            .text;
            assert!(
                !text
                    .chars()
                    .any(|c| c != '\n' && crate::text::unfit_for_a_bank(c)),
                "{markup:?}: {text:?}"
            );
        }
    }

    #[test]
    fn a_table_is_read_flat_and_stray_end_tags_do_not_hide_nesting() {
        let long = "x".repeat(20_000);
        let table = format!(
            "<table><tr><td>{long}</td></tr>{}</table>",
            "<tr><td>a</td></tr>".repeat(2_000)
        );
        let text = render(&table, Markup::Html).text;
        assert!(text.len() < 2 * table.len(), "{} bytes", text.len());
        assert!(nesting(&"<ul></b><li></b>".repeat(1_000)) > MAX_NESTING);
        assert_eq!(nesting("<p>a</p><p>b</p><p>c</p>"), 1);
        // An image's name reaches the teacher's log: made safe to print.
        let r = render("<img alt=\"&#27;[2Jx\u{1b}]0;t\">", Markup::Html);
        assert!(
            r.images.iter().all(|n| !n.contains('\u{1b}')),
            "{:?}",
            r.images
        );
    }

    #[test]
    fn an_image_is_named_and_listed() {
        let r = render(
            "<p><img src=\"@@PLUGINFILE@@/cat.jpg\" alt=\"a cat\" width=\"200\"> What is it?</p>",
            Markup::Html,
        );
        assert_eq!(r.text, "[image: a cat] What is it?");
        assert_eq!(r.images, ["a cat"]);
        let r = render("<IMG SRC='@@PLUGINFILE@@/net/diagram.png'>", Markup::Html);
        assert_eq!(r.text, "[image: diagram.png]");
    }

    #[test]
    fn a_recording_is_named_and_listed() {
        let r = render(
            "<a href=\"http://demo.moodle.net/media/bonjour.mp3\">Listen to this greeting:</a><br /><br />What language is being spoken?",
            Markup::Html,
        );
        assert_eq!(
            r.text,
            "Listen to this greeting: [recording: bonjour.mp3]\n\nWhat language is being spoken?"
        );
        assert_eq!(r.recordings, ["bonjour.mp3"]);
        let r = render(
            "<p>Hear it: <audio controls><source src=\"@@PLUGINFILE@@/word.ogg\"></audio></p>",
            Markup::Html,
        );
        assert_eq!(r.text, "Hear it: [recording: word.ogg]");
        // An ordinary link stays a link's text.
        assert!(
            render("<a href=\"x.html\">see</a>", Markup::Html)
                .recordings
                .is_empty()
        );
    }

    #[test]
    fn text_with_no_marker_is_html_only_when_it_looks_like_it() {
        assert_eq!(
            render(
                "#include <sys/socket.h>\nvector<int> x; a < b && c",
                Markup::Moodle
            )
            .text,
            "#include <sys/socket.h>\nvector<int> x; a < b && c"
        );
        assert_eq!(
            render("Caf&eacute;?\nSecond line", Markup::Moodle).text,
            "Café?\nSecond line"
        );
    }

    #[test]
    fn markdown_becomes_text() {
        let r = render(
            "**Bold** and *em*\n\n- one\n- two\n\n![a graph](g.png)",
            Markup::Markdown,
        );
        assert_eq!(r.text, "Bold and em\n* one\n* two\n\n[image: a graph]");
        assert_eq!(r.images, ["a graph"]);
    }
}
