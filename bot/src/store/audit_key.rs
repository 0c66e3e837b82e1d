//! Where the audit key comes from, like the chat secrets: `$BOT_AUDIT_KEY`, else the file
//! named by `[storage] audit_key_file`, else `<database>.audit-key` next to the database,
//! which the bot creates (0600, 32 random bytes in hex) on its first start.

use super::chain::{AuditKey, MIN_KEY_LEN};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The environment variable and the default paths: the `[storage]` section's, here too.
pub use crate::config::storage::{default_checkpoints, default_key_file, KEY_ENV};

/// Why the audit key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the audit key in ${KEY_ENV} is too short; use at least {MIN_KEY_LEN} characters (e.g. `openssl rand -hex 32`)")]
    EnvTooShort,
    #[error("the audit key file {path} holds fewer than {MIN_KEY_LEN} characters; write a longer key into it (e.g. `openssl rand -hex 32 > {path}`)")]
    FileTooShort { path: String },
    #[error("cannot read the audit key file {path}: {source}; check the path (`audit_key_file` under [storage]) and its permissions, or set ${KEY_ENV}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the audit key file {path}: {source}; make its folder writable, or name a key with `audit_key_file` under [storage] or ${KEY_ENV}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where a key was found, for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyOrigin {
    Env,
    File(PathBuf),
    /// Created by this call.
    Created(PathBuf),
}

impl std::fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyOrigin::Env => write!(f, "${KEY_ENV}"),
            KeyOrigin::File(p) => write!(f, "{}", p.display()),
            KeyOrigin::Created(p) => write!(f, "{} (created now)", p.display()),
        }
    }
}

/// Where to look: the configured file, else the default one.
#[derive(Debug, Clone)]
pub struct KeySource {
    /// `audit_key_file` from the configuration, or the default next to the database.
    pub file: PathBuf,
    /// Whether `file` is the default (which the bot may create).
    pub default: bool,
}

impl KeySource {
    /// The key of `database`: `configured` (`audit_key_file`) or `<database>.audit-key`.
    pub fn new(database: &Path, configured: Option<&Path>) -> KeySource {
        match configured {
            Some(p) => KeySource {
                file: p.to_path_buf(),
                default: false,
            },
            None => KeySource {
                file: default_key_file(database),
                default: true,
            },
        }
    }

    /// Where `config` says the key is: `[storage] audit_key_file`, else next to its database.
    pub fn for_config(config: &crate::config::Config) -> KeySource {
        KeySource::new(&config.database, config.audit_key_file.as_deref())
    }

    /// The key, when there is one (never creates it): for `bot audit verify`.
    pub fn load(&self, env: Option<String>) -> Result<Option<(AuditKey, KeyOrigin)>, KeyError> {
        if let Some(v) = env.filter(|v| !v.trim().is_empty()) {
            return AuditKey::from_text(&v)
                .map(|k| Some((k, KeyOrigin::Env)))
                .ok_or(KeyError::EnvTooShort);
        }
        match std::fs::read_to_string(&self.file) {
            Ok(text) => {
                warn_if_readable_by_others(&self.file);
                AuditKey::from_text(&text)
                    .map(|k| Some((k, KeyOrigin::File(self.file.clone()))))
                    .ok_or_else(|| KeyError::FileTooShort {
                        path: self.file.display().to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.default => Ok(None),
            Err(source) => Err(KeyError::Unreadable {
                path: self.file.display().to_string(),
                source,
            }),
        }
    }

    /// The key, creating the default file when there is none (the bot's start).
    pub fn load_or_create(&self, env: Option<String>) -> Result<(AuditKey, KeyOrigin), KeyError> {
        if let Some(found) = self.load(env)? {
            return Ok(found);
        }
        let create = |source| KeyError::Create {
            path: self.file.display().to_string(),
            source,
        };
        let text = random_hex(32).map_err(create)?;
        let mut opts = std::fs::OpenOptions::new();
        // create_new: never overwrite a key that appeared meanwhile
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&self.file).map_err(create)?;
        f.write_all(format!("{text}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(create)?;
        let key = AuditKey::from_text(&text)
            .ok_or_else(|| create(std::io::Error::other("the generated key is too short")))?;
        Ok((key, KeyOrigin::Created(self.file.clone())))
    }
}

/// `n` random bytes from the system's generator, in hex.
fn random_hex(n: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "{} (the audit key) can be read by other users; chmod 600 it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bot.sqlite");
        let s = KeySource::new(&db, None);
        assert_eq!(s.file, dir.path().join("bot.sqlite.audit-key"));
        assert!(s.load(None).unwrap().is_none());
        let (k, o) = s.load_or_create(None).unwrap();
        assert!(matches!(o, KeyOrigin::Created(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&s.file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (k2, o2) = s.load_or_create(None).unwrap();
        assert_eq!(k.id(), k2.id());
        assert!(matches!(o2, KeyOrigin::File(_)));
        let (_, o3) = s.load(Some("e".repeat(40))).unwrap().unwrap();
        assert_eq!(o3, KeyOrigin::Env);
        assert!(matches!(
            s.load(Some("short".into())),
            Err(KeyError::EnvTooShort)
        ));
        // a configured file must exist
        let c = KeySource::new(&db, Some(&dir.path().join("nope")));
        assert!(matches!(c.load(None), Err(KeyError::Unreadable { .. })));
    }
}
