//! Customers (SPEC CUST-1…CUST-5): duplicate-detection keys, the unified social credit
//! code, tiering, credit ratings and contacts' roles in the decision chain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::leads::string_enum;

// ---------------------------------------------------------------------------------------
// Normalization for duplicate detection
// ---------------------------------------------------------------------------------------

/// Full-width ASCII (U+FF01..U+FF5E) to ASCII, ideographic space (U+3000) to a space.
pub(crate) fn to_half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Characters that separate words of a company name and are dropped: whitespace,
/// controls, ASCII punctuation, and common CJK / typographic punctuation.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{00A1}'..='\u{00BF}'       // Latin-1 punctuation and signs: « » · ® © …
            | '\u{00D7}' | '\u{00F7}'     // × ÷
            | '\u{2010}'..='\u{2027}'     // dashes, quotes, bullets, ellipsis
            | '\u{2030}'..='\u{205E}'     // primes, ‹ ›, ‼ …
            | '\u{2122}'                  // ™
            | '\u{3001}'..='\u{3003}'     // 、。〃
            | '\u{3008}'..='\u{3011}'     // 〈〉《》「」『』【】
            | '\u{3014}'..='\u{301F}'     // 〔〕〖〗〘〙〚〛〜〝〞〟
            | '\u{30FB}'                  // ・ katakana middle dot
            | '\u{FE50}'..='\u{FE6B}'     // small form variants
            | '\u{FF5F}'..='\u{FF65}' // half-width CJK punctuation ｟｠｡｢｣､･
        )
}

/// East Asian scripts (CJK, kana, Hangul, …): no spaces between words, so a Latin legal
/// suffix right after one of these counts as a separate word.
fn is_wide(c: char) -> bool {
    c as u32 >= 0x2E80
}

/// Legal-form suffixes in normalized form, and whether they must start a word.
/// Chinese ones never need a word boundary; Latin ones do, so "Costco" keeps its "co"
/// and "Zinc" its "inc".
const LEGAL_SUFFIXES: &[(&str, bool)] = &[
    ("有限责任公司", false),
    ("股份有限公司", false),
    ("有限公司", false),
    ("集团", false),
    ("公司", false),
    ("coltd", true),
    ("co", true),
    ("ltd", true),
    ("limited", true),
    ("inc", true),
    ("incorporated", true),
    ("corp", true),
    ("corporation", true),
    ("company", true),
    ("llc", true),
    ("gmbh", true),
    ("plc", true),
];

/// A company name reduced to a key for duplicate detection.
///
/// Full-width ASCII becomes half-width, everything is lowercased, whitespace and
/// punctuation are dropped, and legal-form suffixes (有限公司, 集团, Co., Ltd., Inc,
/// GmbH, …) are stripped from the end repeatedly, longest first. Latin suffixes only
/// count when they are a word of their own (after a space, punctuation or a CJK
/// character), so "Costco" stays "costco" while "Acme Co." becomes "acme".
///
/// A suffix is never stripped when that would leave nothing, so a name with letters
/// never normalizes to "" ("Limited" stays "limited"). The result is idempotent.
pub fn normalize_company_name(s: &str) -> String {
    let mut key = String::with_capacity(s.len());
    // Byte offsets in `key` where a word starts.
    let mut word_starts = Vec::new();
    let mut in_word = false;
    for c in s.chars().map(to_half_width) {
        if is_separator(c) {
            in_word = false;
            continue;
        }
        if !in_word {
            word_starts.push(key.len());
            in_word = true;
        }
        key.extend(c.to_lowercase());
    }
    let mut end = key.len();
    loop {
        let head = &key[..end];
        let cut = LEGAL_SUFFIXES
            .iter()
            .filter_map(|&(suffix, needs_boundary)| {
                let rest = head.strip_suffix(suffix)?;
                let at_boundary = word_starts.contains(&rest.len())
                    || rest.chars().next_back().is_some_and(is_wide);
                (!rest.is_empty() && (!needs_boundary || at_boundary)).then_some(rest.len())
            })
            .min();
        match cut {
            Some(n) => end = n,
            None => break,
        }
    }
    key.truncate(end);
    key
}

/// A phone number reduced to its digits for duplicate detection.
///
/// Full-width digits count as digits. A Chinese mobile number written with the country
/// code (`+86 138 0013 8000`, `0086…`, `86…`) loses the code, so it matches the same
/// number written without one. Other numbers, landlines with their area code included,
/// keep all their digits.
pub fn normalize_phone(s: &str) -> String {
    let digits: String = s
        .chars()
        .map(to_half_width)
        .filter(char::is_ascii_digit)
        .collect();
    let national = digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86"));
    match national {
        Some(n) if is_cn_mobile(n) => n.to_owned(),
        _ => digits,
    }
}

/// 11 digits starting 13…19.
fn is_cn_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// An e-mail address reduced to a key for duplicate detection: trimmed and lowercased.
pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

// ---------------------------------------------------------------------------------------
// Unified social credit code (统一社会信用代码, GB 32100-2015)
// ---------------------------------------------------------------------------------------

/// The 31 characters a unified social credit code may use (no I, O, S, V, Z), in the
/// order that gives their numeric values.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters")]
    WrongLength,
    #[error("`{0}` cannot appear in a unified social credit code")]
    InvalidCharacter(char),
    #[error("the check character of the unified social credit code does not match")]
    CheckDigitMismatch,
}

/// A unified social credit code (统一社会信用代码) whose alphabet, length and check
/// character have been verified. Stored uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnifiedSocialCreditCode(String);

fn uscc_value(c: char) -> Result<u32, CreditCodeError> {
    u8::try_from(c)
        .ok()
        .and_then(|b| USCC_ALPHABET.iter().position(|&a| a == b))
        .and_then(|i| u32::try_from(i).ok())
        .ok_or(CreditCodeError::InvalidCharacter(c))
}

/// The check character for 17 values (each below 31): 31 − (Σ value·weight mod 31),
/// with 31 meaning 0.
fn uscc_check_char(values: &[u32; 17]) -> char {
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    char::from(USCC_ALPHABET[check as usize])
}

impl UnifiedSocialCreditCode {
    /// Parses a code, ignoring surrounding whitespace and letter case.
    pub fn parse(s: &str) -> Result<Self, CreditCodeError> {
        let code: String = s.trim().chars().flat_map(char::to_uppercase).collect();
        let chars: Vec<char> = code.chars().collect();
        let Some((&check, body)) = chars.split_last() else {
            return Err(CreditCodeError::WrongLength);
        };
        if chars.len() != 18 {
            return Err(CreditCodeError::WrongLength);
        }
        let mut values = [0u32; 17];
        for (v, &c) in values.iter_mut().zip(body) {
            *v = uscc_value(c)?;
        }
        uscc_value(check)?;
        if uscc_check_char(&values) != check {
            return Err(CreditCodeError::CheckDigitMismatch);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UnifiedSocialCreditCode {
    type Err = CreditCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for UnifiedSocialCreditCode {
    type Error = CreditCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<UnifiedSocialCreditCode> for String {
    fn from(c: UnifiedSocialCreditCode) -> Self {
        c.0
    }
}

impl fmt::Display for UnifiedSocialCreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------
// Tiering, credit, decision roles
// ---------------------------------------------------------------------------------------

string_enum!(
    /// How important a customer is. Ordered most important first.
    CustomerTier {
        Strategic => "strategic",
        Core => "core",
        Ordinary => "ordinary",
    }
);

/// Relative weights of the tier-score inputs (any scale; they need not sum to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TierWeights {
    pub contribution: u32,
    pub potential: u32,
    pub payment: u32,
}

impl Default for TierWeights {
    fn default() -> Self {
        Self {
            contribution: 50,
            potential: 30,
            payment: 20,
        }
    }
}

/// Minimum scores (0–100) for the strategic and core tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TierThresholds {
    pub strategic: u32,
    pub core: u32,
}

impl Default for TierThresholds {
    fn default() -> Self {
        Self {
            strategic: 80,
            core: 60,
        }
    }
}

/// A customer's ratings (each 0–100; larger values count as 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TierInputs {
    /// Revenue / profit contribution.
    pub contribution: u8,
    /// Growth potential.
    pub potential: u8,
    /// Payment behaviour.
    pub payment: u8,
}

/// The weighted average of the inputs, rounded half up, in 0–100. All-zero weights
/// score 0.
pub fn score(weights: &TierWeights, inputs: &TierInputs) -> u32 {
    let pairs = [
        (weights.contribution, inputs.contribution),
        (weights.potential, inputs.potential),
        (weights.payment, inputs.payment),
    ];
    let total: u64 = pairs.iter().map(|&(w, _)| u64::from(w)).sum();
    if total == 0 {
        return 0;
    }
    let weighted: u64 = pairs
        .iter()
        .map(|&(w, x)| u64::from(w) * u64::from(x.min(100)))
        .sum();
    let rounded = (2 * weighted + total) / (2 * total);
    u32::try_from(rounded).unwrap_or(100)
}

/// The tier a score earns: strategic at or above `strategic`, else core at or above
/// `core`, else ordinary.
pub fn tier_for(score: u32, thresholds: &TierThresholds) -> CustomerTier {
    if score >= thresholds.strategic {
        CustomerTier::Strategic
    } else if score >= thresholds.core {
        CustomerTier::Core
    } else {
        CustomerTier::Ordinary
    }
}

string_enum!(
    /// A customer's credit rating. Ordered best first.
    CreditRating {
        Aaa => "AAA",
        Aa => "AA",
        A => "A",
        B => "B",
        C => "C",
    }
);

impl CreditRating {
    /// B and C are poor credit (e.g. require prepayment or approval).
    pub fn is_poor(self) -> bool {
        matches!(self, Self::B | Self::C)
    }
}

/// Whether an owned customer is due a revisit under its tier's cadence (CUST-3): the last
/// touch — the latest activity, else when the customer was registered — is at least
/// `cadence_days` old. Customers in the public pool have nobody to revisit them.
pub fn revisit_due(owned: bool, last_touch_ms: i64, now_ms: i64, cadence_days: i64) -> bool {
    const DAY_MS: i64 = 86_400_000;
    owned && now_ms.saturating_sub(last_touch_ms) >= cadence_days.saturating_mul(DAY_MS)
}

string_enum!(
    /// A contact's role in the customer's decision chain.
    DecisionRole {
        DecisionMaker => "decision_maker",
        Influencer => "influencer",
        User => "user",
        Finance => "finance",
        Gatekeeper => "gatekeeper",
    }
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_revisit_falls_due_when_the_cadence_has_passed() {
        let day = 86_400_000;
        assert!(!revisit_due(true, 0, 13 * day, 14));
        assert!(revisit_due(true, 0, 14 * day, 14));
        assert!(
            !revisit_due(false, 0, 100 * day, 14),
            "nobody owns a pool customer"
        );
        assert!(!revisit_due(true, 5 * day, 18 * day, 14));
    }

    #[test]
    fn company_names_from_the_spec() {
        assert_eq!(normalize_company_name("华为技术有限公司"), "华为技术");
        assert_eq!(
            normalize_company_name("ＨＵＡＷＥＩ Technologies Co., Ltd."),
            "huaweitechnologies"
        );
        assert_eq!(normalize_company_name("Acme, Inc."), "acme");
    }

    #[test]
    fn company_suffix_variants_collide() {
        let same = |names: &[&str]| {
            let keys: Vec<String> = names.iter().map(|n| normalize_company_name(n)).collect();
            assert!(
                keys.windows(2).all(|w| w[0] == w[1]),
                "{names:?} -> {keys:?}"
            );
        };
        same(&[
            "华为技术有限公司",
            "华为技术股份有限公司",
            "华为技术有限责任公司",
            "华为技术公司",
            " 华为技术　有限公司 ",
            "华为技术",
        ]);
        same(&["阿里巴巴集团", "阿里巴巴集团有限公司", "阿里巴巴（集团）"]);
        same(&[
            "Huawei Technologies Co., Ltd.",
            "HUAWEI TECHNOLOGIES CO.,LTD",
            "Huawei Technologies Co.Ltd",
            "Huawei Technologies Coltd",
            "Huawei Technologies Limited",
            "huawei-technologies ltd",
            "Huawei Technologies",
        ]);
        same(&[
            "Acme Inc",
            "ACME Incorporated",
            "Acme Corp.",
            "Acme Corporation",
            "Acme LLC",
            "Acme GmbH",
            "Acme plc",
            "Acme & Co.",
            "Acme Company",
            "Acme, Inc., Ltd.",
        ]);
        same(&[
            "深圳市腾讯计算机系统有限公司",
            "深圳市腾讯计算机系统 Co., Ltd.",
        ]);
        same(&[
            "小米科技（北京）有限公司",
            "小米科技(北京)有限公司",
            "小米科技·北京",
        ]);
    }

    #[test]
    fn company_names_keep_embedded_words() {
        assert_eq!(normalize_company_name("Costco"), "costco");
        assert_eq!(
            normalize_company_name("Costco Wholesale Corporation"),
            "costcowholesale"
        );
        assert_eq!(normalize_company_name("Zinc Ltd"), "zinc");
        assert_eq!(normalize_company_name("Tesco PLC"), "tesco");
        assert_eq!(
            normalize_company_name("O'Reilly Media, Inc."),
            "oreillymedia"
        );
        assert_eq!(normalize_company_name("华为Co.,Ltd"), "华为");
    }

    #[test]
    fn company_names_never_empty_when_lettered() {
        assert_eq!(normalize_company_name("Limited"), "limited");
        // The last strip that would leave nothing is skipped, shorter suffixes still apply.
        assert_eq!(normalize_company_name("有限公司"), "有限");
        assert_eq!(normalize_company_name("Inc."), "inc");
        assert_eq!(normalize_company_name("Co., Ltd."), "co");
        assert_eq!(normalize_company_name("集团公司"), "集团");
        assert_eq!(normalize_company_name(""), "");
        assert_eq!(normalize_company_name(" .,()（）·-_&'\" "), "");
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("138 0013 8000"), "13800138000");
        assert_eq!(normalize_phone("+86 138-0013-8000"), "13800138000");
        assert_eq!(normalize_phone("0086 13800138000"), "13800138000");
        assert_eq!(normalize_phone("8613800138000"), "13800138000");
        assert_eq!(
            normalize_phone("＋８６ １３８００１３８０００"),
            "13800138000"
        );
        // Landlines keep the area code; not-a-mobile numbers keep every digit.
        assert_eq!(normalize_phone("010-8888 6666"), "01088886666");
        assert_eq!(normalize_phone("(0755) 2678-0000"), "075526780000");
        assert_eq!(normalize_phone("+86 10 8888 6666"), "861088886666");
        assert_eq!(normalize_phone("8612800138000"), "8612800138000");
        assert_eq!(normalize_phone("+1 (415) 555-0100"), "14155550100");
        assert_eq!(normalize_phone("n/a"), "");
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("  Zhang.San@Example.COM \n"),
            "zhang.san@example.com"
        );
    }

    #[test]
    fn credit_codes() {
        // Published codes; the check characters were also worked out by hand.
        for code in [
            "91350100M000100Y43", // SPEC example
            "914403001922038216", // 华为技术有限公司
            "9144030071526726XG", // 深圳市腾讯计算机系统有限公司
        ] {
            let parsed = UnifiedSocialCreditCode::parse(code).unwrap();
            assert_eq!(parsed.as_str(), code);
        }
        let lower = UnifiedSocialCreditCode::parse("  91350100m000100y43\t").unwrap();
        assert_eq!(lower.as_str(), "91350100M000100Y43");
        assert_eq!(lower.to_string(), "91350100M000100Y43");

        use CreditCodeError::*;
        let p = UnifiedSocialCreditCode::parse;
        assert_eq!(p("91350100M000100Y4"), Err(WrongLength));
        assert_eq!(p("91350100M000100Y433"), Err(WrongLength));
        assert_eq!(p(""), Err(WrongLength));
        assert_eq!(p("91350100I000100Y43"), Err(InvalidCharacter('I')));
        assert_eq!(p("91350100M000100Y4O"), Err(InvalidCharacter('O')));
        assert_eq!(p("91350100M000100Y4-"), Err(InvalidCharacter('-')));
        assert_eq!(p("91350100M000100Y４3"), Err(InvalidCharacter('４')));
        assert_eq!(p("91350100M000100Y44"), Err(CheckDigitMismatch));
        // Σ value·weight = 298, 298 mod 31 = 19, so the check character is 31 − 19 = 12 = C.
        assert_eq!(p("911100001000013428"), Err(CheckDigitMismatch));
        assert!(p("91110000100001342C").is_ok());
        assert_eq!(p("91350100M000100Y34"), Err(CheckDigitMismatch));
    }

    #[test]
    fn credit_code_serde() {
        use serde::de::{value::Error as DeError, IntoDeserializer};
        let de = |s: &str| UnifiedSocialCreditCode::deserialize(s.into_deserializer());
        let ok: Result<_, DeError> = de("91350100M000100Y43");
        assert_eq!(ok.unwrap().as_str(), "91350100M000100Y43");
        let bad: Result<_, DeError> = de("91350100M000100Y44");
        assert!(bad.is_err());
    }

    #[test]
    fn tier_scores() {
        let w = TierWeights::default();
        let s = |c, p, y| {
            score(
                &w,
                &TierInputs {
                    contribution: c,
                    potential: p,
                    payment: y,
                },
            )
        };
        assert_eq!(s(100, 100, 100), 100);
        assert_eq!(s(0, 0, 0), 0);
        assert_eq!(s(90, 70, 80), 82); // 45 + 21 + 16
        assert_eq!(s(1, 0, 0), 1); // 0.5 rounds up
        assert_eq!(s(0, 1, 0), 0); // 0.3 rounds down
        assert_eq!(s(255, 255, 255), 100);
        let thirds = TierWeights {
            contribution: 1,
            potential: 1,
            payment: 1,
        };
        let i = TierInputs {
            contribution: 1,
            potential: 0,
            payment: 0,
        };
        assert_eq!(score(&thirds, &i), 0); // 0.333…
        let i = TierInputs {
            contribution: 1,
            potential: 1,
            payment: 0,
        };
        assert_eq!(score(&thirds, &i), 1); // 0.666…
        let zero = TierWeights {
            contribution: 0,
            potential: 0,
            payment: 0,
        };
        assert_eq!(score(&zero, &i), 0);

        let t = TierThresholds::default();
        assert_eq!(tier_for(100, &t), CustomerTier::Strategic);
        assert_eq!(tier_for(80, &t), CustomerTier::Strategic);
        assert_eq!(tier_for(79, &t), CustomerTier::Core);
        assert_eq!(tier_for(60, &t), CustomerTier::Core);
        assert_eq!(tier_for(59, &t), CustomerTier::Ordinary);
        assert_eq!(tier_for(0, &t), CustomerTier::Ordinary);
    }

    #[test]
    fn enum_names() {
        for v in CustomerTier::ALL {
            assert_eq!(v.as_str().parse::<CustomerTier>(), Ok(*v));
        }
        for v in DecisionRole::ALL {
            assert_eq!(v.as_str().parse::<DecisionRole>(), Ok(*v));
        }
        let names: Vec<&str> = CreditRating::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, ["AAA", "AA", "A", "B", "C"]);
        let poor: Vec<CreditRating> = CreditRating::ALL
            .iter()
            .copied()
            .filter(|r| r.is_poor())
            .collect();
        assert_eq!(poor, [CreditRating::B, CreditRating::C]);
        assert_eq!("decision_maker".parse(), Ok(DecisionRole::DecisionMaker));
        assert!("aaa".parse::<CreditRating>().is_err());
        assert!(CreditRating::Aaa < CreditRating::C);
    }

    fn alphabet_char() -> impl Strategy<Value = char> {
        (0..31usize).prop_map(|i| char::from(USCC_ALPHABET[i]))
    }

    fn with_check(body: &[char]) -> String {
        let mut values = [0u32; 17];
        for (v, c) in values.iter_mut().zip(body) {
            *v = uscc_value(*c).unwrap();
        }
        let mut code: String = body.iter().collect();
        code.push(uscc_check_char(&values));
        code
    }

    proptest! {
        #[test]
        fn computed_check_digit_parses_and_single_changes_fail(
            body in proptest::collection::vec(alphabet_char(), 17),
            pos in 0..18usize,
            replacement in alphabet_char(),
        ) {
            let code = with_check(&body);
            let parsed = UnifiedSocialCreditCode::parse(&code);
            prop_assert_eq!(parsed.as_ref().map(|c| c.as_str()), Ok(code.as_str()));
            let mut chars: Vec<char> = code.chars().collect();
            prop_assume!(chars[pos] != replacement);
            chars[pos] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert_eq!(
                UnifiedSocialCreditCode::parse(&changed),
                Err(CreditCodeError::CheckDigitMismatch)
            );
        }

        #[test]
        fn company_normalization_is_idempotent(s in "\\PC{0,24}") {
            let once = normalize_company_name(&s);
            prop_assert_eq!(normalize_company_name(&once), once.clone());
            prop_assert!(!once.chars().any(char::is_whitespace));
        }

        #[test]
        fn company_normalization_is_idempotent_on_suffix_soup(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("co"), Just("Ltd"), Just("inc"), Just("公司"), Just("有限"),
                    Just("集团"), Just("责任"), Just("华"), Just("x"), Just("corp"),
                    Just("oration"), Just("limit"), Just("ed"), Just("gmb"), Just("h"),
                ],
                0..8,
            ),
            seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just(".,"), Just("（")], 8),
        ) {
            let s: String = parts.iter().zip(&seps).flat_map(|(p, sep)| [*p, *sep]).collect();
            let once = normalize_company_name(&s);
            prop_assert_eq!(normalize_company_name(&once), once.clone());
            prop_assert_eq!(once.is_empty(), s.chars().map(to_half_width).all(is_separator));
        }

        #[test]
        fn suffixes_do_not_split_duplicates(
            name in "[A-Za-z][A-Za-z ]{0,12}[A-Za-z]|[\\u4e00-\\u9fa5]{2,6}",
            suffix in prop_oneof![
                Just(""), Just(" Co., Ltd."), Just(" Inc."), Just(", LLC"), Just(" GmbH"),
                Just("有限公司"), Just("股份有限公司"), Just("有限责任公司"), Just("集团有限公司"),
            ],
        ) {
            let base = normalize_company_name(&name);
            // Names that are themselves a suffix chain ("Co Inc") are out of scope.
            prop_assume!(normalize_company_name(&format!("{name} zz")) == format!("{base}zz"));
            let full = format!("{name}{suffix}");
            let wide = full.chars().map(|c| match c {
                ' ' => '\u{3000}',
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                _ => c,
            }).collect::<String>();
            prop_assert_eq!(normalize_company_name(&full), base.clone());
            prop_assert_eq!(normalize_company_name(&wide), base.clone());
            prop_assert_eq!(normalize_company_name(&full.to_uppercase()), base);
        }

        #[test]
        fn phone_normalization_is_idempotent(s in "[+0-9 ()-]{0,20}") {
            let once = normalize_phone(&s);
            prop_assert!(once.chars().all(|c| c.is_ascii_digit()));
            prop_assert_eq!(normalize_phone(&once), once);
        }

        #[test]
        fn mobiles_match_with_or_without_country_code(rest in "[3-9][0-9]{9}", prefix in prop_oneof![Just(""), Just("+86 "), Just("0086"), Just("86"), Just("+86-")]) {
            let mobile = format!("1{rest}");
            prop_assert_eq!(normalize_phone(&format!("{prefix}{mobile}")), mobile);
        }

        #[test]
        fn email_normalization_is_idempotent(s in "\\PC{0,24}") {
            let once = normalize_email(&s);
            prop_assert_eq!(normalize_email(&once), once);
        }

        #[test]
        fn score_in_range_and_tier_monotone(
            wc in 0..1000u32, wp in 0..1000u32, wy in 0..1000u32,
            c in any::<u8>(), p in any::<u8>(), y in any::<u8>(),
        ) {
            let w = TierWeights { contribution: wc, potential: wp, payment: wy };
            let s = score(&w, &TierInputs { contribution: c, potential: p, payment: y });
            prop_assert!(s <= 100);
            let lo = u32::from(c.min(p).min(y).min(100));
            let hi = u32::from(c.max(p).max(y).min(100));
            if wc + wp + wy > 0 {
                prop_assert!(lo <= s && s <= hi);
            }
            let t = TierThresholds::default();
            prop_assert!(tier_for(s + 1, &t) <= tier_for(s, &t));
        }
    }
}
