//! The rules for free text that people type (names, titles, reasons, messages), and the
//! same rules as regular expressions for the OpenAPI document.
//!
//! Text is stored trimmed of white space at both ends (Unicode `White_Space`, as
//! `str::trim` removes it). Its length limit counts the characters as sent; a required
//! text must keep at least one character once trimmed. Control characters (Unicode
//! `Cc`: U+0000-U+001F, U+007F-U+009F) are refused in what is kept, but for line breaks
//! and tabs in multi-line text.
//!
//! The patterns use only what ECMA-262 (JSON Schema), Rust's `regex` and Python's `re`
//! read alike: `\xHH`, `\uHHHH`, classes, alternation, `*`, `+`, `?`, no look-around.
//! The tests check them against the rules.

macro_rules! white {
    () => {
        r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
macro_rules! control {
    () => {
        r"\x00-\x1f\x7f-\x9f"
    };
}
macro_rules! control_but_breaks {
    () => {
        r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    };
}
/// Neither white space nor a control character: what a trimmed text starts and ends with.
macro_rules! visible {
    () => {
        r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
/// From the first visible character to the last: any characters but controls other
/// than line breaks and tabs between them.
macro_rules! text_body {
    () => {
        concat!("[^", visible!(), "](?:[^", control_but_breaks!(), "]*[^", visible!(), "])?")
    };
}

/// One line (a name, a title, a subject): not blank, no control characters but the white
/// space trimmed off its ends.
pub const LINE: &str =
    concat!("^[", white!(), "]*[^", visible!(), "](?:[^", control!(), "]*[^", visible!(), "])?[", white!(), "]*$");

/// Text of one or more lines (a reason, a message): not blank; line breaks and tabs
/// allowed, no other control characters but the white space trimmed off its ends.
pub const TEXT: &str = concat!("^[", white!(), "]*", text_body!(), "[", white!(), "]*$");

/// [`TEXT`] that may also be empty or blank (a description).
pub const OPTIONAL_TEXT: &str = concat!("^[", white!(), "]*(?:", text_body!(), "[", white!(), "]*)?$");

/// Text kept as sent (a password, a profile field): no control character anywhere.
pub const NO_CONTROLS: &str = concat!("^[^", control!(), "]*$");

/// Any text but U+0000, which no string of a request may hold (PostgreSQL refuses it in
/// text, and nothing a person types contains it).
pub const NO_NUL: &str = r"^[^\x00]*$";

/// [`NO_CONTROLS`] that is not blank either (a seller's legal name, its address).
pub const NOT_BLANK_NO_CONTROLS: &str = concat!("^[^", control!(), "]*[^", visible!(), "][^", control!(), "]*$");

/// A file name: one line without `/` or `\`, and not `.` or `..` once trimmed.
pub const FILE_NAME: &str = concat!(
    "^[",
    white!(),
    "]*(?:[^",
    visible!(),
    r"/\\.]|[^",
    visible!(),
    r"/\\.][^",
    visible!(),
    r"/\\]|[^",
    visible!(),
    r"/\\][^",
    visible!(),
    r"/\\.]|[^",
    visible!(),
    r"/\\][^",
    control!(),
    r"/\\]+[^",
    visible!(),
    r"/\\])[",
    white!(),
    "]*$"
);

/// Whether `c` is refused in one-line text.
pub fn is_refused_in_line(c: char) -> bool {
    c.is_control()
}

/// Whether `c` is refused in multi-line text.
pub fn is_refused_in_text(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    fn matches(pattern: &'static str, text: &str) -> bool {
        thread_local! {
            static COMPILED: std::cell::RefCell<std::collections::HashMap<&'static str, Regex>> = Default::default();
        }
        COMPILED.with(|compiled| {
            let mut compiled = compiled.borrow_mut();
            if !compiled.contains_key(pattern) {
                let Ok(regex) = Regex::new(pattern) else { return false };
                compiled.insert(pattern, regex);
            }
            compiled.get(pattern).is_some_and(|regex| regex.is_match(text))
        })
    }

    fn line_rule(text: &str) -> bool {
        let kept = text.trim();
        !kept.is_empty() && !kept.chars().any(is_refused_in_line)
    }

    fn text_rule(text: &str, blank_ok: bool) -> bool {
        let kept = text.trim();
        (blank_ok || !kept.is_empty()) && !kept.chars().any(is_refused_in_text)
    }

    fn file_name_rule(text: &str) -> bool {
        let kept = text.trim();
        line_rule(text) && !kept.contains(['/', '\\']) && kept != "." && kept != ".."
    }

    /// Characters where the rules have their edges: white space that is also a control
    /// character, white space that is not, controls, line breaks, slashes and dots.
    const EDGES: &[char] = &[
        'a', 'Z', '0', '.', '/', '\\', ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{0}', '\u{1}', '\u{1f}', '\u{7f}',
        '\u{85}', '\u{9f}', '\u{a0}', '\u{a1}', '\u{1680}', '\u{2000}', '\u{200a}', '\u{200b}', '\u{2028}', '\u{202f}',
        '\u{205f}', '\u{3000}', '\u{feff}', 'é', '😀',
    ];

    fn edge_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(EDGES), 0..8).prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn the_patterns_say_what_the_rules_do(text in edge_text()) {
            prop_assert_eq!(matches(LINE, &text), line_rule(&text), "LINE {:?}", text);
            prop_assert_eq!(matches(TEXT, &text), text_rule(&text, false), "TEXT {:?}", text);
            prop_assert_eq!(matches(OPTIONAL_TEXT, &text), text_rule(&text, true), "OPTIONAL_TEXT {:?}", text);
            prop_assert_eq!(matches(NO_CONTROLS, &text), !text.chars().any(char::is_control), "NO_CONTROLS {:?}", text);
            prop_assert_eq!(
                matches(NOT_BLANK_NO_CONTROLS, &text),
                !text.chars().any(char::is_control) && !text.trim().is_empty(),
                "NOT_BLANK_NO_CONTROLS {:?}", text
            );
            prop_assert_eq!(matches(FILE_NAME, &text), file_name_rule(&text), "FILE_NAME {:?}", text);
        }
    }

    #[test]
    fn the_white_space_of_the_patterns_is_what_trim_removes() {
        for code in 0..=0x3000u32 {
            let Some(c) = char::from_u32(code) else { continue };
            let text = format!("{c}x{c}");
            assert_eq!(matches(LINE, &text), c.is_whitespace() || !c.is_control(), "U+{code:04X}");
            assert_eq!(matches(LINE, &c.to_string()), !c.is_whitespace() && !c.is_control(), "U+{code:04X} alone");
        }
    }
}
