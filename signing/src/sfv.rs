//! The subset of RFC 8941 Structured Field Values that signatures and digests need:
//! dictionaries of items or inner lists, with parameters, and the canonical
//! serialization of an inner list (the `@signature-params` value).
//!
//! Unlike RFC 8941, duplicate dictionary keys and parameter keys are kept rather than
//! overwritten, so callers can reject them: if two parties resolved a duplicate
//! differently, they would disagree on what was signed.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// RFC 8941 §4.2.7: parsers SHOULD NOT fail on missing padding or non-zero pad bits.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    /// Kept in canonical textual form: only unknown parameters can carry one.
    Decimal(String),
    String(String),
    Token(String),
    ByteSeq(Vec<u8>),
    Boolean(bool),
}

pub type Params = Vec<(String, BareItem)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub bare: BareItem,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerList {
    pub items: Vec<Item>,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Item),
    InnerList(InnerList),
}

/// Why parsing failed; static so it can flow into `SignatureError::Malformed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError(pub &'static str);

type Result<T> = std::result::Result<T, ParseError>;

/// Parses a field value that is one sf-string and nothing else (no parameters), such as an
/// `Idempotency-Key` in the form of draft-ietf-httpapi-idempotency-key-header-09.
pub fn parse_string_item(input: &str) -> Result<String> {
    let mut p = Parser {
        s: input.as_bytes(),
        pos: 0,
    };
    p.skip_sp();
    if p.peek() != Some(b'"') {
        return Err(ParseError("not a string"));
    }
    let value = p.string()?;
    p.skip_sp();
    if !p.eof() {
        return Err(ParseError("trailing characters after the string"));
    }
    Ok(value)
}

/// Parses a Dictionary field value, members in received order (duplicates kept).
pub fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>> {
    let mut p = Parser {
        s: input.as_bytes(),
        pos: 0,
    };
    p.skip_sp();
    let mut out = Vec::new();
    while !p.eof() {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            p.member()?
        } else {
            let params = p.params()?;
            Member::Item(Item {
                bare: BareItem::Boolean(true),
                params,
            })
        };
        out.push((key, member));
        p.skip_ows();
        if p.eof() {
            break;
        }
        if !p.eat(b',') {
            return Err(ParseError("expected ',' between dictionary members"));
        }
        p.skip_ows();
        if p.eof() {
            return Err(ParseError("trailing ',' in dictionary"));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn member(&mut self) -> Result<Member> {
        if self.peek() == Some(b'(') {
            self.inner_list().map(Member::InnerList)
        } else {
            self.item().map(Member::Item)
        }
    }

    fn inner_list(&mut self) -> Result<InnerList> {
        self.pos += 1; // '('
        let mut items = Vec::new();
        while !self.eof() {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(InnerList { items, params });
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(ParseError("expected ' ' or ')' in inner list"));
            }
        }
        Err(ParseError("unterminated inner list"))
    }

    fn item(&mut self) -> Result<Item> {
        let bare = self.bare_item()?;
        let params = self.params()?;
        Ok(Item { bare, params })
    }

    fn params(&mut self) -> Result<Params> {
        let mut out = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            out.push((key, value));
        }
        Ok(out)
    }

    fn key(&mut self) -> Result<String> {
        let start = self.pos;
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'*')) {
            return Err(ParseError("invalid key"));
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.pos += 1;
        }
        Ok(self.text(start))
    }

    fn bare_item(&mut self) -> Result<BareItem> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string().map(BareItem::String),
            Some(b':') => self.byte_seq().map(BareItem::ByteSeq),
            Some(b'?') => self.boolean().map(BareItem::Boolean),
            Some(c) if c == b'*' || c.is_ascii_alphabetic() => Ok(BareItem::Token(self.token())),
            _ => Err(ParseError("invalid bare item")),
        }
    }

    fn number(&mut self) -> Result<BareItem> {
        let negative = self.eat(b'-');
        let start = self.pos;
        let mut dot = None;
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(ParseError("invalid number"));
        }
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' => self.pos += 1,
                b'.' if dot.is_none() => {
                    if self.pos - start > 12 {
                        return Err(ParseError("decimal integer part too long"));
                    }
                    dot = Some(self.pos);
                    self.pos += 1;
                }
                _ => break,
            }
            let limit = if dot.is_some() { 16 } else { 15 };
            if self.pos - start > limit {
                return Err(ParseError("number too long"));
            }
        }
        let digits = self.text(start);
        let Some(dot) = dot.map(|d| d - start) else {
            let n: i64 = digits.parse().map_err(|_| ParseError("invalid integer"))?;
            return Ok(BareItem::Integer(if negative { -n } else { n }));
        };
        let frac = &digits[dot + 1..];
        if frac.is_empty() || frac.len() > 3 {
            return Err(ParseError("invalid decimal fraction"));
        }
        let int: u64 = digits[..dot]
            .parse()
            .map_err(|_| ParseError("invalid decimal"))?;
        let frac = match frac.trim_end_matches('0') {
            "" => "0",
            f => f,
        };
        let sign = if negative && (int != 0 || frac != "0") {
            "-"
        } else {
            ""
        };
        Ok(BareItem::Decimal(format!("{sign}{int}.{frac}")))
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            match self.next() {
                Some(b'\\') => match self.next() {
                    Some(c @ (b'"' | b'\\')) => out.push(char::from(c)),
                    _ => return Err(ParseError("invalid escape in string")),
                },
                Some(b'"') => return Ok(out),
                Some(c @ 0x20..=0x7e) => out.push(char::from(c)),
                Some(_) => return Err(ParseError("invalid character in string")),
                None => return Err(ParseError("unterminated string")),
            }
        }
    }

    fn token(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek()
            .is_some_and(|c| is_tchar(c) || c == b':' || c == b'/')
        {
            self.pos += 1;
        }
        self.text(start)
    }

    fn byte_seq(&mut self) -> Result<Vec<u8>> {
        self.pos += 1; // ':'
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
        {
            self.pos += 1;
        }
        let encoded = &self.s[start..self.pos];
        if !self.eat(b':') {
            return Err(ParseError("invalid byte sequence"));
        }
        LENIENT_B64
            .decode(encoded)
            .map_err(|_| ParseError("invalid base64 in byte sequence"))
    }

    fn boolean(&mut self) -> Result<bool> {
        self.pos += 1; // '?'
        match self.next() {
            Some(b'0') => Ok(false),
            Some(b'1') => Ok(true),
            _ => Err(ParseError("invalid boolean")),
        }
    }

    /// Everything consumed since `start`; only ever ASCII, by construction.
    fn text(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }
}

/// RFC 9110 `tchar`.
pub fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Canonical RFC 8941 §4.1.1.1 serialization, used verbatim as `@signature-params`.
pub fn serialize_inner_list(list: &InnerList) -> String {
    let mut out = String::from("(");
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_bare(&mut out, &item.bare);
        write_params(&mut out, &item.params);
    }
    out.push(')');
    write_params(&mut out, &list.params);
    out
}

fn write_params(out: &mut String, params: &Params) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != BareItem::Boolean(true) {
            out.push('=');
            write_bare(out, value);
        }
    }
}

fn write_bare(out: &mut String, bare: &BareItem) {
    match bare {
        BareItem::Integer(n) => out.push_str(&n.to_string()),
        BareItem::Decimal(d) | BareItem::Token(d) => out.push_str(d),
        BareItem::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        BareItem::ByteSeq(b) => {
            out.push(':');
            out.push_str(&STANDARD.encode(b));
            out.push(':');
        }
        BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Member {
        let mut d = parse_dictionary(input).unwrap();
        assert_eq!(d.len(), 1, "{input}");
        d.pop().unwrap().1
    }

    fn inner(input: &str) -> InnerList {
        match one(input) {
            Member::InnerList(l) => l,
            m => panic!("not an inner list: {m:?}"),
        }
    }

    fn canon(input: &str) -> String {
        serialize_inner_list(&inner(input))
    }

    #[test]
    fn bare_item_types() {
        let l = inner(r#"a=(1 -42 1.500 -0.0 "q\"\\" tok:en/x *t :AAE=: ?0 ?1)"#);
        let bare: Vec<_> = l.items.into_iter().map(|i| i.bare).collect();
        assert_eq!(
            bare,
            vec![
                BareItem::Integer(1),
                BareItem::Integer(-42),
                BareItem::Decimal("1.5".into()),
                BareItem::Decimal("0.0".into()),
                BareItem::String(r#"q"\"#.into()),
                BareItem::Token("tok:en/x".into()),
                BareItem::Token("*t".into()),
                BareItem::ByteSeq(vec![0, 1]),
                BareItem::Boolean(false),
                BareItem::Boolean(true),
            ]
        );
    }

    #[test]
    fn canonical_inner_list_round_trip() {
        let s = r#"("a" "b";x=?1;y=?0);n=-5;d=2.250;s="\"\\";t=tok;b=:AAE=:;f"#;
        assert_eq!(
            canon(&format!("k={s}")),
            s.replace("2.250", "2.25").replace(";x=?1", ";x")
        );
    }

    #[test]
    fn whitespace_rules() {
        // Extra SP inside the list and after ';' is allowed, and dropped on output.
        assert_eq!(canon(r#"  k=(  "a"   "b" );  p=1  "#), r#"("a" "b");p=1"#);
        // OWS (incl. HTAB) around dictionary commas.
        assert_eq!(parse_dictionary("a=1 ,\tb=2").unwrap().len(), 2);
        for bad in [
            "k =1",
            "k= 1",
            "k=1 ;p",
            "k=(\t\"a\")",
            "\tk=1",
            "k=(\"a\"\"b\")",
            "k=1,",
            "k=1 x",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn dictionary_bare_key_is_true_and_duplicates_are_kept() {
        let d = parse_dictionary("a, a;p=1, b=2").unwrap();
        let keys: Vec<_> = d.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "a", "b"]);
        assert_eq!(
            d[0].1,
            Member::Item(Item {
                bare: BareItem::Boolean(true),
                params: vec![]
            })
        );
        assert_eq!(parse_dictionary("").unwrap(), vec![]);
    }

    #[test]
    fn rejects_invalid_values() {
        for bad in [
            "A=1",
            "1a=1",
            "k=1234567890123456",
            "k=1234567890123.1",
            "k=1.",
            "k=1.1234",
            "k=-",
            "k=\"unterminated",
            "k=\"bad\\escape\"",
            "k=\"tab\there\"",
            "k=\"caf\u{e9}\"",
            "k=:AA$A:",
            "k=:AAE=",
            "k=:A:",
            "k=?2",
            "k=(1",
            "k=@x",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            one("k=-999999999999999"),
            Member::Item(Item {
                bare: BareItem::Integer(-999_999_999_999_999),
                params: vec![]
            })
        );
    }

    #[test]
    fn byte_sequence_padding_is_optional() {
        assert_eq!(one("k=:AAE:"), one("k=:AAE=:"));
    }
}
