//! Secrets in the configuration: given inline, read from a `_file`, or generated once
//! into the data directory (mode 0600) for the zero-set-up SQLite default.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// A value that must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(super) fn new(text: String) -> Self {
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub(super) fn read_secret(value: Option<String>, file: Option<String>, name: &str) -> Result<Option<Secret>> {
    match (value, file) {
        (Some(_), Some(_)) => bail!("set {name} or {name}_file, not both"),
        (Some(value), None) => Ok(Some(Secret(value))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("{name}_file: reading {path}"))?;
            Ok(Some(Secret(strip_newline(text))))
        }
        (None, None) => Ok(None),
    }
}

fn strip_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// Reads a secret file, creating it (mode 0600) with `make` when absent.
pub(super) fn generated_secret(
    path: &Path,
    make: impl FnOnce() -> Result<String, hostadmin_domain::credentials::RandomError>,
) -> Result<String> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(strip_newline(text));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = make()?;
    write_private(path, &format!("{secret}\n"))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
