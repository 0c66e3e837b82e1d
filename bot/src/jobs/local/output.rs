//! The tail of an execution's output, as it is kept while it runs: line and byte limits, and
//! secret values masked.

use super::*;

/// The tail of an execution's output.
#[derive(Debug)]
pub struct OutputBuf {
    lines: VecDeque<String>,
    bytes: usize,
    limits: OutputLimits,
    truncated: bool,
    pub(super) dirty: bool,
    /// Secret values replaced by `***` in every line as it arrives (longest first).
    redact: Vec<String>,
}

/// Longest line kept (longer lines are cut).
pub(super) const MAX_LINE: usize = 4096;

impl OutputBuf {
    pub fn new(limits: OutputLimits) -> Self {
        OutputBuf {
            lines: VecDeque::new(),
            bytes: 0,
            limits,
            truncated: false,
            dirty: false,
            redact: Vec::new(),
        }
    }

    /// Masks these values (those of at least 3 characters) in every line pushed later.
    pub fn with_redactions(mut self, values: impl IntoIterator<Item = String>) -> Self {
        self.redact = values
            .into_iter()
            .filter(|v| v.chars().count() >= 3)
            .collect();
        self.redact.sort_by_key(|v| std::cmp::Reverse(v.len()));
        self.redact.dedup();
        self
    }

    pub fn push(&mut self, line: &str) {
        let mut line = line.trim_end_matches(['\n', '\r']).to_string();
        for v in &self.redact {
            if line.contains(v.as_str()) {
                line = line.replace(v.as_str(), crate::domain::exec::MASK);
            }
        }
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.lines.len() > self.limits.max_lines || self.bytes > self.limits.max_bytes {
            match self.lines.pop_front() {
                Some(l) => {
                    self.bytes -= l.len() + 1;
                    self.truncated = true;
                }
                None => break,
            }
        }
        self.dirty = true;
    }

    pub fn text(&self) -> String {
        let mut s = String::with_capacity(self.bytes);
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

pub(super) type SharedOutput = Arc<Mutex<OutputBuf>>;

pub(super) fn lock(o: &SharedOutput) -> std::sync::MutexGuard<'_, OutputBuf> {
    o.lock().unwrap_or_else(|p| p.into_inner())
}
