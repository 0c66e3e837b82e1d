//! What Slack sends: Events API envelopes (`/slack/events`, JSON), slash commands
//! (`/slack/commands`, a form) and interactive components (`/slack/interactions`, a form
//! whose `payload` field is JSON), and how each becomes a [`Message`] for the bot.
//!
//! The bot's chat identity for a Slack user is `slack:<user id>` ([`Message::user`] is the
//! user id, the platform is the channel's prefix), so `[access]` maps `chat = ["slack:U…"]`.

use crate::domain::chat::Message;
use serde::Deserialize;

/// The channel prefix of Slack conversations.
pub const PLATFORM: &str = "slack";

/// The bot's channel name for a Slack conversation id: `slack:C024BE91L`.
pub fn channel_name(id: &str) -> String {
    format!("{PLATFORM}:{id}")
}

/// The Slack conversation id of a bot channel name (`None`: not a Slack channel).
pub fn conversation_id(channel: &str) -> Option<&str> {
    channel
        .strip_prefix(PLATFORM)
        .and_then(|r| r.strip_prefix(':'))
        .filter(|id| !id.is_empty())
}

/// A body posted to `/slack/events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Envelope {
    /// Sent once when the Request URL is saved in the app's settings.
    UrlVerification { challenge: String },
    EventCallback {
        event_id: String,
        event: Box<Event>,
        #[serde(default)]
        authorizations: Vec<Authorization>,
    },
    /// Anything else (`app_rate_limited`, …): acknowledged and ignored.
    #[serde(other)]
    Other,
}

/// Who the app acts as in a workspace (the bot user, in an event's `authorizations`).
#[derive(Debug, Clone, Deserialize)]
pub struct Authorization {
    pub user_id: Option<String>,
    #[serde(default)]
    pub is_bot: bool,
}

/// An event of the Events API: `message` (channels, DMs) or `app_mention`; other types are
/// read as far as needed to ignore them.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub subtype: Option<String>,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub text: Option<String>,
    pub channel: Option<String>,
    /// `channel`, `group`, `im` or `mpim` (message events only).
    pub channel_type: Option<String>,
    pub ts: Option<String>,
    pub thread_ts: Option<String>,
}

/// Why an event does not become a message (for the debug log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NotAMessage,
    FromABot,
    Subtype,
    Incomplete,
    /// A channel message that neither mentions the bot nor starts with `!` nor answers in a
    /// thread the bot takes part in.
    NotForTheBot,
}

impl Event {
    /// The message for the bot, or why there is none. `bot_user` is the bot's own user id;
    /// `engaged(channel, thread_ts)` says whether the bot has posted in that thread.
    pub fn to_message(
        &self,
        bot_user: Option<&str>,
        engaged: &dyn Fn(&str, &str) -> bool,
    ) -> Result<Message, Skip> {
        if !matches!(self.kind.as_str(), "message" | "app_mention") {
            return Err(Skip::NotAMessage);
        }
        if self.bot_id.is_some() {
            return Err(Skip::FromABot);
        }
        if self.subtype.is_some() {
            return Err(Skip::Subtype);
        }
        let (Some(user), Some(channel), Some(ts), Some(raw)) = (
            self.user.as_deref().filter(|u| !u.is_empty()),
            self.channel.as_deref().filter(|c| !c.is_empty()),
            self.ts.as_deref(),
            self.text.as_deref(),
        ) else {
            return Err(Skip::Incomplete);
        };
        if bot_user == Some(user) {
            return Err(Skip::FromABot);
        }
        let mentioned = self.kind == "app_mention" || bot_user.is_some_and(|b| mentions(raw, b));
        let text = plain_text(&strip_mention(raw, bot_user, self.kind == "app_mention"));
        let direct = self.channel_type.as_deref() == Some("im");
        let in_engaged_thread = self
            .thread_ts
            .as_deref()
            .is_some_and(|t| engaged(channel, t));
        if !(direct || mentioned || in_engaged_thread || text.trim_start().starts_with('!')) {
            return Err(Skip::NotForTheBot);
        }
        Ok(Message {
            user: user.to_string(),
            channel: channel_name(channel),
            text,
            thread: Some(self.thread_ts.as_deref().unwrap_or(ts).to_string()),
        })
    }

    /// The key under which Slack may deliver the same message twice (as `message` and as
    /// `app_mention`, with different event ids).
    pub fn message_key(&self) -> Option<String> {
        Some(format!(
            "{}/{}",
            self.channel.as_deref()?,
            self.ts.as_deref()?
        ))
    }
}

fn mentions(text: &str, bot: &str) -> bool {
    text.contains(&format!("<@{bot}>")) || text.contains(&format!("<@{bot}|"))
}

/// Removes the mentions of the bot (`<@U0BOT>`, `<@U0BOT|name>`); in an `app_mention` with
/// the bot's id unknown, the leading mention.
pub fn strip_mention(text: &str, bot: Option<&str>, app_mention: bool) -> String {
    let mut out = text.to_string();
    match bot {
        Some(b) => {
            let plain = format!("<@{b}>");
            out = out.replace(&plain, "");
            let named = format!("<@{b}|");
            while let Some(i) = out.find(&named) {
                match out[i..].find('>') {
                    Some(j) => out.replace_range(i..i + j + 1, ""),
                    None => break,
                }
            }
        }
        None if app_mention => {
            let t = out.trim_start();
            if t.starts_with("<@") {
                if let Some(j) = t.find('>') {
                    out = t[j + 1..].to_string();
                }
            }
        }
        None => {}
    }
    out.trim().to_string()
}

/// Slack's message markup as the text a user typed: `&amp;`, `&lt;`, `&gt;` unescaped,
/// links as their label (`<http://db-01.example.com|db-01.example.com>` ->
/// `db-01.example.com`) or address, user and channel references as `@U…` and `#name`.
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &after[..close];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let shown = if let Some(id) = target.strip_prefix('@') {
            format!("@{}", label.unwrap_or(id))
        } else if let Some(id) = target.strip_prefix('#') {
            format!("#{}", label.unwrap_or(id))
        } else if let Some(special) = target.strip_prefix('!') {
            format!("@{}", label.unwrap_or(special))
        } else {
            label
                .unwrap_or_else(|| target.strip_prefix("mailto:").unwrap_or(target))
                .to_string()
        };
        out.push_str(&shown);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A slash command (`/slack/commands`, form-encoded).
#[derive(Debug, Clone, Deserialize)]
pub struct SlashCommand {
    pub user_id: String,
    pub channel_id: String,
    /// `/ops`
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub text: String,
}

impl SlashCommand {
    /// `/ops run backup-database on db-01` -> the message `run backup-database on db-01`
    /// (an empty command asks for help). The answer goes to the channel's main timeline.
    pub fn to_message(&self) -> Message {
        let text = plain_text(self.text.trim());
        Message {
            user: self.user_id.clone(),
            channel: channel_name(&self.channel_id),
            text: if text.trim().is_empty() {
                "!help".into()
            } else {
                text
            },
            thread: None,
        }
    }
}

/// The JSON of an interaction (`payload` field of `/slack/interactions`).
#[derive(Debug, Clone, Deserialize)]
pub struct Interaction {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: IdOnly,
    pub channel: Option<IdOnly>,
    pub container: Option<Container>,
    pub message: Option<InteractionMessage>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdOnly {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
}

/// The message holding the clicked button (the bot's own).
#[derive(Debug, Clone, Deserialize)]
pub struct InteractionMessage {
    pub ts: String,
    pub thread_ts: Option<String>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub blocks: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: String,
    pub action_id: Option<String>,
    pub value: Option<String>,
    pub text: Option<ActionText>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionText {
    pub text: String,
}

/// A button click: the message for the bot and the message to update.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub message: Message,
    /// The label of the clicked button.
    pub label: String,
    /// The Slack conversation and `ts` of the message with the buttons.
    pub source_channel: String,
    pub source_ts: String,
    pub source_text: String,
    pub source_blocks: Vec<serde_json::Value>,
}

impl Interaction {
    /// A click on one of the bot's buttons (`block_actions` with a button value); `None` for
    /// anything else. The button's value is the reply, sent as the clicking user's message in
    /// the channel and thread of the message holding the button.
    pub fn click(&self) -> Option<Click> {
        if self.kind != "block_actions" {
            return None;
        }
        let action = self
            .actions
            .iter()
            .find(|a| a.kind == "button" && a.value.as_deref().is_some_and(|v| !v.is_empty()))?;
        let channel = self
            .channel
            .as_ref()
            .map(|c| c.id.clone())
            .or_else(|| self.container.as_ref().and_then(|c| c.channel_id.clone()))?;
        let message = self.message.as_ref()?;
        let reply = action.value.clone()?;
        let label = action
            .text
            .as_ref()
            .map(|t| t.text.clone())
            .unwrap_or_else(|| reply.clone());
        Some(Click {
            message: Message {
                user: self.user.id.clone(),
                channel: channel_name(&channel),
                text: reply,
                thread: Some(message.thread_ts.clone().unwrap_or(message.ts.clone())),
            },
            label,
            source_ts: self
                .container
                .as_ref()
                .and_then(|c| c.message_ts.clone())
                .unwrap_or_else(|| message.ts.clone()),
            source_channel: channel,
            source_text: message.text.clone(),
            source_blocks: message.blocks.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: &str, _: &str) -> bool {
        false
    }

    fn event(json: serde_json::Value) -> Event {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn envelopes() {
        let e: Envelope =
            serde_json::from_str(r#"{"token":"x","challenge":"abc","type":"url_verification"}"#)
                .unwrap();
        assert!(matches!(e, Envelope::UrlVerification { challenge } if challenge == "abc"));
        let e: Envelope =
            serde_json::from_str(r#"{"type":"app_rate_limited","minute_rate_limited":1}"#).unwrap();
        assert!(matches!(e, Envelope::Other));
        let e: Envelope = serde_json::from_str(
            r#"{"type":"event_callback","event_id":"Ev1","team_id":"T1","event":{"type":"reaction_added","user":"U1","item":{}},"authorizations":[{"user_id":"U0BOT","is_bot":true}]}"#,
        )
        .unwrap();
        let Envelope::EventCallback {
            event,
            authorizations,
            ..
        } = e
        else {
            panic!()
        };
        assert_eq!(event.to_message(None, &never), Err(Skip::NotAMessage));
        assert_eq!(authorizations[0].user_id.as_deref(), Some("U0BOT"));
    }

    #[test]
    fn mentions_become_messages_in_the_thread_of_the_command() {
        let e = event(serde_json::json!({
            "type": "app_mention", "user": "U024BE7LH", "channel": "C024BE91L",
            "text": "<@U0BOT> run backup-database on <http://db-01.example.com|db-01.example.com> &amp; tell me",
            "ts": "1355517523.000005"
        }));
        let m = e.to_message(Some("U0BOT"), &never).unwrap();
        assert_eq!(m.user, "U024BE7LH");
        assert_eq!(m.channel, "slack:C024BE91L");
        assert_eq!(m.platform(), "slack");
        assert_eq!(m.text, "run backup-database on db-01.example.com & tell me");
        assert_eq!(m.thread.as_deref(), Some("1355517523.000005"));
        // in a thread: the thread's root; the bot's id unknown: the leading mention goes
        let e = event(serde_json::json!({
            "type": "app_mention", "user": "U1", "channel": "C1", "text": "<@U0BOT|ops> !status 4",
            "ts": "2.0", "thread_ts": "1.0"
        }));
        let m = e.to_message(None, &never).unwrap();
        assert_eq!(m.text, "!status 4");
        assert_eq!(m.thread.as_deref(), Some("1.0"));
    }

    #[test]
    fn bots_subtypes_and_chatter_are_ignored() {
        let base = serde_json::json!({"type": "message", "user": "U1", "channel": "C1", "text": "hello", "ts": "1.0", "channel_type": "channel"});
        let with = |k: &str, v: serde_json::Value| {
            let mut j = base.clone();
            j[k] = v;
            event(j)
        };
        assert_eq!(
            with("bot_id", "B1".into()).to_message(None, &never),
            Err(Skip::FromABot)
        );
        assert_eq!(
            with("subtype", "message_changed".into()).to_message(None, &never),
            Err(Skip::Subtype)
        );
        assert_eq!(
            with("user", "U0BOT".into()).to_message(Some("U0BOT"), &never),
            Err(Skip::FromABot)
        );
        // plain chatter in a channel is not for the bot; a DM, a `!command`, a mention or an
        // answer in a thread the bot takes part in is
        assert_eq!(
            event(base.clone()).to_message(None, &never),
            Err(Skip::NotForTheBot)
        );
        assert!(with("channel_type", "im".into())
            .to_message(None, &never)
            .is_ok());
        assert!(with("text", "!jobs".into())
            .to_message(None, &never)
            .is_ok());
        assert!(with("text", "<@U0BOT> jobs".into())
            .to_message(Some("U0BOT"), &never)
            .is_ok());
        let mut j = base.clone();
        j["thread_ts"] = "0.5".into();
        j["text"] = "yes".into();
        let engaged = |c: &str, t: &str| c == "C1" && t == "0.5";
        let m = event(j).to_message(None, &engaged).unwrap();
        assert_eq!((m.text.as_str(), m.thread.as_deref()), ("yes", Some("0.5")));
    }

    #[test]
    fn slack_markup_to_plain_text() {
        assert_eq!(plain_text("a &lt;b&gt; &amp;amp;"), "a <b> &amp;");
        assert_eq!(plain_text("<https://x.io>"), "https://x.io");
        assert_eq!(
            plain_text("<mailto:a@b.c|a@b.c> <#C1|ops> <@U2> <!here>"),
            "a@b.c #ops @U2 @here"
        );
        assert_eq!(plain_text("unclosed <b"), "unclosed <b");
    }

    #[test]
    fn slash_commands_and_clicks() {
        let c: SlashCommand = serde_urlencoded::from_str(
            "token=x&team_id=T1&channel_id=C1&user_id=U1&command=%2Fops&text=run+backup-database+on+db-01&response_url=https%3A%2F%2Fhooks.slack.com%2Fx",
        )
        .unwrap();
        let m = c.to_message();
        assert_eq!(
            (
                m.user.as_str(),
                m.channel.as_str(),
                m.text.as_str(),
                m.thread
            ),
            ("U1", "slack:C1", "run backup-database on db-01", None)
        );
        let c: SlashCommand =
            serde_urlencoded::from_str("channel_id=C1&user_id=U1&command=%2Fops&text=").unwrap();
        assert_eq!(c.to_message().text, "!help");

        let i: Interaction = serde_json::from_value(serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U2", "username": "bob"},
            "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": "5.0", "channel_id": "C1"},
            "message": {"ts": "5.0", "thread_ts": "1.0", "text": "deploy?", "blocks": [{"type": "section"}]},
            "actions": [{"type": "button", "action_id": "b0", "value": "!yes", "text": {"type": "plain_text", "text": "Yes"}}]
        }))
        .unwrap();
        let click = i.click().unwrap();
        assert_eq!(click.message.user, "U2");
        assert_eq!(click.message.channel, "slack:C1");
        assert_eq!(click.message.text, "!yes");
        assert_eq!(click.message.thread.as_deref(), Some("1.0"));
        assert_eq!(
            (click.label.as_str(), click.source_ts.as_str()),
            ("Yes", "5.0")
        );
        assert_eq!(conversation_id("slack:C1"), Some("C1"));
        assert_eq!(conversation_id("terminal"), None);
        assert_eq!(conversation_id("slackish:C1"), None);
    }
}
