//! The client knows exactly the problem codes `openapi.yaml` documents: the server's side of
//! the same list is checked against it in `tests/tests/deploy.rs`, so the document is the one
//! source both agree with.

use std::collections::BTreeSet;

use replaysafe_client::ProblemCode;

#[test]
fn the_clients_problem_codes_are_the_openapi_documents() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("read openapi.yaml");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("openapi.yaml is YAML");
    let documented: BTreeSet<String> = doc["components"]["schemas"]["Problem"]["properties"]
        ["code"]["enum"]
        .as_sequence()
        .expect("Problem.code enum")
        .iter()
        .map(|c| c.as_str().expect("a slug").to_owned())
        .collect();
    let known: BTreeSet<String> = ProblemCode::known_slugs().map(str::to_owned).collect();
    assert_eq!(known, documented);
    for slug in &documented {
        assert!(
            !matches!(ProblemCode::parse(slug), ProblemCode::Other(_)),
            "{slug} parses to a known code"
        );
    }
}
