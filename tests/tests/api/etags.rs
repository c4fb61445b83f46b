//! ETags: `If-None-Match` gets 304 for the current version, 200 after a change, and a stranger's
//! 404 either way.

use replaysafe_tests::{TestApp, TestClient, World};

use crate::support::{assert_fresh, pay, read_account};

async fn etag(app: &TestApp, client: &TestClient) -> String {
    let answer = app.send(&read_account(app, client, "acc_alice")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.header("etag").expect("ETag").to_owned()
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_answers_304_without_a_body() {
    let World { app, .. } = World::open().await;
    let tag = etag(&app, &app.alice).await;
    let call = read_account(&app, &app.alice, "acc_alice").with_header("if-none-match", &tag);
    let answer = app.send(&call).await;
    assert_eq!(answer.status, 304);
    assert!(answer.body.is_empty(), "{}", answer.body);
    assert_eq!(answer.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn after_a_transfer_the_etag_changes_and_the_old_one_gets_200() {
    let World { app, .. } = World::open().await;
    let old = etag(&app, &app.alice).await;
    assert_fresh(&app.send(&pay(&app, 100)).await);

    let call = read_account(&app, &app.alice, "acc_alice").with_header("if-none-match", &old);
    let answer = app.send(&call).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["balance"], 9_900);
    let new = answer.header("etag").expect("ETag");
    assert_ne!(new, old);
}

#[tokio::test]
async fn a_stranger_with_the_owners_etag_gets_404_not_304() {
    let World { app, bob } = World::open().await;
    let tag = etag(&app, &app.alice).await;
    for tag in [tag.as_str(), "*"] {
        let call = read_account(&app, &bob, "acc_alice").with_header("if-none-match", tag);
        app.send(&call).await.assert_problem(404, "not-found");
    }
}
