//! Replies as Block Kit: the text as `section` blocks in Slack's mrkdwn (converted from the
//! bot's Markdown-ish text, with `&`, `<` and `>` escaped so that user-derived text cannot
//! ping `@channel` or forge links), the buttons as an `actions` block, and a plain `text`
//! fallback for notifications.

use crate::domain::chat::{Button, ButtonStyle, Outgoing};
use serde_json::{json, Value};

/// A section's text is at most 3000 characters; stay a little below.
const SECTION_MAX: usize = 2900;
/// A message holds at most 50 blocks; leave room for the buttons and a note.
const MAX_SECTIONS: usize = 45;
/// Buttons per `actions` block.
const BUTTONS_PER_BLOCK: usize = 25;
/// The `text` fallback (notifications) is cut here.
const FALLBACK_MAX: usize = 3000;
/// The prefix of the buttons' action ids.
pub const ACTION_PREFIX: &str = "opsbot-answer-";

/// `&`, `<` and `>` as Slack wants them in any text it formats.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One line outside code: inline code kept (escaped only), `**bold**` -> `*bold*`, a leading
/// `- ` bullet -> `•`.
fn inline(line: &str) -> String {
    let (indent, body) = line.split_at(line.len() - line.trim_start().len());
    let body = match body.strip_prefix("- ") {
        Some(rest) => format!("• {rest}"),
        None => body.to_string(),
    };
    let mut out = String::from(indent);
    for (i, part) in body.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&escape(part));
        } else {
            out.push_str(&bold(&escape(part)));
        }
    }
    out
}

/// `**x**` -> `*x*` where x is not empty and does not start or end with a space or `*`
/// (`password=***` stays as it is).
fn bold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("**") {
        let after = &rest[i + 2..];
        let close = after.find("**").filter(|&j| {
            let inner = &after[..j];
            !inner.is_empty()
                && !inner.starts_with([' ', '*'])
                && !inner.ends_with([' ', '*'])
                && !after[j + 2..].starts_with('*')
        });
        match close {
            Some(j) if !rest[..i].ends_with('*') => {
                out.push_str(&rest[..i]);
                out.push('*');
                out.push_str(&after[..j]);
                out.push('*');
                rest = &after[j + 2..];
            }
            _ => {
                out.push_str(&rest[..i + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A unit of the converted text: one line, or a block of output lines.
enum Unit {
    Line(String),
    Code(Vec<String>),
}

/// The bot's text as mrkdwn pieces, each at most `SECTION_MAX` characters: output lines
/// (`  | …`) become code blocks, other lines go through `inline`.
pub fn mrkdwn_sections(text: &str) -> Vec<String> {
    let mut units: Vec<Unit> = Vec::new();
    for line in text.lines() {
        match line
            .strip_prefix("  | ")
            .or_else(|| line.strip_prefix("  |"))
        {
            Some(out) => match units.last_mut() {
                Some(Unit::Code(lines)) => lines.push(escape(out)),
                _ => units.push(Unit::Code(vec![escape(out)])),
            },
            None => units.push(Unit::Line(inline(line))),
        }
    }
    let mut sections: Vec<String> = Vec::new();
    let mut cur = String::new();
    for u in units {
        match u {
            Unit::Line(l) => {
                for piece in split_long(&l, SECTION_MAX) {
                    put(piece, &mut sections, &mut cur);
                }
            }
            Unit::Code(lines) => {
                // one fence per piece that fits in a section
                let mut block: Vec<String> = Vec::new();
                let mut len = 0;
                for l in lines {
                    for l in split_long(&l, SECTION_MAX - 8) {
                        if !block.is_empty() && len + l.len() + 1 > SECTION_MAX - 8 {
                            put(fence(&block), &mut sections, &mut cur);
                            block.clear();
                            len = 0;
                        }
                        len += l.len() + 1;
                        block.push(l);
                    }
                }
                if !block.is_empty() {
                    put(fence(&block), &mut sections, &mut cur);
                }
            }
        }
    }
    if !cur.trim().is_empty() {
        sections.push(cur);
    }
    sections
}

/// Appends a piece to the current section, starting a new one when it would not fit.
fn put(piece: String, sections: &mut Vec<String>, cur: &mut String) {
    if !cur.is_empty() && cur.len() + 1 + piece.len() > SECTION_MAX {
        sections.push(std::mem::take(cur));
    }
    if !cur.is_empty() {
        cur.push('\n');
    }
    cur.push_str(&piece);
}

fn fence(lines: &[String]) -> String {
    format!("```\n{}\n```", lines.join("\n"))
}

/// Splits a line longer than `max` bytes at character boundaries.
fn split_long(s: &str, max: usize) -> Vec<String> {
    if s.len() <= max {
        return vec![s.to_string()];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if cur.len() + c.len_utf8() > max {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn cut(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A button element.
pub fn button(i: usize, b: &Button) -> Value {
    let mut v = json!({
        "type": "button",
        "action_id": format!("{ACTION_PREFIX}{i}"),
        "text": {"type": "plain_text", "text": cut(&b.label, 75), "emoji": true},
        "value": cut(&b.reply, 2000),
    });
    match b.style {
        ButtonStyle::Default => {}
        ButtonStyle::Primary => v["style"] = "primary".into(),
        ButtonStyle::Danger => v["style"] = "danger".into(),
    }
    v
}

/// The blocks of a message: its sections and its buttons.
pub fn blocks(text: &str, buttons: &[Button]) -> Vec<Value> {
    let mut sections = mrkdwn_sections(text);
    let mut truncated = false;
    if sections.len() > MAX_SECTIONS {
        sections.truncate(MAX_SECTIONS);
        truncated = true;
    }
    let mut out: Vec<Value> = sections
        .into_iter()
        .map(|s| json!({"type": "section", "text": {"type": "mrkdwn", "text": s}}))
        .collect();
    if truncated {
        out.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": "(cut: the reply was too long for one Slack message)"}
        ]}));
    }
    for (n, chunk) in buttons.chunks(BUTTONS_PER_BLOCK).enumerate() {
        out.push(json!({
            "type": "actions",
            "block_id": format!("opsbot-buttons-{n}"),
            "elements": chunk
                .iter()
                .enumerate()
                .map(|(i, b)| button(n * BUTTONS_PER_BLOCK + i, b))
                .collect::<Vec<_>>(),
        }));
    }
    out
}

/// The plain fallback text (escaped; shown in notifications and by old clients).
pub fn fallback(text: &str) -> String {
    cut(&escape(text), FALLBACK_MAX)
}

/// The `chat.postMessage` arguments for a reply (without the charts).
pub fn post_message(channel: &str, o: &Outgoing) -> Value {
    let mut v = json!({
        "channel": channel,
        "text": fallback(&o.text),
        "blocks": blocks(&o.text, &o.buttons),
        "unfurl_links": false,
        "unfurl_media": false,
    });
    if let Some(t) = &o.thread {
        v["thread_ts"] = t.clone().into();
    }
    v
}

/// The blocks of a message whose button was clicked: without its buttons (so that nobody
/// answers twice), with a note of who answered what.
pub fn answered(blocks: &[Value], user: &str, label: &str) -> Vec<Value> {
    let mut out: Vec<Value> = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) != Some("actions"))
        .cloned()
        .collect();
    out.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("<@{}> answered *{}*", escape(user), escape(label))}
    ]}));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_to_mrkdwn_with_escaping() {
        assert_eq!(
            mrkdwn_sections("**Deploy** <@channel> & `a<b>` done\n- one\n  1. two"),
            ["*Deploy* &lt;@channel&gt; &amp; `a&lt;b&gt;` done\n• one\n  1. two"]
        );
        // masked values and lone stars stay as they are
        assert_eq!(bold("password=*** x=**"), "password=*** x=**");
        assert_eq!(bold("run:* and **x y** **"), "run:* and *x y* **");
        assert_eq!(inline("`**not bold**` **bold**"), "`**not bold**` *bold*");
    }

    #[test]
    fn output_lines_become_code_blocks() {
        let s = mrkdwn_sections("#1 failed.\nOutput:\n  | step 1 <ok>\n  | fatal: *boom*\nDone.");
        assert_eq!(
            s,
            ["#1 failed.\nOutput:\n```\nstep 1 &lt;ok&gt;\nfatal: *boom*\n```\nDone."]
        );
    }

    #[test]
    fn long_texts_are_split_into_sections_and_capped() {
        let text: String = (0..400)
            .map(|i| format!("  | line {i} {}\n", "x".repeat(40)))
            .collect();
        let s = mrkdwn_sections(&text);
        assert!(s.len() > 1);
        assert!(s
            .iter()
            .all(|p| p.len() <= 3000 && p.starts_with("```\n") && p.ends_with("\n```")));
        let huge = "y".repeat(200_000);
        let b = blocks(&huge, &[]);
        assert!(b.len() <= 50);
        assert_eq!(b.last().unwrap()["type"], "context");
        assert!(fallback(&huge).chars().count() <= 3000);
    }

    #[test]
    fn buttons_become_an_actions_block() {
        let b = blocks(
            "Run it?",
            &[
                Button::new("Yes", "!yes", ButtonStyle::Primary),
                Button::new("No", "!no", ButtonStyle::Default),
                Button::new("Approve #7", "!approve 7", ButtonStyle::Danger),
            ],
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b[1]["type"], "actions");
        let e = b[1]["elements"].as_array().unwrap();
        assert_eq!(e[0]["value"], "!yes");
        assert_eq!(e[0]["style"], "primary");
        assert!(e[1].get("style").is_none());
        assert_eq!(e[2]["style"], "danger");
        assert_eq!(e[2]["text"]["text"], "Approve #7");
        assert_eq!(e[1]["action_id"], "opsbot-answer-1");
        let after = answered(&b, "U2", "Yes <b>");
        assert_eq!(after.len(), 2);
        assert_eq!(after[0], b[0]);
        assert_eq!(
            after[1]["elements"][0]["text"],
            "<@U2> answered *Yes &lt;b&gt;*"
        );
    }

    #[test]
    fn post_message_arguments() {
        let o = Outgoing {
            channel: "slack:C1".into(),
            text: "a < b".into(),
            thread: Some("1.5".into()),
            ..Default::default()
        };
        let v = post_message("C1", &o);
        assert_eq!(v["channel"], "C1");
        assert_eq!(v["thread_ts"], "1.5");
        assert_eq!(v["text"], "a &lt; b");
        assert_eq!(v["blocks"][0]["text"]["text"], "a &lt; b");
        let top = post_message("C1", &Outgoing { thread: None, ..o });
        assert!(top.get("thread_ts").is_none());
    }
}
