//! The Matrix adapter's credentials: the access token or the password, from the environment
//! or from the files that `[adapters.matrix]` names ([`MatrixConfig`]).

use super::MatrixError;
pub use crate::config::matrix::{MatrixConfig, PASSWORD_ENV, TOKEN_ENV};

/// How the bot proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Token(String),
    Password(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(***)"),
            Credentials::Password(_) => f.write_str("Password(***)"),
        }
    }
}

impl MatrixConfig {
    /// The bot's credentials: `BOT_MATRIX_TOKEN`, else `access_token_file`, else
    /// `BOT_MATRIX_PASSWORD`, else `password_file`.
    pub fn credentials(&self) -> Result<Credentials, MatrixError> {
        self.credentials_from(|k| std::env::var(k).ok())
    }

    /// [`Self::credentials`] with the environment given (tests).
    pub fn credentials_from(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, MatrixError> {
        if let Some(t) = env(TOKEN_ENV).map(|t| t.trim().to_string()) {
            if !t.is_empty() {
                return Ok(Credentials::Token(t));
            }
        }
        if let Some(f) = &self.access_token_file {
            return read_secret(f, "access_token_file").map(Credentials::Token);
        }
        if let Some(p) = env(PASSWORD_ENV).filter(|p| !p.is_empty()) {
            return Ok(Credentials::Password(p));
        }
        if let Some(f) = &self.password_file {
            return read_secret(f, "password_file").map(Credentials::Password);
        }
        Err(MatrixError::NoCredentials)
    }
}

fn read_secret(path: &std::path::Path, key: &'static str) -> Result<String, MatrixError> {
    let text = std::fs::read_to_string(path).map_err(|source| MatrixError::SecretFile {
        key,
        path: path.display().to_string(),
        source,
    })?;
    let t = text.trim();
    if t.is_empty() {
        return Err(MatrixError::EmptySecretFile {
            key,
            path: path.display().to_string(),
        });
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn matrix(section: &str) -> MatrixConfig {
        let text =
            format!("[[jobs]]\nid = \"j\"\n  [jobs.run]\n  argv = [\"/bin/true\"]\n{section}");
        Config::from_toml_str(&text, "bot.toml", Path::new("/etc/bot"))
            .unwrap()
            .matrix
            .unwrap()
    }

    #[test]
    fn credentials_come_from_the_environment_or_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = matrix(
            "[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"@b:x\"\n",
        );
        assert!(matches!(
            m.credentials_from(|_| None),
            Err(MatrixError::NoCredentials)
        ));
        let env = |k: &str| (k == TOKEN_ENV).then(|| " tok \n".to_string());
        assert_eq!(
            m.credentials_from(env).unwrap(),
            Credentials::Token("tok".into())
        );
        let f = dir.path().join("token");
        std::fs::write(&f, "from-file\n").unwrap();
        m.access_token_file = Some(f.clone());
        assert_eq!(
            m.credentials_from(|_| None).unwrap(),
            Credentials::Token("from-file".into())
        );
        std::fs::write(&f, "\n").unwrap();
        assert!(matches!(
            m.credentials_from(|_| None),
            Err(MatrixError::EmptySecretFile { .. })
        ));
        m.access_token_file = None;
        let env = |k: &str| (k == PASSWORD_ENV).then(|| "pw".to_string());
        assert_eq!(
            m.credentials_from(env).unwrap(),
            Credentials::Password("pw".into())
        );
        assert_eq!(
            format!("{:?}", Credentials::Password("pw".into())),
            "Password(***)"
        );
    }
}
