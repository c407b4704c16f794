//! FTP users of a hosting service: the login name, the home directory inside the
//! service's root, and what an FTP password may be.
//!
//! Usernames are unique across the installation (every service shares one FTP server),
//! so their syntax is chosen to be safe for every common FTP server and for the file
//! system: 3-32 of `a-z 0-9 . _ -`, starting with a letter and ending with a letter or a
//! digit, no two punctuation characters in a row (`a..b` and `a._b` look like path
//! tricks in logs), and not one of the system accounts a PAM fallback could map to.
//! Upper case is refused rather than folded: FTP servers compare names exactly, so the
//! name the user types is the name stored.
//!
//! The home directory is relative to the service's root. Anything that could leave the
//! root (an absolute path, a `..` segment), or that file systems and FTP servers treat
//! differently (NUL and other control characters, backslashes as separators on some
//! servers), is refused; the rest is normalised (`a//b/./c/` is `a/b/c`).

use std::fmt;

use crate::validation::Invalid;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
/// The whole relative directory, in bytes (Linux's PATH_MAX is 4096; the service root
/// and the server's own prefix take the rest).
pub const DIRECTORY_MAX_BYTES: usize = 1024;
/// One segment, in bytes (NAME_MAX on Linux file systems).
pub const SEGMENT_MAX_BYTES: usize = 255;

/// System accounts an FTP server with a PAM or `/etc/passwd` fallback might resolve to
/// a real user; a virtual user must never be mistaken for one of them.
const RESERVED_USERNAMES: [&str; 16] = [
    "root",
    "admin",
    "administrator",
    "ftp",
    "ftpuser",
    "anonymous",
    "nobody",
    "daemon",
    "bin",
    "sys",
    "www-data",
    "mysql",
    "postgres",
    "mail",
    "operator",
    "sshd",
];

/// A valid FTP login name (see the module's documentation for the syntax).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FtpUsername(String);

impl FtpUsername {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let invalid = || {
            Invalid::new(
                "invalid_username",
                format!(
                    "{USERNAME_MIN}-{USERNAME_MAX} of a-z 0-9 . _ -, starting with a letter, ending with a letter or \
                     digit, without two of . _ - in a row"
                ),
            )
        };
        let bytes = text.as_bytes();
        // Only ASCII is allowed, so bytes and characters are the same here.
        if !(USERNAME_MIN..=USERNAME_MAX).contains(&bytes.len()) {
            return Err(Invalid::new(
                "invalid_length",
                format!("must be {USERNAME_MIN} to {USERNAME_MAX} characters long"),
            ));
        }
        let punctuation = |b: u8| matches!(b, b'.' | b'_' | b'-');
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || punctuation(b);
        let first_ok = bytes.first().is_some_and(u8::is_ascii_lowercase);
        let last_ok = bytes.last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let no_runs = bytes.windows(2).all(|pair| !(punctuation(pair[0]) && punctuation(pair[1])));
        if !(bytes.iter().all(|&b| allowed(b)) && first_ok && last_ok && no_runs) {
            return Err(invalid());
        }
        if RESERVED_USERNAMES.contains(&text) {
            return Err(Invalid::new("reserved_username", "is reserved for the system; choose another"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FtpUsername {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A home directory relative to the service's root, normalised: segments joined by
/// single `/`, no `.` or empty segments, never `..`, never a leading or trailing `/`.
/// The empty string is the root itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HomeDirectory(String);

impl HomeDirectory {
    /// The service's root.
    pub fn root() -> Self {
        Self(String::new())
    }

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text.len() > DIRECTORY_MAX_BYTES {
            return Err(Invalid::new("invalid_length", format!("must be at most {DIRECTORY_MAX_BYTES} bytes long")));
        }
        if text.chars().any(char::is_control) {
            return Err(Invalid::new("invalid_characters", "must not contain NUL or other control characters"));
        }
        if text.contains('\\') {
            return Err(Invalid::new("invalid_characters", "separate directories with /, not a backslash"));
        }
        if text.starts_with('/') {
            return Err(Invalid::new("absolute_path", "must be relative to the service's root (no leading /)"));
        }
        let mut segments = Vec::new();
        for segment in text.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(Invalid::new("parent_directory", "must not contain .. (it could leave the root)")),
                _ if segment.len() > SEGMENT_MAX_BYTES => {
                    return Err(Invalid::new(
                        "invalid_length",
                        format!("each directory name is at most {SEGMENT_MAX_BYTES} bytes long"),
                    ))
                }
                _ => segments.push(segment),
            }
        }
        Ok(Self(segments.join("/")))
    }

    /// Wraps a stored directory, which was normalised when it was saved; `None` when it
    /// is not in normal form (the row was changed behind our back).
    pub fn from_stored(text: &str) -> Option<Self> {
        Self::parse(text).ok().filter(|parsed| parsed.0 == text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames() {
        let longest = "x".repeat(32);
        let valid = ["abc", "shop", "shop.ftp", "a1_b-c.d", "a23", longest.as_str(), "web-2"];
        for name in valid {
            assert_eq!(FtpUsername::parse(name).map(|n| n.as_str().to_owned()), Ok(name.to_owned()), "{name}");
        }
        let invalid: [(&str, &str); 19] = [
            ("", "invalid_length"),
            ("ab", "invalid_length"),
            (&"x".repeat(33), "invalid_length"),
            ("Shop", "invalid_username"),
            ("1shop", "invalid_username"),
            ("_shop", "invalid_username"),
            (".shop", "invalid_username"),
            ("shop.", "invalid_username"),
            ("shop-", "invalid_username"),
            ("sh..op", "invalid_username"),
            ("sh._op", "invalid_username"),
            ("sh op", "invalid_username"),
            ("sh/op", "invalid_username"),
            ("shöp", "invalid_username"),
            ("sh\0op", "invalid_username"),
            ("shop@x", "invalid_username"),
            ("root", "reserved_username"),
            ("anonymous", "reserved_username"),
            ("www-data", "reserved_username"),
        ];
        for (name, code) in invalid {
            assert_eq!(FtpUsername::parse(name).err().map(|e| e.code), Some(code), "{name:?}");
        }
    }

    #[test]
    fn directories_are_normalised() {
        let cases = [
            ("", ""),
            (".", ""),
            ("./", ""),
            ("public_html", "public_html"),
            ("a//b/./c/", "a/b/c"),
            ("./a/./b", "a/b"),
            ("a/b/c", "a/b/c"),
            ("...", "..."),
            ("a/..b/c..", "a/..b/c.."),
            ("~", "~"),
            ("dir with spaces/ü", "dir with spaces/ü"),
        ];
        for (input, expected) in cases {
            assert_eq!(HomeDirectory::parse(input).map(|d| d.as_str().to_owned()), Ok(expected.to_owned()), "{input}");
        }
        assert!(HomeDirectory::parse("").is_ok_and(|d| d.is_root()));
    }

    #[test]
    fn directories_that_could_leave_the_root_are_refused() {
        let cases = [
            ("/", "absolute_path"),
            ("/etc", "absolute_path"),
            ("//etc", "absolute_path"),
            ("..", "parent_directory"),
            ("../x", "parent_directory"),
            ("a/../../x", "parent_directory"),
            ("a/..", "parent_directory"),
            ("a/../b", "parent_directory"),
            ("a\\..\\b", "invalid_characters"),
            ("a\0b", "invalid_characters"),
            ("a\nb", "invalid_characters"),
            ("a\u{7f}b", "invalid_characters"),
            ("a\u{85}b", "invalid_characters"),
        ];
        for (input, code) in cases {
            assert_eq!(HomeDirectory::parse(input).err().map(|e| e.code), Some(code), "{input:?}");
        }
        assert_eq!(HomeDirectory::parse(&"a".repeat(256)).err().map(|e| e.code), Some("invalid_length"));
        assert!(HomeDirectory::parse(&"a".repeat(255)).is_ok());
        assert_eq!(HomeDirectory::parse(&"a/".repeat(513)).err().map(|e| e.code), Some("invalid_length"));
    }

    #[test]
    fn stored_directories_must_be_normal() {
        assert_eq!(HomeDirectory::from_stored("a/b"), Some(HomeDirectory("a/b".into())));
        assert_eq!(HomeDirectory::from_stored(""), Some(HomeDirectory::root()));
        assert_eq!(HomeDirectory::from_stored("a//b"), None);
        assert_eq!(HomeDirectory::from_stored("../a"), None);
    }

    proptest! {
        #[test]
        fn no_username_panics_and_accepted_ones_are_safe(text in "\\PC{0,40}") {
            if let Ok(name) = FtpUsername::parse(&text) {
                prop_assert!(name.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)));
                prop_assert!((USERNAME_MIN..=USERNAME_MAX).contains(&name.as_str().len()));
            }
        }

        #[test]
        fn a_normalised_directory_never_escapes_the_root(text in "[a./\\\\\\x00-\\x1f~ü-]{0,40}|\\PC{0,80}") {
            if let Ok(dir) = HomeDirectory::parse(&text) {
                let normal = dir.as_str();
                prop_assert!(!normal.starts_with('/'));
                prop_assert!(!normal.ends_with('/'));
                prop_assert!(normal.split('/').all(|s| s != ".." && s != "." && (normal.is_empty() || !s.is_empty())));
                prop_assert!(!normal.chars().any(|c| c.is_control() || c == '\\'));
                // Normalising is idempotent: the stored form reads back as itself.
                prop_assert_eq!(HomeDirectory::from_stored(normal), Some(dir.clone()));
            }
        }

        #[test]
        fn paths_made_of_safe_segments_are_accepted(segments in proptest::collection::vec("[a-z0-9_.-]{1,12}", 0..8)) {
            let joined = segments.join("//./");
            let result = HomeDirectory::parse(&joined);
            if segments.iter().any(|s| s == "..") {
                prop_assert!(result.is_err());
            } else {
                let expected: Vec<&str> = segments.iter().map(String::as_str).filter(|s| *s != ".").collect();
                prop_assert_eq!(result.map(|d| d.as_str().to_owned()), Ok(expected.join("/")));
            }
        }
    }
}
