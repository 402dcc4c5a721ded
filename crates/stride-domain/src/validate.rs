//! Small parse-don't-validate helpers shared by every area.

/// Trims a required text field; `None` when blank or longer than `max` characters.
pub fn required_text(value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && v.chars().count() <= max).then(|| v.to_owned())
}

/// A login name: 2–64 of ASCII letters, digits, `.`, `_`, `-`.
pub fn is_valid_username(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A plausible e-mail address (one `@`, something on both sides, a dot in the domain).
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
        && s.len() <= 254
}

/// A time zone known to the bundled tz database (e.g. `Asia/Shanghai`).
pub fn is_valid_time_zone(s: &str) -> bool {
    !s.is_empty() && jiff::tz::TimeZone::get(s).is_ok()
}

/// The languages Stride speaks.
pub const LOCALES: [&str; 2] = ["zh-CN", "en"];

/// A user's language setting that follows the browser.
pub const LOCALE_AUTO: &str = "auto";

/// A user's language setting: one of [`LOCALES`] or [`LOCALE_AUTO`].
pub fn is_valid_locale(s: &str) -> bool {
    s == LOCALE_AUTO || LOCALES.contains(&s)
}

/// Passwords: at least 8 characters, at most 128.
pub fn is_acceptable_password(s: &str) -> bool {
    (8..=128).contains(&s.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(is_valid_username("li.lei"));
        assert!(!is_valid_username("x"));
        assert!(!is_valid_username("drop table;"));
        assert!(!is_valid_username("李雷"));
    }

    #[test]
    fn emails_and_zones() {
        assert!(is_valid_email("a@b.cn"));
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email("a b@c.cn"));
        assert!(is_valid_time_zone("Asia/Shanghai"));
        assert!(!is_valid_time_zone("Mars/Olympus"));
    }
}
