//! Properties of the payments validators behind check 7: ids, amounts, currencies and the two
//! request bodies never panic and accept exactly what the contract allows; every refusal of a body is `invalid-json` or `validation-failed`.

use payments::domain::{AccountId, Amount, Balance, Currency, NewAccount, NewTransfer};
use proptest::prelude::*;
use replaysafe::Problem;
use serde_json::{json, Map, Value};

const MAX: u64 = 1_000_000_000_000;

fn contract_id(s: &str) -> bool {
    (1..=64).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn contract_currency(s: &str) -> bool {
    s.chars().count() == 3 && s.chars().all(|c| c.is_ascii_uppercase())
}

/// Ids: mostly valid, sometimes one character off, sometimes anything.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_-]{1,64}",
        1 => "[A-Za-z0-9_-]{0,70}",
        1 => "[A-Za-z0-9_ #é.-]{1,10}",
        1 => any::<String>(),
    ]
}

fn currency_like() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[A-Z]{3}", 1 => "[A-Za-zÉ0-9]{2,4}", 1 => any::<String>()]
}

/// A JSON value for a numeric field: mostly in range, often at or past an edge, sometimes of
/// another type.
fn amount_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (1..=MAX).prop_map(Value::from),
        1 => prop_oneof![Just(0u64), Just(MAX), Just(MAX + 1), Just(u64::MAX)].prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => "[0-9]{1,5}".prop_map(Value::from),
        1 => Just(Value::Null),
    ]
}

fn reference_like() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        2 => "\\PC{0,150}".prop_map(|s| Some(Value::from(s))),
        1 => Just(Some(Value::Null)),
        1 => any::<i32>().prop_map(|n| Some(Value::from(n))),
    ]
}

/// What the contract says about a field's JSON value, per field type.
fn is_id(v: &Value) -> bool {
    v.as_str().is_some_and(contract_id)
}

fn is_currency(v: &Value) -> bool {
    v.as_str().is_some_and(contract_currency)
}

fn is_in(v: &Value, low: u64) -> bool {
    v.as_u64().is_some_and(|n| (low..=MAX).contains(&n))
}

prop_compose! {
    /// A transfer body's fields, each possibly missing, wrong, or extra.
    fn transfer_fields()(
        from in id_like(),
        to in prop_oneof![3 => id_like(), 1 => Just(String::new())],
        same in prop::bool::weighted(0.1),
        amount in amount_like(),
        currency in currency_like(),
        reference in reference_like(),
        drop in prop::option::weighted(0.15, 0usize..4),
        extra in prop::option::weighted(0.1, "[a-z_]{1,8}"),
    ) -> Map<String, Value> {
        let mut m = Map::new();
        let to = if same { from.clone() } else { to };
        m.insert("from".into(), from.into());
        m.insert("to".into(), to.into());
        m.insert("amount".into(), amount);
        m.insert("currency".into(), currency.into());
        if let Some(r) = reference {
            m.insert("reference".into(), r);
        }
        if let Some(i) = drop {
            let name = ["from", "to", "amount", "currency"][i];
            m.remove(name);
        }
        if let Some(name) = extra {
            m.entry(name).or_insert(Value::Bool(true));
        }
        m
    }
}

fn transfer_allowed(m: &Map<String, Value>) -> bool {
    let known = ["from", "to", "amount", "currency", "reference"];
    let reference_ok = match m.get("reference") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.chars().count() <= 140,
        Some(_) => false,
    };
    m.keys().all(|k| known.contains(&k.as_str()))
        && m.get("from").is_some_and(is_id)
        && m.get("to").is_some_and(is_id)
        && m.get("from") != m.get("to")
        && m.get("amount").is_some_and(|v| is_in(v, 1))
        && m.get("currency").is_some_and(is_currency)
        && reference_ok
}

prop_compose! {
    fn account_fields()(
        id in prop::option::of(id_like()),
        currency in prop::option::weighted(0.9, currency_like()),
        balance in prop::option::of(amount_like()),
        extra in prop::option::weighted(0.1, "[a-z_]{1,8}"),
    ) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(id) = id {
            m.insert("account_id".into(), id.into());
        }
        if let Some(c) = currency {
            m.insert("currency".into(), c.into());
        }
        if let Some(b) = balance {
            m.insert("initial_balance".into(), b);
        }
        if let Some(name) = extra {
            m.entry(name).or_insert(Value::Bool(true));
        }
        m
    }
}

fn account_allowed(m: &Map<String, Value>) -> bool {
    let known = ["account_id", "currency", "initial_balance"];
    m.keys().all(|k| known.contains(&k.as_str()))
        && m.get("account_id").is_none_or(|v| v.is_null() || is_id(v))
        && m.get("currency").is_some_and(is_currency)
        && m.get("initial_balance").is_none_or(|v| is_in(v, 0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn ids_are_exactly_the_contract_pattern(s in id_like()) {
        prop_assert_eq!(AccountId::parse(&s).is_ok(), contract_id(&s), "{:?}", s);
    }

    #[test]
    fn amounts_and_balances_are_exactly_their_ranges(n in prop_oneof![0..=MAX + 2, any::<u64>()]) {
        prop_assert_eq!(Amount::parse(n).is_ok(), (1..=MAX).contains(&n));
        prop_assert_eq!(Balance::parse(n).is_ok(), n <= MAX);
    }

    #[test]
    fn currencies_are_exactly_three_capitals(s in currency_like()) {
        prop_assert_eq!(Currency::parse(&s).is_ok(), contract_currency(&s), "{:?}", s);
    }

    #[test]
    fn transfer_bodies_are_accepted_exactly_as_the_contract_says(m in transfer_fields()) {
        let body = Value::Object(m.clone()).to_string();
        match NewTransfer::parse(body.as_bytes()) {
            Ok(t) => {
                prop_assert!(transfer_allowed(&m), "accepted {}", body);
                prop_assert_eq!(Some(t.amount.get()), m["amount"].as_u64());
                prop_assert_eq!(t.from.as_str(), m["from"].as_str().unwrap());
            }
            Err(e) => {
                prop_assert!(!transfer_allowed(&m), "refused {}: {:?}", body, e);
                prop_assert_eq!(e.code(), "validation-failed", "{}", body);
            }
        }
    }

    #[test]
    fn account_bodies_are_accepted_exactly_as_the_contract_says(m in account_fields()) {
        let body = Value::Object(m.clone()).to_string();
        match NewAccount::parse(body.as_bytes()) {
            Ok(_) => prop_assert!(account_allowed(&m), "accepted {}", body),
            Err(e) => {
                prop_assert!(!account_allowed(&m), "refused {}: {:?}", body, e);
                prop_assert_eq!(e.code(), "validation-failed", "{}", body);
            }
        }
    }

    #[test]
    fn any_bytes_are_a_body_or_a_clean_400(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        transfer_fields().prop_map(|m| {
            // Valid JSON cut short, or with one byte changed.
            let s = Value::Object(m).to_string().into_bytes();
            s[..s.len() / 2].to_vec()
        }),
    ]) {
        for result in [
            NewTransfer::parse(&bytes).err(),
            NewAccount::parse(&bytes).err(),
        ] {
            let Some(e) = result else { continue };
            let syntax_ok = serde_json::from_slice::<Value>(&bytes).is_ok();
            let expected = if syntax_ok { "validation-failed" } else { "invalid-json" };
            prop_assert_eq!(e.code(), expected, "{:?}", String::from_utf8_lossy(&bytes));
        }
    }
}
