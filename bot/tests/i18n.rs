//! The message files are complete: every key the code names exists in both languages, with
//! every argument the message uses passed by the code.

use bot::i18n::{check, messages, SOURCES};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `tr!(lang, "key", a = .., b = ..)` in the crate's sources: (file, key, argument names).
fn calls() -> Vec<(String, String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut rest = text.as_str();
            while let Some(i) = rest.find("tr!(") {
                // `include_str!(` is not a call of `tr!`
                let macro_start = rest[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                rest = &rest[i + 4..];
                if !macro_start {
                    continue;
                }
                // the call's text up to its closing parenthesis
                let mut depth = 1;
                let mut end = rest.len();
                let mut in_str = false;
                for (j, c) in rest.char_indices() {
                    match c {
                        '"' => in_str = !in_str,
                        '(' if !in_str => depth += 1,
                        ')' if !in_str => {
                            depth -= 1;
                            if depth == 0 {
                                end = j;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let call = &rest[..end];
                let Some(q) = call.find('"') else { continue };
                let Some(key_len) = call[q + 1..].find('"') else {
                    continue;
                };
                let key = call[q + 1..q + 1 + key_len].to_string();
                if key.contains(['$', ' ']) || key == "key" {
                    continue; // the macro's own documentation
                }
                let args_text = &call[q + 1 + key_len + 1..];
                let mut args = BTreeSet::new();
                let mut depth = 0;
                for part in args_text.split_inclusive([',', '(', ')', '[', ']', '{', '}']) {
                    let name = part.trim_start_matches([',', ' ', '\n']);
                    if depth == 0 {
                        if let Some((n, _)) = name.split_once(" =") {
                            let n = n.trim();
                            if !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_') {
                                args.insert(n.to_string());
                            }
                        }
                    }
                    depth += part.matches(['(', '[', '{']).count() as i32;
                    depth -= part.matches([')', ']', '}']).count() as i32;
                }
                out.push((path.display().to_string(), key, args));
            }
        }
    }
    out
}

#[test]
fn the_languages_agree() {
    assert_eq!(check(), Vec::<String>::new());
}

#[test]
fn every_key_the_code_names_exists_with_its_arguments() {
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (lang, _, src) in SOURCES {
        if *lang == bot::i18n::Lang::En {
            all.extend(messages(src).unwrap());
        }
    }
    let calls = calls();
    assert!(calls.len() > 200, "found only {} calls", calls.len());
    let mut problems = Vec::new();
    for (file, key, args) in &calls {
        match all.get(key) {
            None => problems.push(format!("{file}: no message `{key}`")),
            Some(vars) => {
                for v in vars.difference(args) {
                    problems.push(format!(
                        "{file}: `{key}` uses ${v}, which the code does not pass"
                    ));
                }
                for a in args.difference(vars) {
                    problems.push(format!(
                        "{file}: `{key}` is given `{a}`, which it does not use"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
