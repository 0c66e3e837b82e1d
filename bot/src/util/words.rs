//! Words of commands and names: splitting a command line, normalising a name, and the
//! "did you mean" for a typo.

/// A command line with a quote that is not closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unbalanced quote")]
pub struct UnbalancedQuote;

/// Splits a command line into words; quotes group words and are removed.
pub fn split_words(s: &str) -> Result<Vec<String>, UnbalancedQuote> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' && matches!(chars.peek(), Some('"') | Some('\\')) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(UnbalancedQuote);
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Lower case, runs of white space as one space.
pub fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The closest candidate to `raw` when it is close enough to be a typo.
pub fn suggest<'a>(raw: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let r = norm(raw);
    if r.is_empty() {
        return None;
    }
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let cn = norm(c);
        let score = strsim::normalized_damerau_levenshtein(&r, &cn);
        let prefix = cn.starts_with(&r) && r.chars().count() >= 3;
        let score = if prefix { score.max(0.75) } else { score };
        // an abbreviation: every character in order (tgt -> target)
        let abbrev = r.chars().count() >= 2
            && {
                let mut it = cn.chars();
                r.chars().all(|c| it.any(|d| d == c))
            }
            && cn.starts_with(r.chars().next().unwrap_or(' '));
        let score = if abbrev { score.max(0.65) } else { score };
        if score >= 0.6 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}
