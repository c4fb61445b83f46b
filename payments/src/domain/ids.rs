use std::fmt;

use replaysafe::ids::{is_valid_id, InvalidId};

use super::Invalid;

macro_rules! id_type {
    ($name:ident, $what:literal, $prefix:literal) => {
        #[doc = concat!("An `", $what, "`: the contract's id rule.")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id, if `s` follows the id rule.
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                if is_valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(Invalid(InvalidId($what).to_string()))
                }
            }

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(AccountId, "account_id", "acc_");
id_type!(TransferId, "transfer_id", "tr_");
id_type!(PayoutId, "payout_id", "po_");
id_type!(WithdrawalId, "withdrawal_id", "wd_");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract_pattern() {
        assert!(AccountId::parse("acc_alice-1").is_ok());
        assert!(AccountId::parse(&"a".repeat(64)).is_ok());
        assert!(AccountId::parse(&"a".repeat(65)).is_err());
        assert!(AccountId::parse("").is_err());
        assert!(AccountId::parse("acc alice").is_err());
        assert!(AccountId::parse("acc_é").is_err());
        assert!(AccountId::parse("acc#1").is_err());
        assert!(AccountId::parse(AccountId::generate().as_str()).is_ok());
    }
}
