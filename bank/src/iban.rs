//! The IBAN check a bank makes before paying out (ISO 13616, electronic format).

use thiserror::Error;

/// The shortest and longest IBANs any country issues.
const MIN_LEN: usize = 15;
const MAX_LEN: usize = 34;

/// Why an IBAN was refused; the message is the `detail` of the bank's 422.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidIban {
    /// Fewer than 15 or more than 34 characters.
    #[error("length {0} is outside 15..=34")]
    Length(usize),
    /// The first two characters are not upper-case letters.
    #[error("the country code must be two upper-case letters")]
    Country,
    /// Characters three and four are not digits.
    #[error("the check digits must be two digits")]
    CheckDigits,
    /// Something other than an upper-case letter or a digit (the electronic format has no
    /// spaces and no lower case).
    #[error("character {0} is not an upper-case letter or a digit")]
    Character(usize),
    /// The ISO 7064 mod-97 check fails: a typo, most likely.
    #[error("the check digits do not match (mod 97 is {0}, not 1)")]
    Checksum(u32),
}

/// Checks `iban` in its electronic format (`DE89370400440532013000`).
pub fn validate(iban: &str) -> Result<(), InvalidIban> {
    let bytes = iban.as_bytes();
    if !(MIN_LEN..=MAX_LEN).contains(&bytes.len()) {
        return Err(InvalidIban::Length(iban.chars().count()));
    }
    if !bytes[..2].iter().all(u8::is_ascii_uppercase) {
        return Err(InvalidIban::Country);
    }
    if !bytes[2..4].iter().all(u8::is_ascii_digit) {
        return Err(InvalidIban::CheckDigits);
    }
    if let Some(at) = bytes
        .iter()
        .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit()))
    {
        return Err(InvalidIban::Character(at + 1));
    }
    match mod97(bytes) {
        1 => Ok(()),
        rest => Err(InvalidIban::Checksum(rest)),
    }
}

/// The remainder of the number the IBAN spells once its first four characters move to the end
/// and each letter becomes two digits (A = 10 ... Z = 35), computed digit by digit so that 34
/// characters never overflow.
fn mod97(bytes: &[u8]) -> u32 {
    let rotated = bytes[4..].iter().chain(&bytes[..4]);
    rotated.fold(0u32, |rest, &b| {
        if b.is_ascii_digit() {
            (rest * 10 + u32::from(b - b'0')) % 97
        } else {
            (rest * 100 + u32::from(b - b'A') + 10) % 97
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_ibans() {
        for iban in [
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "FR1420041010050500013M02606",
            "NO9386011117947",
            "MT84MALT011000012345MTLCAST001S",
        ] {
            assert_eq!(validate(iban), Ok(()), "{iban}");
        }
    }

    #[test]
    fn refuses_malformed_ibans() {
        for (iban, why) in [
            ("DE00370400440532013000", InvalidIban::Checksum(9)),
            ("DE8937040044053201300", InvalidIban::Checksum(39)),
            ("NO938601111794", InvalidIban::Length(14)),
            (
                "DE89370400440532013000DE89370400440",
                InvalidIban::Length(35),
            ),
            ("de89370400440532013000", InvalidIban::Country),
            ("DEX9370400440532013000", InvalidIban::CheckDigits),
            ("DE89 3704 0044 0532 0130 00", InvalidIban::Character(5)),
            ("DE89370400440532013ü00", InvalidIban::Character(20)),
        ] {
            assert_eq!(validate(iban), Err(why), "{iban}");
        }
    }

    #[test]
    fn one_changed_digit_breaks_the_checksum() {
        let iban = b"DE89370400440532013000";
        for at in 4..iban.len() {
            let mut typo = iban.to_vec();
            typo[at] = if typo[at] == b'9' { b'0' } else { typo[at] + 1 };
            let typo = String::from_utf8(typo).unwrap();
            assert!(
                matches!(validate(&typo), Err(InvalidIban::Checksum(_))),
                "{typo}"
            );
        }
    }
}
