//! What the bot posts: message contents (plain `body` plus Markdown rendered to HTML in
//! `formatted_body`), image contents, the thread relation, and what a user wrote (reply
//! fallbacks and a leading mention of the bot removed).
//!
//! The bot's texts hold user input (parameters, job output), so the HTML is made safe: raw
//! HTML is shown as text, links other than http(s)/mailto/matrix.to lose their target, and
//! images (which a client would fetch) become their alternative text.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use serde_json::{json, Value};

/// The `msgtype` of the bot's text messages: a notice (clients show it as a bot's message,
/// and bots do not answer notices, so two bots cannot talk to each other forever).
pub const TEXT_MSGTYPE: &str = "m.notice";

/// Markdown -> HTML for `formatted_body`, with every line break kept and nothing a client
/// would execute or fetch.
pub fn html(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    // for each open link: whether its tag is kept
    let mut links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options).filter_map(|ev| match ev {
        // the bot's texts are line-oriented: a newline is a line break, not a space
        Event::SoftBreak => Some(Event::HardBreak),
        Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = safe_url(&dest_url);
            links.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(ev),
        Event::FootnoteReference(s) => Some(Event::Text(CowStr::from(format!("[^{s}]")))),
        Event::InlineMath(s) | Event::DisplayMath(s) => Some(Event::Code(s)),
        other => Some(other),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out.trim_end().to_string()
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The thread relation of a message in the thread rooted at `root`, with the reply fallback
/// for clients without threads.
pub fn thread_relation(root: &str) -> Value {
    json!({
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": true,
        "m.in_reply_to": { "event_id": root },
    })
}

/// A text message (a notice) with its HTML form, in `thread` when given.
pub fn text_content(text: &str, thread: Option<&str>) -> Value {
    let mut c = json!({
        "msgtype": TEXT_MSGTYPE,
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html(text),
    });
    if let Some(t) = thread {
        c["m.relates_to"] = thread_relation(t);
    }
    c
}

/// An `m.image` message for an uploaded PNG.
pub fn image_content(
    alt: &str,
    file_name: &str,
    mxc: &str,
    png: &[u8],
    thread: Option<&str>,
) -> Value {
    let mut info = json!({ "mimetype": "image/png", "size": png.len() });
    if let Some((w, h)) = png_size(png) {
        info["w"] = json!(w);
        info["h"] = json!(h);
    }
    let mut c = json!({
        "msgtype": "m.image",
        "body": alt,
        "filename": file_name,
        "url": mxc,
        "info": info,
    });
    if let Some(t) = thread {
        c["m.relates_to"] = thread_relation(t);
    }
    c
}

/// Width and height from a PNG's header.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < 24 || !png.starts_with(SIGNATURE) || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    Some((w, h))
}

/// What a user wrote: the body without a reply fallback (`> <@x> quoted` lines and the blank
/// line after them) and without a leading mention of the bot (`opsbot: `, `@opsbot:server `).
pub fn command_text(body: &str, bot_user: &str, bot_name: Option<&str>) -> String {
    let mut text = body;
    if text.starts_with("> ") {
        // the fallback ends at the first blank line
        match text.find("\n\n") {
            Some(i) if text[..i].lines().all(|l| l.starts_with('>')) => text = &text[i + 2..],
            _ => {}
        }
    }
    let text = text.trim();
    let local = bot_user
        .strip_prefix('@')
        .and_then(|u| u.split_once(':'))
        .map(|(l, _)| l);
    let mut names: Vec<&str> = vec![bot_user];
    names.extend(local);
    names.extend(bot_name.filter(|n| !n.is_empty()));
    for name in names {
        let rest = text
            .strip_prefix(name)
            .or_else(|| text.strip_prefix('@').and_then(|t| t.strip_prefix(name)));
        if let Some(rest) = rest {
            if let Some(r) = rest.strip_prefix(':').or_else(|| rest.strip_prefix(',')) {
                return r.trim().to_string();
            }
            if rest.starts_with(char::is_whitespace) {
                return rest.trim().to_string();
            }
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_with_lines_kept() {
        assert_eq!(html("**#1001** ok"), "<p><strong>#1001</strong> ok</p>");
        assert_eq!(
            html("Started `backup` as #1001.\nI'll post the result here."),
            "<p>Started <code>backup</code> as #1001.<br />\nI'll post the result here.</p>"
        );
    }

    #[test]
    fn user_input_cannot_inject_html_links_or_images() {
        let h = html("<script>alert(1)</script> and <b onclick=x>b</b>");
        assert!(!h.contains("<script") && !h.contains("<b "), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
        let h = html("<div>\n<img src=x onerror=alert(1)>\n</div>");
        assert!(!h.contains("<img") && !h.contains("<div"), "{h}");
        let h = html("[click](javascript:alert(1)) [ok](https://example.org/a?b=\"c\")");
        assert!(!h.contains("javascript"), "{h}");
        assert!(h.contains("click"), "{h}");
        assert!(
            h.contains(r#"<a href="https://example.org/a?b=%22c%22">ok</a>"#),
            "{h}"
        );
        let h = html("![tracker](https://evil.example/pixel.png) ![x](mxc://evil/x)");
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("tracker"), "{h}");
        let h = html("param=\"><svg onload=alert(1)>");
        assert!(!h.contains("<svg"), "{h}");
    }

    #[test]
    fn contents_carry_the_thread() {
        let c = text_content("hi", Some("$root"));
        assert_eq!(c["msgtype"], "m.notice");
        assert_eq!(c["body"], "hi");
        assert_eq!(c["format"], "org.matrix.custom.html");
        assert_eq!(c["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(c["m.relates_to"]["event_id"], "$root");
        assert_eq!(c["m.relates_to"]["is_falling_back"], true);
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$root");
        assert!(text_content("hi", None).get("m.relates_to").is_none());
    }

    #[test]
    fn images_have_their_size() {
        let chart = crate::domain::chart::Chart::Failures {
            scope: "x".into(),
            causes: vec![("boom".into(), 2)],
            lang: crate::i18n::Lang::En,
        };
        let img = chart.image().unwrap();
        let (w, h) = png_size(&img.png).unwrap();
        assert!(w > 100 && h > 100);
        let c = image_content(&img.alt, &img.name, "mxc://hs/abc", &img.png, Some("$r"));
        assert_eq!(c["msgtype"], "m.image");
        assert_eq!(c["info"]["w"], w);
        assert_eq!(c["info"]["size"], img.png.len());
        assert_eq!(c["m.relates_to"]["event_id"], "$r");
        assert_eq!(png_size(b"not a png"), None);
    }

    #[test]
    fn reply_fallbacks_and_mentions_are_removed() {
        let me = "@opsbot:example.org";
        assert_eq!(command_text("!jobs", me, None), "!jobs");
        assert_eq!(
            command_text("> <@alice:x> run it\n> more\n\nstatus of 1001", me, None),
            "status of 1001"
        );
        assert_eq!(command_text("opsbot: list jobs", me, None), "list jobs");
        assert_eq!(
            command_text("@opsbot:example.org: !help", me, None),
            "!help"
        );
        assert_eq!(command_text("Ops Bot, !help", me, Some("Ops Bot")), "!help");
        assert_eq!(command_text("opsbotx list", me, None), "opsbotx list");
        assert_eq!(command_text("> quote only", me, None), "> quote only");
    }
}
