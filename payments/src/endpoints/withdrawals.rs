use replaysafe::http::{json, Incoming};
use replaysafe::lease::Settle;
use replaysafe::{Effect, Error};

use super::views::WithdrawalView;
use super::Reply;
use crate::bank::BankAnswer;
use crate::domain::{NewWithdrawal, Operation, Withdrawal, WithdrawalId, WithdrawalStatus};
use crate::{Payments, PaymentsError};

/// POST /withdrawals: the funds are held (a balance-conditioned debit into a pending
/// withdrawal) under a lease, the bank is paid under a key derived from the operation, and
/// the withdrawal settles (paid, or refused with the funds back) with the operation's answer.
/// See `replaysafe::lease` for what a retry, a crash or a late holder meets.
pub async fn create_withdrawal(app: &Payments, req: Incoming<'_>) -> Reply {
    let bank = app.bank()?;
    app.guard()
        .post_leased(
            &req,
            app.withdrawal_lease(),
            NewWithdrawal::parse,
            async |op, new| {
                let w = Withdrawal {
                    withdrawal_id: WithdrawalId::generate().to_string(),
                    owner: op.principal().to_string(),
                    from: new.from.to_string(),
                    amount: new.amount.get(),
                    currency: new.currency.as_str().to_owned(),
                    iban: new.iban.as_str().to_owned(),
                    created_at: op.now(),
                };
                let store = app.store();
                Ok(replaysafe::lease::Hold::new(w.clone())
                    .with(store.debit(
                        &new.from,
                        op.principal(),
                        &new.currency,
                        new.amount,
                        &Operation::Withdrawal(w.withdrawal_id.clone()),
                        w.created_at,
                    ))
                    .with(store.put_pending_withdrawal(&w)))
            },
            async |leased| {
                let w = leased.state();
                let now = leased.now();
                let answer = bank
                    .pay(w, &leased.downstream_key(), leased.time_left())
                    .await
                    .map_err(|e| Error::App(PaymentsError::BankUnavailable(e.to_string())))?;
                let store = app.store();
                Ok(match answer {
                    BankAnswer::Paid { bank_reference } => {
                        let status = WithdrawalStatus::Paid {
                            bank_reference: bank_reference.clone(),
                        };
                        let view = WithdrawalView::new(w, &status);
                        Settle::Complete(
                            Effect::json(201, &view)
                                .header("location", format!("/withdrawals/{}", w.withdrawal_id))
                                .unconditional(store.mark_withdrawal_paid(w, &bank_reference, now)),
                        )
                    }
                    BankAnswer::Refused { code } => Settle::Release {
                        refusal: PaymentsError::BankRefused(format!(
                            "the bank refused the payment ({code}); the funds are back"
                        )),
                        writes: vec![store.refund(w, now), store.mark_withdrawal_refused(w, now)],
                    },
                })
            },
        )
        .await
}

/// GET /withdrawals/{withdrawal_id}: only its creator sees it, with where it stands.
pub async fn get_withdrawal(app: &Payments, req: Incoming<'_>) -> Reply {
    let id = WithdrawalId::parse(req.last_segment());
    let read = async {
        match &id {
            Ok(id) => app.store().get_withdrawal(id.as_str()).await,
            Err(_) => Ok(None),
        }
    };
    let (caller, found) = app.guard().read(&req, read).await?;
    id.map_err(PaymentsError::from)?;
    let (w, status) = found
        .filter(|(w, _)| w.owner == caller.as_str())
        .ok_or(PaymentsError::NotFound)?;
    Ok(json(200, &WithdrawalView::new(&w, &status)))
}
