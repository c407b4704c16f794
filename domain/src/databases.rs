//! Databases of a hosting service: the engine, and the stored database and user names.
//!
//! A stored name is `<service number>_<given>` (`1042_shop`): the service number is
//! unique across the installation, so names of different services can never collide,
//! and an administrator looking at the database server sees whose a database is. The
//! whole name is at most 32 characters, MySQL's limit for user names (database names
//! may have 64, PostgreSQL identifiers 63; one limit for both keeps the rule simple).
//!
//! The given part is 1 or more of `a-z 0-9 _`, starting with a letter: such a name
//! needs no quoting in MySQL or PostgreSQL, PostgreSQL does not fold it (it is already
//! lower case), and MySQL's case-sensitive database names on Linux cannot differ by
//! case alone.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::Invalid;

/// The longest stored name, prefix included (MySQL's user name limit).
pub const MAX_STORED_LENGTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseEngine {
    Mysql,
    Postgresql,
}

impl DatabaseEngine {
    pub const ALL: [DatabaseEngine; 2] = [Self::Mysql, Self::Postgresql];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mysql => "mysql",
            Self::Postgresql => "postgresql",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|engine| engine.as_str() == text)
    }
}

impl fmt::Display for DatabaseEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<number>_<given>`, checked: the shared rule of database and user names.
fn prefixed(service_number: i64, given: &str, what: &str) -> Result<String, Invalid> {
    let prefix = format!("{service_number}_");
    let room = MAX_STORED_LENGTH.saturating_sub(prefix.len());
    if service_number <= 0 || room == 0 {
        // Service numbers are positive and far below 10^31; this guards the arithmetic.
        return Err(Invalid::new("invalid_service_number", format!("the service number {service_number} is unusable")));
    }
    let bytes = given.as_bytes();
    let valid = bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if !valid {
        return Err(Invalid::new(
            "invalid_name",
            format!("the {what} is 1 or more of a-z 0-9 _, starting with a letter"),
        ));
    }
    // Only ASCII is allowed, so bytes and characters are the same here.
    if bytes.len() > room {
        return Err(Invalid::new(
            "too_long",
            format!(
                "the stored {what} is {prefix}<{what}>, at most {MAX_STORED_LENGTH} characters: \
                 the {what} may have at most {room}"
            ),
        ));
    }
    Ok(format!("{prefix}{given}"))
}

/// A database's stored name, `<service number>_<given>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatabaseName(String);

impl DatabaseName {
    /// The stored name for `given` in the service with this number.
    pub fn new(service_number: i64, given: &str) -> Result<Self, Invalid> {
        prefixed(service_number, given, "name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A database user's stored name, `<service number>_<given>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatabaseUser(String);

impl DatabaseUser {
    /// The stored user name for `given` in the service with this number.
    pub fn new(service_number: i64, given: &str) -> Result<Self, Invalid> {
        prefixed(service_number, given, "user").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The context a database password is sealed under: bound to the database's id, so a
/// sealed value copied to another row does not open.
pub fn password_context(database_id: &str) -> String {
    format!("database:{database_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn engines() {
        for engine in DatabaseEngine::ALL {
            assert_eq!(DatabaseEngine::parse(engine.as_str()), Some(engine));
            assert_eq!(serde_json::to_value(engine).ok(), Some(serde_json::json!(engine.as_str())));
        }
        assert_eq!(DatabaseEngine::parse("MySQL"), None);
        assert_eq!(DatabaseEngine::parse("postgres"), None);
        assert!(serde_json::from_str::<DatabaseEngine>("\"mariadb\"").is_err());
    }

    #[test]
    fn names_are_prefixed_with_the_service_number() {
        assert_eq!(DatabaseName::new(1042, "shop").map(|n| n.0), Ok("1042_shop".to_owned()));
        assert_eq!(DatabaseUser::new(1042, "shop_rw").map(|n| n.0), Ok("1042_shop_rw".to_owned()));
        assert_eq!(DatabaseName::new(7, "a1_").map(|n| n.0), Ok("7_a1_".to_owned()));
        // 1042_ is 5 characters: 27 remain.
        let longest = "a".repeat(27);
        assert_eq!(DatabaseName::new(1042, &longest).map(|n| n.0.len()), Ok(32));
        assert_eq!(DatabaseUser::new(1042, &"a".repeat(28)).err().map(|e| e.code), Some("too_long"));
        // A longer number leaves less room.
        assert_eq!(DatabaseUser::new(1_000_000, &"a".repeat(24)).map(|n| n.0.len()), Ok(32));
        assert_eq!(DatabaseUser::new(1_000_000, &"a".repeat(25)).err().map(|e| e.code), Some("too_long"));
    }

    #[test]
    fn invalid_given_parts() {
        for given in ["", "1shop", "_shop", "Shop", "sho-p", "sh op", "shöp", "sh.op", "shop;drop", "a\0", "`x`"] {
            assert_eq!(DatabaseName::new(1042, given).err().map(|e| e.code), Some("invalid_name"), "{given:?}");
            assert_eq!(DatabaseUser::new(1042, given).err().map(|e| e.code), Some("invalid_name"), "{given:?}");
        }
    }

    #[test]
    fn unusable_service_numbers_are_refused_not_panicking() {
        assert!(DatabaseName::new(0, "shop").is_err());
        assert!(DatabaseName::new(-5, "shop").is_err());
        assert!(DatabaseName::new(i64::MAX, "shop").is_ok_and(|n| n.0.len() <= 32));
    }

    proptest! {
        #[test]
        fn no_input_panics_and_stored_names_fit(number in any::<i64>(), given in "\\PC{0,40}|[a-z0-9_]{0,40}") {
            let stored = [DatabaseName::new(number, &given).map(|n| n.0), DatabaseUser::new(number, &given).map(|n| n.0)];
            for stored in stored.into_iter().flatten() {
                prop_assert!(stored.len() <= MAX_STORED_LENGTH);
                let prefix = format!("{number}_");
                prop_assert!(stored.starts_with(&prefix));
                prop_assert!(stored.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            }
        }
    }
}
