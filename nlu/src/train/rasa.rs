//! Reader for training data in Rasa's YAML NLU format (version 3.x).
//!
//! Supported: `intent` blocks with `examples` (inline entity annotations `[text](kind)`,
//! `[text](kind:value)` and `[text]{"entity": "kind", "value": "v"}` are stripped to plain
//! text and kept as annotations), `synonym`, `lookup` and `regex` blocks (kept, not needed by
//! the classifier). Every error names the file and the line.

use crate::error::{NluError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One training example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The plain text, annotations removed.
    pub text: String,
    /// The intent label as written.
    pub intent: String,
    /// Entity annotations: kind, value and character span in `text`.
    pub entities: Vec<Annotation>,
    /// Where it came from, for messages.
    pub file: PathBuf,
    pub line: usize,
}

/// An inline entity annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub entity: String,
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// Everything read from a training-data directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingData {
    pub examples: Vec<Example>,
    /// `synonym` blocks: normalized value and the texts that mean it.
    pub synonyms: Vec<(String, Vec<String>)>,
    /// `lookup` blocks: table name and entries.
    pub lookups: Vec<(String, Vec<String>)>,
    /// `regex` blocks: name and patterns.
    pub regexes: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NluFile {
    #[allow(dead_code)]
    version: Option<String>,
    #[serde(default)]
    nlu: Vec<NluItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NluItem {
    intent: Option<String>,
    synonym: Option<String>,
    lookup: Option<String>,
    regex: Option<String>,
    examples: Option<String>,
    #[allow(dead_code)]
    metadata: Option<serde_yaml::Value>,
}

/// Reads every `*.yml` / `*.yaml` file under `dir` (recursively, in name order).
pub fn read_dir(dir: &Path) -> Result<TrainingData> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files)?;
    if files.is_empty() {
        return Err(NluError::TrainingData {
            path: dir.to_path_buf(),
            line: None,
            reason: "no .yml or .yaml files found".into(),
        });
    }
    files.sort();
    let mut data = TrainingData::default();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| NluError::TrainingData {
            path: f.clone(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        parse_into(&text, &f, &mut data)?;
    }
    Ok(data)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| NluError::TrainingData {
        path: dir.to_path_buf(),
        line: None,
        reason: format!("cannot read directory: {e}"),
    })?;
    for entry in entries {
        let path = entry.map_err(|e| NluError::io(dir, e))?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one file's text into `data`.
pub fn parse_into(text: &str, path: &Path, data: &mut TrainingData) -> Result<()> {
    let file: NluFile = serde_yaml::from_str(text).map_err(|e| NluError::TrainingData {
        path: path.to_path_buf(),
        line: e.location().map(|l| l.line()),
        reason: e.to_string(),
    })?;
    let err = |line: Option<usize>, reason: String| NluError::TrainingData {
        path: path.to_path_buf(),
        line,
        reason,
    };
    for item in file.nlu {
        let (kind, name) = match (&item.intent, &item.synonym, &item.lookup, &item.regex) {
            (Some(n), None, None, None) => ("intent", n),
            (None, Some(n), None, None) => ("synonym", n),
            (None, None, Some(n), None) => ("lookup", n),
            (None, None, None, Some(n)) => ("regex", n),
            _ => {
                return Err(err(
                    None,
                    "each item needs exactly one of `intent`, `synonym`, `lookup`, `regex`".into(),
                ))
            }
        };
        let header_line = find_line(text, &format!("{kind}: {name}"));
        let examples = item.examples.as_deref().ok_or_else(|| {
            err(
                header_line,
                format!("{kind} `{name}` has no `examples` block"),
            )
        })?;
        let mut lines = Vec::new();
        for raw in examples.lines() {
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let line_no = find_line(text, t).or(header_line);
            let Some(body) = t.strip_prefix("- ").or_else(|| t.strip_prefix('-')) else {
                return Err(err(
                    line_no,
                    format!("example line must start with \"- \": {t:?}"),
                ));
            };
            lines.push((body.trim().to_string(), line_no));
        }
        if lines.is_empty() {
            return Err(err(header_line, format!("{kind} `{name}` has no examples")));
        }
        match kind {
            "intent" => {
                for (body, line_no) in lines {
                    let (plain, entities) =
                        strip_annotations(&body).map_err(|reason| err(line_no, reason))?;
                    if plain.trim().is_empty() {
                        return Err(err(line_no, "empty example".into()));
                    }
                    data.examples.push(Example {
                        text: plain,
                        intent: name.clone(),
                        entities,
                        file: path.to_path_buf(),
                        line: line_no.unwrap_or(0),
                    });
                }
            }
            "synonym" => data
                .synonyms
                .push((name.clone(), lines.into_iter().map(|l| l.0).collect())),
            "lookup" => data
                .lookups
                .push((name.clone(), lines.into_iter().map(|l| l.0).collect())),
            _ => data
                .regexes
                .push((name.clone(), lines.into_iter().map(|l| l.0).collect())),
        }
    }
    Ok(())
}

fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

#[derive(Deserialize)]
struct JsonAnnotation {
    entity: String,
    value: Option<serde_json::Value>,
}

/// Removes inline annotations, returning the plain text and the annotations with char spans.
pub fn strip_annotations(line: &str) -> std::result::Result<(String, Vec<Annotation>), String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut out_len = 0usize;
    let mut anns = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '[' {
            if let Some(close) = chars[i + 1..]
                .iter()
                .position(|&c| c == ']')
                .map(|p| p + i + 1)
            {
                let after = chars.get(close + 1).copied();
                let (end_char, is_json) = match after {
                    Some('(') => (')', false),
                    Some('{') => ('}', true),
                    _ => {
                        out.push(chars[i]);
                        out_len += 1;
                        i += 1;
                        continue;
                    }
                };
                let Some(meta_end) = chars[close + 2..]
                    .iter()
                    .position(|&c| c == end_char)
                    .map(|p| p + close + 2)
                else {
                    return Err(format!("unclosed entity annotation in {line:?}"));
                };
                let span: String = chars[i + 1..close].iter().collect();
                let meta: String = chars[close + 2..meta_end].iter().collect();
                let (entity, value) = if is_json {
                    let j: JsonAnnotation = serde_json::from_str(&format!("{{{meta}}}"))
                        .map_err(|e| format!("bad entity annotation {{{meta}}}: {e}"))?;
                    let value = match j.value {
                        Some(serde_json::Value::String(s)) => s,
                        Some(other) => other.to_string(),
                        None => span.clone(),
                    };
                    (j.entity, value)
                } else {
                    match meta.split_once(':') {
                        Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                        None => (meta.trim().to_string(), span.clone()),
                    }
                };
                if entity.is_empty() {
                    return Err(format!("entity annotation without a kind in {line:?}"));
                }
                let n = span.chars().count();
                anns.push(Annotation {
                    entity,
                    value,
                    start: out_len,
                    end: out_len + n,
                });
                out.push_str(&span);
                out_len += n;
                i = meta_end + 1;
                continue;
            }
        }
        out.push(chars[i]);
        out_len += 1;
        i += 1;
    }
    Ok((out, anns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_all_annotation_styles() {
        let (t, a) = strip_annotations(
            r#"deploy [api](app) to [prod]{"entity": "environment", "value": "production"} at [9](count:9)"#,
        )
        .unwrap();
        assert_eq!(t, "deploy api to prod at 9");
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].start, a[0].end, a[0].value.as_str()), (7, 10, "api"));
        assert_eq!(a[1].value, "production");
        assert_eq!((a[1].start, a[1].end), (14, 18));
        assert_eq!(a[2].entity, "count");
    }

    #[test]
    fn spans_count_characters_not_bytes() {
        let (t, a) =
            strip_annotations(r#"重启[预发]{"entity": "environment", "value": "staging"}的服务"#)
                .unwrap();
        assert_eq!(t, "重启预发的服务");
        assert_eq!((a[0].start, a[0].end), (2, 4));
    }

    #[test]
    fn plain_brackets_stay() {
        let (t, a) = strip_annotations("what does [x] mean").unwrap();
        assert_eq!(t, "what does [x] mean");
        assert!(a.is_empty());
    }

    #[test]
    fn bad_json_annotation_is_an_error() {
        assert!(strip_annotations(r#"run [x]{"entity": }"#).is_err());
    }

    #[test]
    fn reads_intents_and_reports_lines() {
        let yaml = "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello [bot](x)\n";
        let mut d = TrainingData::default();
        parse_into(yaml, Path::new("a.yml"), &mut d).unwrap();
        assert_eq!(d.examples.len(), 2);
        assert_eq!(d.examples[1].line, 6);
        let bad = "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n  oops: [\n";
        let e = parse_into(bad, Path::new("b.yml"), &mut d)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.yml:"), "{e}");
        let no_dash = "nlu:\n- intent: greet\n  examples: |\n    hi there\n";
        let e = parse_into(no_dash, Path::new("c.yml"), &mut d)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c.yml:4") && e.contains("must start with"),
            "{e}"
        );
    }
}
