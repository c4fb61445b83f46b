//! The two request bodies. JSON that does not parse is `invalid-json`; JSON of the wrong shape
//! (unknown field, wrong type, float or negative amount, out-of-range value) is
//! `validation-failed`.

use serde::Deserialize;

use super::{AccountId, Amount, Balance, Currency, Invalid};
use crate::error::PaymentsError;

pub const MAX_REFERENCE_CHARS: usize = 140;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub account_id: Option<AccountId>,
    pub currency: Currency,
    pub initial_balance: Balance,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    currency: String,
    #[serde(default)]
    initial_balance: u64,
    account_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    from: String,
    to: String,
    amount: u64,
    currency: String,
    reference: Option<String>,
}

/// Syntax first, over the whole body (so that broken JSON is `invalid-json` even when its
/// first bytes already have the wrong shape), then "an object", then the shape. The object check
/// is needed because serde's derived structs also accept a JSON array, taking the fields by
/// position: `["acc_a","acc_b",1,"EUR",null]` would otherwise be a valid transfer.
pub(super) fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PaymentsError> {
    syntax(body)?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(PaymentsError::ValidationFailed(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => PaymentsError::ValidationFailed(e.to_string()),
        _ if out_of_range(&e) => PaymentsError::ValidationFailed(e.to_string()),
        _ => PaymentsError::InvalidJson(e.to_string()),
    })
}

/// JSON as I-JSON (RFC 7493) has it: UTF-8, and no escape that names no character (a lone
/// surrogate, `"\uDACB"`), which serde finds only where it decodes a string, so every string
/// is decoded here. A number beyond f64 (`1e400`) is still JSON (the grammar has no range, I-JSON
/// only advises against it): where it is, the syntax alone is checked.
fn syntax(body: &[u8]) -> Result<(), PaymentsError> {
    let invalid = |e: serde_json::Error| PaymentsError::InvalidJson(e.to_string());
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(_) => Ok(()),
        Err(e) if out_of_range(&e) => {
            std::str::from_utf8(body).map_err(|e| PaymentsError::InvalidJson(e.to_string()))?;
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(invalid)?;
            Ok(())
        }
        Err(e) => Err(invalid(e)),
    }
}

/// serde files a number beyond f64 as a syntax error; its message is the only sign of it.
fn out_of_range(e: &serde_json::Error) -> bool {
    e.to_string().starts_with("number out of range")
}

impl From<Invalid> for PaymentsError {
    fn from(e: Invalid) -> Self {
        PaymentsError::ValidationFailed(e.0)
    }
}

impl NewAccount {
    pub fn parse(body: &[u8]) -> Result<Self, PaymentsError> {
        let raw: AccountBody = decode(body)?;
        Ok(Self {
            account_id: raw
                .account_id
                .as_deref()
                .map(AccountId::parse)
                .transpose()?,
            currency: Currency::parse(&raw.currency)?,
            initial_balance: Balance::parse(raw.initial_balance)?,
        })
    }
}

impl NewTransfer {
    pub fn parse(body: &[u8]) -> Result<Self, PaymentsError> {
        let raw: TransferBody = decode(body)?;
        Self::checked(&raw.from, &raw.to, raw.amount, &raw.currency, raw.reference)
    }

    /// A transfer's fields, each checked: two different accounts, a positive amount, a
    /// currency, a reference of at most 140 characters.
    pub fn checked(
        from: &str,
        to: &str,
        amount: u64,
        currency: &str,
        reference: Option<String>,
    ) -> Result<Self, PaymentsError> {
        let from = AccountId::parse(from).map_err(|_| invalid("from"))?;
        let to = AccountId::parse(to).map_err(|_| invalid("to"))?;
        if from == to {
            return Err(PaymentsError::ValidationFailed(
                "from and to must be different accounts".into(),
            ));
        }
        if let Some(r) = &reference {
            if r.chars().count() > MAX_REFERENCE_CHARS {
                return Err(PaymentsError::ValidationFailed(format!(
                    "reference must be at most {MAX_REFERENCE_CHARS} characters"
                )));
            }
        }
        Ok(Self {
            from,
            to,
            amount: Amount::parse(amount)?,
            currency: Currency::parse(currency)?,
            reference,
        })
    }
}

pub(super) fn invalid(field: &'static str) -> PaymentsError {
    PaymentsError::ValidationFailed(replaysafe::ids::InvalidId(field).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use replaysafe::Problem;

    fn code(body: &str) -> String {
        NewTransfer::parse(body.as_bytes())
            .unwrap_err()
            .code()
            .to_owned()
    }

    #[test]
    fn a_valid_transfer_parses() {
        let t = NewTransfer::parse(
            br#"{"from":"a","to":"b","amount":1500,"currency":"EUR","reference":"invoice 42"}"#,
        )
        .unwrap();
        assert_eq!(t.amount.get(), 1500);
        assert_eq!(t.reference.as_deref(), Some("invoice 42"));
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        assert_eq!(code(r#"{"from":"a","#), "invalid-json");
        assert_eq!(code(""), "invalid-json");
        assert_eq!(code("{'from':1}"), "invalid-json");
        assert_eq!(code(r#"{"from":1,"#), "invalid-json");
        assert_eq!(code(&"[".repeat(1000)), "invalid-json");
        // An escape that names no character (a lone surrogate), in a key or a lone string.
        assert_eq!(code(r#"{"\uDacb":"x"}"#), "invalid-json");
        assert_eq!(code(r#""\uDacb[""#), "invalid-json");
        // An unknown field's value is never read, so only the UTF-8 check sees these bytes.
        let not_utf8 = NewTransfer::parse(b"{\"zz\":\"\xff\"}").unwrap_err();
        assert_eq!(
            not_utf8.code(),
            "invalid-json",
            "bytes that are not UTF-8 are not JSON"
        );
    }

    #[test]
    fn shape_errors_are_validation_failed() {
        let base = r#""from":"a","to":"b","currency":"EUR""#;
        for bad in [
            format!(r#"{{{base},"amount":15.5}}"#),
            format!(r#"{{{base},"amount":-1}}"#),
            format!(r#"{{{base},"amount":0}}"#),
            format!(r#"{{{base},"amount":1000000000001}}"#),
            format!(r#"{{{base},"amount":1e30}}"#),
            format!(r#"{{{base},"amount":1e400}}"#),
            "33E3333".into(),
            format!(r#"{{{base},"amount":99999999999999999999999999}}"#),
            format!(r#"{{{base},"amount":"15"}}"#),
            format!(r#"{{{base},"amount":15,"extra":1}}"#),
            format!(
                r#"{{{base},"amount":15,"reference":"{}"}}"#,
                "x".repeat(141)
            ),
            r#"{"from":"a","to":"a","amount":1,"currency":"EUR"}"#.into(),
            r#"{"from":"ä","to":"b","amount":1,"currency":"EUR"}"#.into(),
            r#"{"from":"a","to":"b","amount":1,"currency":"eur"}"#.into(),
            r#"[1,2]"#.into(),
            r#"["a","b",1,"EUR",null]"#.into(),
            r#""a""#.into(),
            "null".into(),
        ] {
            assert_eq!(code(&bad), "validation-failed", "{bad}");
        }
    }

    #[test]
    fn reference_counts_characters_not_bytes() {
        let r = "é".repeat(140);
        let body =
            format!(r#"{{"from":"a","to":"b","amount":1,"currency":"EUR","reference":"{r}"}}"#);
        assert!(NewTransfer::parse(body.as_bytes()).is_ok());
    }

    #[test]
    fn accounts_default_to_a_zero_balance_and_no_id() {
        let a = NewAccount::parse(br#"{"currency":"EUR"}"#).unwrap();
        assert_eq!(a.initial_balance.get(), 0);
        assert!(a.account_id.is_none());
        assert_eq!(
            NewAccount::parse(br#"{"currency":"EUR","initial_balance":-5}"#)
                .unwrap_err()
                .code(),
            "validation-failed"
        );
    }
}
