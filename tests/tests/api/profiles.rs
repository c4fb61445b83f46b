//! Profiles (docs/guard.md): a deployment that requires a signature `tag` or a covered
//! `"@authority"` refuses a call without them 401 `signature-invalid`, before its nonce or its
//! idempotency key is touched; without a profile, calls pass as they always did.

use replaysafe::config::{ExpectedAuthority, SignatureProfile};
use replaysafe::{Clock, Tables};
use replaysafe_tests::{send_via, Call, TestApp, World};

const TAG: &str = "payments-prod";
const PRODUCTION: &str = "api.example.com";
const STAGING: &str = "staging.api.example.com";

fn tag_required() -> SignatureProfile {
    SignatureProfile {
        tag: Some(TAG.into()),
        authority: None,
    }
}

fn authority_required(expected: ExpectedAuthority) -> SignatureProfile {
    SignatureProfile {
        tag: None,
        authority: Some(expected),
    }
}

/// Alice reading her account, signed by hand over `components` with `extra_params`.
fn read(app: &TestApp, components: &[&str], extra_params: &str) -> Call {
    app.signed(&app.alice, "GET", "/accounts/acc_alice", "")
        .sign_covering(components, extra_params)
}

/// Alice moving 1 EUR to Bob, signed by the library's signer with `tune` applied.
fn transfer(
    app: &TestApp,
    tune: impl FnOnce(replaysafe_signing::Signer) -> replaysafe_signing::Signer,
) -> Call {
    let body = TestApp::transfer_body(World::ALICE, World::BOB, 1);
    let mut call = app.signed(&app.alice, "POST", "/transfers", &body);
    call.signer = tune(app.alice.signer()).into();
    call.sign()
}

/// The world's app, with a second deployment beside it: the same clients and ledger, the
/// guard tuned to `profile`, and a nonce table of its own (a stage or a region has one), so a
/// nonce spent on the first means nothing to it.
async fn deployment(world: &World, profile: SignatureProfile) -> payments::Payments {
    let own = Tables::with_prefix(&format!(
        "n{}-",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    replaysafe::testing::create_tables(world.app.store.client(), &own)
        .await
        .expect("create tables");
    world.app.app_tuned(|c| {
        c.tables.nonces = own.nonces;
        c.signature_profile = profile;
    })
}

#[tokio::test]
async fn a_required_tag_refuses_a_call_without_it_or_with_another_and_spends_nothing() {
    let world = World::open().await;
    let app = &world.app;
    let tagged = app.app_tuned(|c| c.signature_profile = tag_required());
    let derived = ["@method", "@path"];

    let untagged = read(app, &derived, "");
    send_via(&tagged, &untagged)
        .await
        .assert_problem_in(401, "signature-invalid", "no tag");
    let other = untagged
        .clone()
        .sign_covering(&derived, r#";tag="payments-test""#);
    send_via(&tagged, &other)
        .await
        .assert_problem_in(401, "signature-invalid", "another tag");
    let cased = untagged
        .clone()
        .sign_covering(&derived, r#";tag="Payments-Prod""#);
    send_via(&tagged, &cased).await.assert_problem_in(
        401,
        "signature-invalid",
        "the tag in other case",
    );

    // The same nonce, now with the right tag: the refusals spent it nowhere.
    let right = untagged.sign_covering(&derived, &format!(r#";tag="{TAG}""#));
    let answer = send_via(&tagged, &right).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A POST refused for its tag leaves its key free: the signed retry executes it once.
    let refused = transfer(app, |s| s);
    send_via(&tagged, &refused).await.assert_problem_in(
        401,
        "signature-invalid",
        "POST without a tag",
    );
    assert_eq!(app.balance(World::BOB).await, 0);
    let mut retry = refused.resigned(app.clock.now());
    retry.signer = app.alice.signer().with_tag(TAG).unwrap().into();
    let retry = retry.sign();
    assert!(retry
        .sent_header("signature-input")
        .unwrap()
        .ends_with(&format!(r#";tag="{TAG}""#)));
    let answer = send_via(&tagged, &retry).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(app.balance(World::BOB).await, 1);
}

#[tokio::test]
async fn a_required_authority_refuses_a_call_captured_against_another_deployment() {
    let world = World::open().await;
    let app = &world.app;
    let covering = ["@method", "@authority", "@path"];

    // Without a profile, a call captured on staging (its nonce spent there) replays on a
    // production that shares the key but keeps its own nonces: what the profile closes.
    let captured = read(app, &["@method", "@path"], "").on_domain(STAGING);
    assert_eq!(app.send(&captured).await.status, 200);
    let open = deployment(&world, SignatureProfile::default()).await;
    let replay = captured.replayed().on_domain(PRODUCTION);
    assert_eq!(
        send_via(&open, &replay).await.status,
        200,
        "the gap the profile closes"
    );

    let production = deployment(&world, authority_required(ExpectedAuthority::CalledHost)).await;
    send_via(&production, &captured.replayed().on_domain(PRODUCTION))
        .await
        .assert_problem_in(401, "signature-invalid", "@authority not covered");

    // Covering @authority, signed for staging, replayed to production.
    let for_staging = read(app, &[], "")
        .on_domain(STAGING)
        .sign_covering(&covering, "");
    assert_eq!(app.send(&for_staging).await.status, 200, "on staging");
    send_via(&production, &for_staging.replayed().on_domain(PRODUCTION))
        .await
        .assert_problem_in(
            401,
            "signature-invalid",
            "staging's signature on production",
        );

    // Signed for production, with API Gateway's domain name or (without one) the Host header.
    let for_production = read(app, &[], "")
        .on_domain(PRODUCTION)
        .sign_covering(&covering, "");
    assert_eq!(send_via(&production, &for_production).await.status, 200);
    let by_host = read(app, &[], "")
        .with_header("host", "API.Example.com")
        .sign_covering(&covering, "");
    assert_eq!(send_via(&production, &by_host).await.status, 200, "by Host");
    // API Gateway's domain name wins over the Host header the client sent.
    let odd_host = read(app, &[], "").with_header("host", "other.example.com");
    let signed_for_host = odd_host
        .clone()
        .sign_covering(&covering, "")
        .on_domain(PRODUCTION);
    send_via(&production, &signed_for_host)
        .await
        .assert_problem_in(
            401,
            "signature-invalid",
            "signed for the Host, not the domain",
        );
    let signed_for_domain = odd_host.on_domain(PRODUCTION).sign_covering(&covering, "");
    assert_eq!(send_via(&production, &signed_for_domain).await.status, 200);

    // The library's signer covering the authority, on a POST.
    let post = transfer(app, |s| s.covering_authority(PRODUCTION).unwrap()).on_domain(PRODUCTION);
    assert!(post
        .sent_header("signature-input")
        .unwrap()
        .starts_with(r#"sig1=("@method" "@authority" "@path""#));
    let answer = send_via(&production, &post).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

#[tokio::test]
async fn a_fixed_authority_is_checked_whatever_host_the_call_arrives_on() {
    let world = World::open().await;
    let app = &world.app;
    let behind_proxy = app.app_tuned(|c| {
        c.signature_profile = authority_required(ExpectedAuthority::Fixed(PRODUCTION.into()))
    });
    let covering = ["@method", "@authority", "@path"];
    let origin = "abc123.execute-api.eu-west-1.amazonaws.com";

    let signed_public = read(app, &[], "")
        .on_domain(PRODUCTION)
        .sign_covering(&covering, "")
        .on_domain(origin);
    assert_eq!(send_via(&behind_proxy, &signed_public).await.status, 200);
    let signed_origin = read(app, &[], "")
        .on_domain(origin)
        .sign_covering(&covering, "");
    send_via(&behind_proxy, &signed_origin)
        .await
        .assert_problem_in(401, "signature-invalid", "signed for the origin's host");
}

#[tokio::test]
async fn without_a_profile_calls_pass_as_before() {
    let world = World::open().await;
    let app = &world.app;
    // The library's signer as it always signed: no tag, no @authority, no host at all.
    let get = app.signed(&app.alice, "GET", "/accounts/acc_alice", "");
    assert!(!get.sent_header("signature-input").unwrap().contains("tag="));
    assert_eq!(app.send(&get).await.status, 200);
    let post = transfer(app, |s| s);
    assert_eq!(app.send(&post).await.status, 201);
    // A tag is signed like any parameter and otherwise ignored.
    let tagged = read(app, &["@method", "@path"], r#";tag="anything""#);
    assert_eq!(app.send(&tagged).await.status, 200);
}

#[tokio::test]
async fn behind_an_authorizer_a_profile_does_nothing() {
    let app = TestApp::with_config(|c| {
        c.auth = replaysafe::Auth::jwt();
        c.signature_profile = SignatureProfile {
            tag: Some(TAG.into()),
            authority: Some(ExpectedAuthority::CalledHost),
        };
    })
    .await;
    app.open_account(&app.alice, "acc_alice", "EUR", 0).await;
    let read = app.signed(&app.alice, "GET", "/accounts/acc_alice", "");
    assert_eq!(app.send(&read).await.status, 200);
}
