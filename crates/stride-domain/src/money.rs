//! Exact money: integer minor units (fen for CNY), never floating point.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currencies differ")]
    CurrencyMismatch,
    #[error("amount out of range")]
    Overflow,
    #[error("invalid currency code: {0:?}")]
    InvalidCurrency(String),
    #[error("invalid amount: {0:?}")]
    InvalidAmount(String),
}

/// ISO 4217 code, three uppercase ASCII letters; serialized as the string "CNY".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const CNY: Currency = Currency(*b"CNY");
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");

    /// Accepts any letter case ("cny" is CNY) and surrounding whitespace.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        match s.trim().as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => {
                Ok(Currency([a, b, c].map(|x| x.to_ascii_uppercase())))
            }
            _ => Err(MoneyError::InvalidCurrency(s.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// ¥ for CNY, $ for USD, € for EUR, else "" (shown by code instead).
    pub fn symbol(&self) -> &'static str {
        match &self.0 {
            b"CNY" => "¥",
            b"USD" => "$",
            b"EUR" => "€",
            _ => "",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

/// An amount in minor units (2 decimals for every currency: 1 CNY = 100 fen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    fn same(self, o: Money) -> Result<(), MoneyError> {
        if self.currency == o.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch)
        }
    }

    fn with(self, minor: Option<i64>) -> Result<Money, MoneyError> {
        minor
            .map(|m| Money::new(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_add(self, o: Money) -> Result<Money, MoneyError> {
        self.same(o)?;
        self.with(self.minor.checked_add(o.minor))
    }

    pub fn checked_sub(self, o: Money) -> Result<Money, MoneyError> {
        self.same(o)?;
        self.with(self.minor.checked_sub(o.minor))
    }

    pub fn checked_mul(self, qty: i64) -> Result<Money, MoneyError> {
        self.with(self.minor.checked_mul(qty))
    }

    /// Parses a decimal amount such as "1234.5", "1,234.50", "-0.01" into minor units.
    /// Commas must group thousands ("1,5" is rejected, not read as 15); more than
    /// 2 decimals is an error, never rounded silently.
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Money, MoneyError> {
        let bad = || MoneyError::InvalidAmount(s.to_owned());
        let t = s.trim();
        let (negative, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) if (1..=2).contains(&f.len()) => (i, f),
            Some(_) => return Err(bad()),
            None => (t, ""),
        };
        let mut groups = int.split(',');
        let first_ok = groups.next().is_some_and(|g| {
            let max = if int.contains(',') { 3 } else { usize::MAX };
            (1..=max).contains(&g.len())
        });
        if !first_ok || !groups.all(|g| g.len() == 3) {
            return Err(bad());
        }
        // i128 holds any i64 magnitude, so i64::MIN parses; longer inputs overflow here.
        let mut minor: i128 = 0;
        for b in int.bytes().filter(|&b| b != b',').chain(frac.bytes()) {
            if !b.is_ascii_digit() {
                return Err(bad());
            }
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        if frac.len() < 2 {
            minor = minor
                .checked_mul(if frac.is_empty() { 100 } else { 10 })
                .ok_or(MoneyError::Overflow)?;
        }
        let minor = if negative { -minor } else { minor };
        i64::try_from(minor)
            .map(|m| Money::new(m, currency))
            .map_err(|_| MoneyError::Overflow)
    }

    /// Plain "-1234.50": no symbol, no grouping; for form inputs and CSV export.
    pub fn to_decimal_string(&self) -> String {
        format!(
            "{}{}",
            self.sign(),
            amount(self.minor.unsigned_abs(), false)
        )
    }

    /// "¥1,234.50" for zh-CN and en alike for CNY; negative as "-¥1,234.50"; codes
    /// without a symbol as "1,234.50 XYZ". Both Stride locales group with ',' and use
    /// '.' as the decimal point, so `locale` does not change the output yet.
    pub fn format(&self, _locale: &str) -> String {
        let digits = amount(self.minor.unsigned_abs(), true);
        match self.currency.symbol() {
            "" => format!("{}{digits} {}", self.sign(), self.currency),
            symbol => format!("{}{symbol}{digits}", self.sign()),
        }
    }

    fn sign(&self) -> &'static str {
        if self.minor < 0 {
            "-"
        } else {
            ""
        }
    }
}

/// "1234.50" or "1,234.50" from an absolute amount in minor units (u64: i64::MIN fits).
fn amount(abs: u64, grouped: bool) -> String {
    let int = (abs / 100).to_string();
    let mut out = String::with_capacity(int.len() * 4 / 3 + 3);
    for (i, c) in int.chars().enumerate() {
        // A comma wherever a multiple of 3 digits remains.
        if grouped && i > 0 && i % 3 == int.len() % 3 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{:02}", abs % 100)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::{value::Error as DeError, IntoDeserializer};

    fn cny(minor: i64) -> Money {
        Money::new(minor, Currency::CNY)
    }

    fn parse(s: &str) -> Result<Money, MoneyError> {
        Money::parse_decimal(s, Currency::CNY)
    }

    #[test]
    fn parses_decimals() {
        assert_eq!(parse("1234.5"), Ok(cny(123_450)));
        assert_eq!(parse("1,234.50"), Ok(cny(123_450)));
        assert_eq!(parse("-0.01"), Ok(cny(-1)));
        assert_eq!(parse(" +7 "), Ok(cny(700)));
        assert_eq!(parse("1,234,567"), Ok(cny(123_456_700)));
        assert_eq!(parse("-92,233,720,368,547,758.08"), Ok(cny(i64::MIN)));
        assert_eq!(parse("92233720368547758.07"), Ok(cny(i64::MAX)));
        assert_eq!(parse("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(parse(&"9".repeat(60)), Err(MoneyError::Overflow));
        for bad in [
            "", "-", "1.234", "1.", ".5", "1,5", "12,34.5", "1,2345", ",123", "--1", "1 000",
            "1e3", "１",
        ] {
            assert_eq!(
                parse(bad),
                Err(MoneyError::InvalidAmount(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn formats() {
        assert_eq!(cny(123_450).format("zh-CN"), "¥1,234.50");
        assert_eq!(cny(123_450).format("en"), "¥1,234.50");
        assert_eq!(cny(-123_450).format("en"), "-¥1,234.50");
        assert_eq!(cny(5).format("en"), "¥0.05");
        assert_eq!(Money::new(100_000, Currency::USD).format("en"), "$1,000.00");
        let xyz = Currency::parse("xyz").unwrap();
        assert_eq!(Money::new(-123_456, xyz).format("zh-CN"), "-1,234.56 XYZ");
        assert_eq!(cny(i64::MIN).format("en"), "-¥92,233,720,368,547,758.08");
        assert_eq!(cny(i64::MIN).to_decimal_string(), "-92233720368547758.08");
    }

    #[test]
    fn arithmetic_errors() {
        let usd = Money::new(1, Currency::USD);
        assert_eq!(cny(1).checked_add(usd), Err(MoneyError::CurrencyMismatch));
        assert_eq!(cny(1).checked_sub(usd), Err(MoneyError::CurrencyMismatch));
        assert_eq!(cny(i64::MAX).checked_add(cny(1)), Err(MoneyError::Overflow));
        assert_eq!(cny(i64::MIN).checked_sub(cny(1)), Err(MoneyError::Overflow));
        assert_eq!(cny(i64::MIN).checked_mul(-1), Err(MoneyError::Overflow));
        assert_eq!(cny(250).checked_mul(3), Ok(cny(750)));
        assert_eq!(cny(250).checked_sub(cny(300)), Ok(cny(-50)));
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse(" cny "), Ok(Currency::CNY));
        assert_eq!(Currency::CNY.as_str(), "CNY");
        assert_eq!(Currency::USD.to_string(), "USD");
        for bad in ["", "CN", "CNYY", "C1Y", "人民币"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
        let de = |s: &str| Currency::deserialize(s.into_deserializer()) as Result<_, DeError>;
        assert_eq!(de("EUR").unwrap(), Currency::EUR);
        assert!(de("EURO").is_err());
        assert_eq!(String::from(Currency::CNY), "CNY");
    }

    proptest! {
        #[test]
        fn plain_and_formatted_round_trip(minor in any::<i64>()) {
            let m = cny(minor);
            prop_assert_eq!(parse(&m.to_decimal_string()), Ok(m));
            prop_assert_eq!(parse(&m.format("zh-CN").replacen('¥', "", 1)), Ok(m));
            let xyz = Currency::parse("XYZ").unwrap();
            let shown = Money::new(minor, xyz).format("en");
            let stripped = shown.strip_suffix(" XYZ").unwrap();
            prop_assert_eq!(Money::parse_decimal(stripped, xyz), Ok(Money::new(minor, xyz)));
        }

        #[test]
        fn add_commutes_and_errs_exactly_on_overflow(a in any::<i64>(), b in any::<i64>()) {
            let sum = cny(a).checked_add(cny(b));
            prop_assert_eq!(sum.clone(), cny(b).checked_add(cny(a)));
            let exact = i128::from(a) + i128::from(b);
            match i64::try_from(exact) {
                Ok(v) => prop_assert_eq!(sum, Ok(cny(v))),
                Err(_) => prop_assert_eq!(sum, Err(MoneyError::Overflow)),
            }
            let diff = i128::from(a) - i128::from(b);
            prop_assert_eq!(cny(a).checked_sub(cny(b)).ok(), i64::try_from(diff).ok().map(cny));
            let prod = i128::from(a) * i128::from(b);
            prop_assert_eq!(cny(a).checked_mul(b).ok(), i64::try_from(prod).ok().map(cny));
        }

        #[test]
        fn add_associates(a in -(1i64 << 61)..(1 << 61), b in -(1i64 << 61)..(1 << 61), c in -(1i64 << 61)..(1 << 61)) {
            let left = cny(a).checked_add(cny(b)).and_then(|ab| ab.checked_add(cny(c)));
            let right = cny(b).checked_add(cny(c)).and_then(|bc| cny(a).checked_add(bc));
            prop_assert_eq!(left, right);
        }
    }
}
