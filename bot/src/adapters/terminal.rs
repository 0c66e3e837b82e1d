//! The terminal adapter: an interactive chat on a tty (prompt, replies, pushed updates as
//! they happen), or, when stdin is not a terminal, one message per input line with replies
//! and updates on stdout, so scripts and tests can drive the bot.

use super::Adapter;
use crate::domain::chat::{Message, Outgoing};
use crate::util::BoxFuture;
use std::io::{BufRead, IsTerminal, Write};
use tokio::sync::mpsc;

/// The channel name of the terminal.
pub const CHANNEL: &str = "terminal";

pub struct Terminal {
    user: String,
    interactive: bool,
    lines: mpsc::UnboundedReceiver<String>,
    prompt_shown: bool,
    multi_user: bool,
    /// Where charts are written as PNG files (`--charts DIR`); None: text forms only.
    charts_dir: Option<std::path::PathBuf>,
}

impl Terminal {
    /// Reads stdin on its own thread. `interactive` is usually `stdin().is_terminal()`.
    pub fn new(user: String, interactive: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lock.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches(['\n', '\r'])
                            .to_string();
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Terminal {
            user,
            interactive,
            lines: rx,
            prompt_shown: false,
            multi_user: false,
            charts_dir: None,
        }
    }

    /// Lets a line speak as another user: `@as alice: !approve 3` (tests and demos).
    pub fn with_multi_user(mut self, on: bool) -> Self {
        self.multi_user = on;
        self
    }

    /// Also writes the charts of replies as PNG files into `dir` (created when missing), and
    /// names the files in the reply.
    pub fn with_charts_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.charts_dir = Some(dir);
        self
    }

    /// Whether stdin is a terminal.
    pub fn stdin_is_tty() -> bool {
        std::io::stdin().is_terminal()
    }
}

/// `@as NAME: text` -> (NAME, text).
pub fn speaker(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("@as ")?;
    let (name, text) = rest.split_once(':')?;
    let name = name.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((name, text.trim_start()))
}

impl Adapter for Terminal {
    fn recv(&mut self) -> BoxFuture<'_, Option<Message>> {
        Box::pin(async move {
            loop {
                let line = self.lines.recv().await?;
                self.prompt_shown = false;
                if line.trim().is_empty() {
                    if self.interactive {
                        let mut out = std::io::stdout().lock();
                        let _ = write!(out, "you> ");
                        let _ = out.flush();
                        self.prompt_shown = true;
                    }
                    continue;
                }
                if self.interactive && matches!(line.trim(), "/quit" | "/exit" | "quit" | "exit") {
                    return None;
                }
                let (user, text) = match speaker(&line).filter(|_| self.multi_user) {
                    Some((u, t)) => (u.to_string(), t.to_string()),
                    None => (self.user.clone(), line),
                };
                return Some(Message {
                    user,
                    channel: CHANNEL.to_string(),
                    text,
                    thread: None,
                });
            }
        })
    }

    fn shows_images(&self) -> bool {
        self.charts_dir.is_some()
    }

    fn send(&mut self, o: &Outgoing) -> BoxFuture<'_, std::io::Result<()>> {
        let mut text = o.text.clone();
        if let Some(dir) = &self.charts_dir {
            for c in &o.charts {
                match c.image() {
                    Ok(img) => {
                        let path = dir.join(&img.name);
                        match std::fs::create_dir_all(dir)
                            .and_then(|()| std::fs::write(&path, &img.png))
                        {
                            Ok(()) => text.push_str(&format!("\n[chart: {}]", path.display())),
                            Err(e) => tracing::warn!("cannot write {}: {e}", path.display()),
                        }
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        }
        Box::pin(async move {
            let mut out = std::io::stdout().lock();
            if self.interactive {
                if self.prompt_shown {
                    // a pushed update while the prompt waits: replace the prompt line
                    write!(out, "\r\x1b[K")?;
                    self.prompt_shown = false;
                }
                for (i, l) in text.lines().enumerate() {
                    writeln!(out, "{}{l}", if i == 0 { "bot> " } else { "     " })?;
                }
            } else {
                // one message per paragraph: its first line flush left, the others indented,
                // so that a script can tell where each message starts
                for (i, l) in text.lines().enumerate() {
                    let indent = if i == 0 || l.is_empty() { "" } else { "  " };
                    writeln!(out, "{indent}{l}")?;
                }
            }
            out.flush()
        })
    }

    fn idle(&mut self) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async move {
            if self.interactive && !self.prompt_shown {
                let mut out = std::io::stdout().lock();
                write!(out, "you> ")?;
                out.flush()?;
                self.prompt_shown = true;
            }
            Ok(())
        })
    }
}
