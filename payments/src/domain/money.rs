use std::fmt;

use super::Invalid;

pub const MAX_AMOUNT: u64 = 1_000_000_000_000;

/// A transfer amount in minor units: `1 <= amount <= 10^12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(u64);

impl Amount {
    pub fn parse(n: u64) -> Result<Self, Invalid> {
        if (1..=MAX_AMOUNT).contains(&n) {
            Ok(Self(n))
        } else {
            Err(Invalid(format!(
                "amount must be between 1 and {MAX_AMOUNT}"
            )))
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// An opening balance in minor units: `0 <= balance <= 10^12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance(u64);

impl Balance {
    pub fn parse(n: u64) -> Result<Self, Invalid> {
        if n <= MAX_AMOUNT {
            Ok(Self(n))
        } else {
            Err(Invalid(format!(
                "initial_balance must be between 0 and {MAX_AMOUNT}"
            )))
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// An ISO 4217 code: three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid("currency must match ^[A-Z]{3}$".into()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded() {
        assert!(Amount::parse(0).is_err());
        assert!(Amount::parse(1).is_ok());
        assert!(Amount::parse(MAX_AMOUNT).is_ok());
        assert!(Amount::parse(MAX_AMOUNT + 1).is_err());
        assert!(Balance::parse(0).is_ok());
        assert!(Balance::parse(MAX_AMOUNT + 1).is_err());
    }

    #[test]
    fn currencies_are_three_capitals() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "E1R", "ÉUR", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
