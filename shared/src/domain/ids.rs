use std::fmt;

use super::Invalid;

/// `^[A-Za-z0-9_-]{1,64}$`: the contract's shape for every id.
fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

macro_rules! id_type {
    ($name:ident, $what:literal, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                if is_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(Invalid(format!(
                        "{} must match ^[A-Za-z0-9_-]{{1,64}}$",
                        $what
                    )))
                }
            }

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

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
id_type!(ClientId, "client_id", "cli_");

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
        assert!(ClientId::parse(ClientId::generate().as_str()).is_ok());
    }
}
