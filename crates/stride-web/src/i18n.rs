//! User-facing texts in Simplified Chinese and English, from `locales/{zh-CN,en}/<area>.ftl` (`key = text` lines,
//! `{ $name }` placeholders). The language follows the user's setting, else the browser.

use std::collections::HashMap;
use std::sync::OnceLock;

pub const LOCALES: [&str; 2] = ["zh-CN", "en"];
pub const DEFAULT_LOCALE: &str = "zh-CN";

/// One file per business area and language, so each area's texts sit together.
macro_rules! area_texts {
    ($($area:literal),+) => {
        [
            ("zh-CN", &[$(include_str!(concat!("../locales/zh-CN/", $area, ".ftl"))),+]),
            ("en", &[$(include_str!(concat!("../locales/en/", $area, ".ftl"))),+]),
        ]
    };
}

const SOURCES: [(&str, &[&str]); 2] = area_texts!(
    "core",
    "leads",
    "opportunities",
    "approvals",
    "contracts",
    "attachments",
    "stage_documents"
);

type Catalog = HashMap<&'static str, HashMap<String, String>>;

fn parse(source: &str) -> HashMap<String, String> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(loc, files)| (*loc, files.iter().flat_map(|f| parse(f)).collect()))
            .collect()
    })
}

/// The keys of one locale, for the completeness test.
pub fn keys(locale: &str) -> Vec<String> {
    let mut keys: Vec<String> = catalog()
        .get(locale)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Picks a supported locale from an `Accept-Language` header.
pub fn negotiate(accept_language: Option<&str>) -> &'static str {
    let Some(header) = accept_language else {
        return DEFAULT_LOCALE;
    };
    let mut ranked: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut it = part.trim().split(';');
            let tag = it.next()?.trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, tag) in ranked {
        let tag = tag.to_ascii_lowercase();
        if tag.starts_with("zh") {
            return "zh-CN";
        }
        if tag.starts_with("en") {
            return "en";
        }
    }
    DEFAULT_LOCALE
}

/// Texts of one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub locale: &'static str,
}

impl Tr {
    pub fn new(locale: &str) -> Self {
        Self {
            locale: LOCALES
                .iter()
                .find(|l| **l == locale)
                .copied()
                .unwrap_or(DEFAULT_LOCALE),
        }
    }

    /// The text for `key`; a missing key shows itself (and fails the completeness test).
    pub fn t(&self, key: &str) -> String {
        catalog()
            .get(self.locale)
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// The text for `key`, or `fallback` when no locale has one (a value added after the texts).
    pub fn t_or(&self, key: &str, fallback: &str) -> String {
        let text = self.t(key);
        if text == key {
            fallback.to_owned()
        } else {
            text
        }
    }

    /// The text for `key` with `{ $name }` placeholders filled.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("{{ ${name} }}"), value);
        }
        text
    }

    /// Items joined the way this language lists them (`a, b` / `a、b`), from `list.join`.
    pub fn list<I: IntoIterator<Item = String>>(&self, items: I) -> String {
        let separator = self.f("list.join", &[("head", ""), ("tail", "")]);
        items.into_iter().collect::<Vec<_>>().join(&separator)
    }

    pub fn is_zh(&self) -> bool {
        self.locale == "zh-CN"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_key() {
        let zh = keys("zh-CN");
        let en = keys("en");
        assert!(zh.len() > 50, "catalog too small: {}", zh.len());
        let only_zh: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "missing in en: {only_zh:?}; missing in zh-CN: {only_en:?}"
        );
    }

    #[test]
    fn no_key_is_defined_in_two_area_files() {
        for (locale, files) in SOURCES {
            let mut seen = std::collections::HashSet::new();
            for file in files {
                for key in parse(file).into_keys() {
                    assert!(seen.insert(key.clone()), "{locale}: `{key}` defined twice");
                }
            }
        }
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let zh = keys("zh-CN");
        let sources = [include_str!("../templates/layout.html")];
        let mut missing = Vec::new();
        for src in sources
            .iter()
            .copied()
            .chain(crate::ui::TEMPLATE_SOURCES.iter().copied())
        {
            for part in src.split("t(\"").skip(1) {
                if let Some(end) = part.find('"') {
                    let key = &part[..end];
                    if !zh.iter().any(|k| k == key) {
                        missing.push(key.to_owned());
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys used but not defined: {missing:?}");
    }

    #[test]
    fn lists_read_the_way_each_language_writes_them() {
        let items = || {
            [
                "华为".to_owned(),
                "Acme { $tail }".to_owned(),
                "C".to_owned(),
            ]
        };
        assert_eq!(Tr::new("zh-CN").list(items()), "华为、Acme { $tail }、C");
        assert_eq!(Tr::new("en").list(items()), "华为, Acme { $tail }, C");
        assert_eq!(Tr::new("en").list(Vec::new()), "");
    }

    #[test]
    fn browser_language_decides_when_the_user_has_none() {
        assert_eq!(negotiate(Some("en-US,en;q=0.9")), "en");
        assert_eq!(negotiate(Some("zh-CN,zh;q=0.9,en;q=0.8")), "zh-CN");
        assert_eq!(negotiate(Some("fr-FR, en;q=0.5")), "en");
        assert_eq!(negotiate(None), "zh-CN");
    }
}
