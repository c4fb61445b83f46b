use replaysafe::http::{json, not_modified, Incoming};
use replaysafe::Effect;

use super::views::{AccountView, CreatedAccount};
use super::Reply;
use crate::domain::{Account, AccountId, NewAccount};
use crate::{Payments, PaymentsError};

/// POST /accounts: creates an account the caller owns. The account's put and the idempotency
/// record commit together, so a retry of the creating request replays its 201 even though the
/// id now exists.
pub async fn create_account(app: &Payments, req: Incoming<'_>) -> Reply {
    app.guard()
        .post(&req, NewAccount::parse, async |op, new| {
            let now = op.now();
            let account = Account {
                account_id: new.account_id.unwrap_or_else(AccountId::generate),
                owner: op.principal().clone(),
                currency: new.currency,
                balance: new.initial_balance.get(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            Ok(Effect::json(201, &CreatedAccount::from(&account))
                .header("location", format!("/accounts/{}", account.account_id))
                .with(app.store().create_account(&account)))
        })
        .await
}

/// GET /accounts/{account_id}: only the owner sees it; ownership is checked before
/// `If-None-Match`, so a stranger cannot probe versions.
pub async fn get_account(app: &Payments, req: Incoming<'_>) -> Reply {
    let id = AccountId::parse(req.last_segment());
    let read = async {
        match &id {
            Ok(id) => app.store().get_account(id).await,
            Err(_) => Ok(None),
        }
    };
    let (caller, account) = app.guard().read(&req, read).await?;
    id.map_err(PaymentsError::from)?;
    let account = account
        .filter(|a| a.owner == caller)
        .ok_or(PaymentsError::NotFound)?;
    let etag = account.etag();
    if if_none_match(&req, &etag) {
        return Ok(not_modified(&etag));
    }
    let mut response = json(200, &AccountView::from(&account));
    response.headers_mut().insert(
        "etag",
        etag.parse().expect("an etag is a valid header value"),
    );
    Ok(response)
}

/// RFC 9110 weak comparison: `*`, or any listed tag equal to ours with `W/` ignored.
fn if_none_match(req: &Incoming<'_>, etag: &str) -> bool {
    let Some(header) = req.joined_header("if-none-match") else {
        return false;
    };
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}
