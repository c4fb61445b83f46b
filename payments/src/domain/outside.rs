//! The two requests that reach beyond the API: a payout message from a queue, and a withdrawal
//! to a bank. Same rules as the HTTP bodies: unknown fields, floats and wrong types are invalid.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use super::requests::{decode, invalid, NewTransfer};
use super::{AccountId, Amount, ClientId, Currency, PayoutId, Principal};
use crate::error::PaymentsError;

/// A payout message: a transfer a trusted internal system asks for, keyed by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayout {
    pub payout_id: PayoutId,
    pub owner: Principal,
    pub transfer: NewTransfer,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayoutBody {
    payout_id: String,
    owner: String,
    from: String,
    to: String,
    amount: u64,
    currency: String,
    reference: Option<String>,
}

impl NewPayout {
    pub fn parse(body: &[u8]) -> Result<Self, PaymentsError> {
        let raw: PayoutBody = decode(body)?;
        let transfer =
            NewTransfer::checked(&raw.from, &raw.to, raw.amount, &raw.currency, raw.reference)?;
        Ok(Self {
            payout_id: PayoutId::parse(&raw.payout_id).map_err(|_| invalid("payout_id"))?,
            owner: owner_from_message(&raw.owner)?,
            transfer,
        })
    }
}

/// A payout's `owner`: a signing client's id (`cli_7f3a`), or an authorizer principal as the
/// API stores it: `sub:` and the base64url (no padding) of its 1 to 255 characters.
pub fn owner_from_message(owner: &str) -> Result<Principal, PaymentsError> {
    if let Ok(client) = ClientId::parse(owner) {
        return Ok(Principal::client(&client));
    }
    owner
        .strip_prefix("sub:")
        .and_then(|encoded| URL_SAFE_NO_PAD.decode(encoded).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|name| Principal::authorized(&name))
        .filter(|p| p.as_str() == owner)
        .ok_or_else(|| {
            PaymentsError::ValidationFailed(
                "owner must be a client id or sub: and the base64url of a principal".into(),
            )
        })
}

/// An IBAN as the API takes it: 5 to 34 ASCII letters and digits. Whether it exists is the
/// bank's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

impl Iban {
    pub fn parse(s: &str) -> Result<Self, PaymentsError> {
        if (5..=34).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(PaymentsError::ValidationFailed(
                "iban must be 5 to 34 ASCII letters and digits".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `POST /withdrawals`' body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWithdrawal {
    pub from: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub iban: Iban,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawalBody {
    from: String,
    amount: u64,
    currency: String,
    iban: String,
}

impl NewWithdrawal {
    pub fn parse(body: &[u8]) -> Result<Self, PaymentsError> {
        let raw: WithdrawalBody = decode(body)?;
        Ok(Self {
            from: AccountId::parse(&raw.from).map_err(|_| invalid("from"))?,
            amount: Amount::parse(raw.amount)?,
            currency: Currency::parse(&raw.currency)?,
            iban: Iban::parse(&raw.iban)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replaysafe::Problem;

    const PAYOUT: &str = r#"{"payout_id":"po_1","owner":"cli_7f3a","from":"acc_x","to":"acc_y","amount":1500,"currency":"EUR","reference":"december"}"#;

    #[test]
    fn a_payout_message_parses_with_its_owner() {
        let p = NewPayout::parse(PAYOUT.as_bytes()).unwrap();
        assert_eq!(p.payout_id.as_str(), "po_1");
        assert_eq!(p.owner.as_str(), "cli_7f3a");
        assert_eq!(p.transfer.amount.get(), 1500);
        let alice = Principal::authorized("alice").unwrap();
        assert_eq!(owner_from_message(alice.as_str()).unwrap(), alice);
    }

    #[test]
    fn a_bad_payout_message_is_invalid() {
        for bad in [
            PAYOUT.replace("1500", "15.5"),
            PAYOUT.replace(r#""reference""#, r#""extra":1,"reference""#),
            PAYOUT.replace("cli_7f3a", "not an owner"),
            PAYOUT.replace("cli_7f3a", "sub:YWxpY2U="),
            PAYOUT.replace("cli_7f3a", "sub:!!"),
            PAYOUT.replace("cli_7f3a", "sub:"),
            PAYOUT.replace("po_1", "po 1"),
            PAYOUT.replace("acc_y", "acc_x"),
            "{".into(),
            "[]".into(),
        ] {
            let e = NewPayout::parse(bad.as_bytes()).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
        }
    }

    #[test]
    fn an_iban_is_five_to_thirty_four_letters_and_digits() {
        assert!(Iban::parse("DE89370400440532013000").is_ok());
        for bad in [
            "DE89",
            &"D".repeat(35),
            "DE89 3704",
            "DE89-3704",
            "DÉ893704",
        ] {
            assert!(Iban::parse(bad).is_err(), "{bad}");
        }
    }
}
