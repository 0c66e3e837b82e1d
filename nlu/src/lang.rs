//! The language a text is written in: English or Chinese, as the contract's `lang` field
//! spells it.
//!
//! Detection is a count, not a model: Han characters against Latin words, where words that
//! are identifiers (`db-02`, `backup-database`, `2.4.1`, `#4812`) count for neither side, so
//! that "跑一下 backup-database 在 db-02" is Chinese and "deploy api to 生产" is English.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// English or Chinese.
///
/// ```
/// use nlu::Lang;
/// assert_eq!(Lang::detect("跑一下数据库备份 db-02"), Lang::Zh);
/// assert_eq!(Lang::detect("deploy api to 生产"), Lang::En);
/// assert_eq!("zh".parse::<Lang>(), Ok(Lang::Zh));
/// assert_eq!(Lang::Zh.to_string(), "zh");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// Both languages, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The contract's spelling: `en` or `zh`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The language of `text`; English when it has no Han characters, or when its Latin
    /// words outnumber them.
    pub fn detect(text: &str) -> Lang {
        Lang::detect_opt(text).unwrap_or_default()
    }

    /// Like [`Lang::detect`], but `None` for a text with neither Han characters nor Latin
    /// words (`!status 4812` has one word: English; `4812`, `👍` and `` are `None`).
    pub fn detect_opt(text: &str) -> Option<Lang> {
        let han = text.chars().filter(|&c| is_han(c)).count();
        let words = text
            .split(|c: char| c.is_whitespace() || is_han(c))
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .filter(|w| w.chars().all(char::is_alphabetic))
            .count();
        match (han, words) {
            (0, 0) => None,
            (h, w) if h > 0 && h >= w => Some(Lang::Zh),
            _ => Some(Lang::En),
        }
    }
}

/// A Han character (kana and hangul are not: Japanese and Korean are not Chinese).
pub(crate) fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language name that is neither `en` nor `zh`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}`: use `en` or `zh`")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" | "英文" | "英语" => Ok(Lang::En),
            "zh" | "cn" | "chinese" | "中文" | "汉语" => Ok(Lang::Zh),
            _ => Err(UnknownLang(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_han_characters_against_latin_words() {
        for (text, lang) in [
            ("run backup-database on db-01", Some(Lang::En)),
            ("跑一下数据库备份 db-02", Some(Lang::Zh)),
            ("跑 backup-database 在 db-02", Some(Lang::Zh)),
            ("4812 怎么样了", Some(Lang::Zh)),
            ("deploy api to 生产", Some(Lang::En)),
            ("把 payment 发布到 production", Some(Lang::Zh)),
            ("好", Some(Lang::Zh)),
            ("yes", Some(Lang::En)),
            ("!status 4812", Some(Lang::En)),
            ("4812", None),
            ("#4812 2.4.1 db-01", None),
            ("", None),
            ("👍", None),
            ("いいえ", Some(Lang::En)),
        ] {
            assert_eq!(Lang::detect_opt(text), lang, "{text}");
        }
        assert_eq!(Lang::detect("4812"), Lang::En);
    }

    #[test]
    fn parses_and_prints_the_contract_spelling() {
        assert_eq!("EN".parse::<Lang>(), Ok(Lang::En));
        assert_eq!("中文".parse::<Lang>(), Ok(Lang::Zh));
        assert_eq!(
            "fr".parse::<Lang>().unwrap_err().to_string(),
            "unknown language `fr`: use `en` or `zh`"
        );
        assert_eq!(serde_json::to_string(&Lang::Zh).unwrap(), "\"zh\"");
        assert_eq!(serde_json::from_str::<Lang>("\"en\"").unwrap(), Lang::En);
    }
}
