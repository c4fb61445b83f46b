//! The reconciliation itself, on items already read: no I/O, so every rule has a unit test.

use std::collections::BTreeMap;
use std::fmt;

use replaysafe::store::attrs::{get_n, get_s, Item};

/// An account as the audit reads it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub currency: String,
    pub balance: i128,
    /// Absent on an item written before accounts kept it.
    pub initial: Option<i128>,
}

/// A transfer (a payout's too: a paid payout puts one): `amount` from `from` to `to`.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: String,
    pub from: String,
    pub to: String,
    pub amount: i128,
    pub currency: String,
}

/// A withdrawal: pending and paid ones hold their amount out of `from`; a refused one gave it
/// back.
#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub id: String,
    pub from: String,
    pub amount: i128,
    pub currency: String,
    pub refused: bool,
}

/// A paid payout names the transfer it made.
#[derive(Debug, Clone)]
pub struct PaidPayout {
    pub key: String,
    pub transfer_id: String,
}

/// Everything the audit read.
#[derive(Debug, Default)]
pub struct Ledger {
    pub accounts: Vec<Account>,
    pub transfers: Vec<Transfer>,
    pub withdrawals: Vec<Withdrawal>,
    pub paid_payouts: Vec<PaidPayout>,
    /// Items that could not be read as what their table holds: `(table, key)`.
    pub unreadable: Vec<(String, String)>,
}

/// One thing that does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    Unreadable {
        table: String,
        key: String,
    },
    NoInitialBalance {
        account: String,
    },
    Balance {
        account: String,
        balance: i128,
        expected: i128,
    },
    Negative {
        account: String,
        balance: i128,
    },
    MissingAccount {
        operation: String,
        account: String,
    },
    CurrencyMismatch {
        operation: String,
        account: String,
        account_currency: String,
        currency: String,
    },
    NotConserved {
        currency: String,
        balances: i128,
        expected: i128,
    },
    PayoutWithoutTransfer {
        payout: String,
        transfer: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { table, key } => {
                write!(
                    f,
                    "unreadable  {table} item {key} is not what the app writes"
                )
            }
            Self::NoInitialBalance { account } => write!(
                f,
                "no-initial  {account} has no initial_balance (written before accounts kept \
                 it): its balance cannot be reconciled"
            ),
            Self::Balance {
                account,
                balance,
                expected,
            } => write!(
                f,
                "balance     {account} holds {balance}, its initial balance and operations give \
                 {expected} ({:+})",
                balance - expected
            ),
            Self::Negative { account, balance } => {
                write!(f, "negative    {account} holds {balance}")
            }
            Self::MissingAccount { operation, account } => {
                write!(
                    f,
                    "missing     {operation} names {account}, which does not exist"
                )
            }
            Self::CurrencyMismatch {
                operation,
                account,
                account_currency,
                currency,
            } => write!(
                f,
                "currency    {operation} is in {currency}, {account} in {account_currency}"
            ),
            Self::NotConserved {
                currency,
                balances,
                expected,
            } => write!(
                f,
                "conserved   {currency}: the balances add up to {balances}, the initial balances \
                 less the withdrawals to {expected} ({:+})",
                balances - expected
            ),
            Self::PayoutWithoutTransfer { payout, transfer } => write!(
                f,
                "payout      {payout} was paid by {transfer}, which does not exist"
            ),
        }
    }
}

impl Ledger {
    /// Every violation, accounts in id order, then currencies.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .unreadable
            .iter()
            .map(|(table, key)| Violation::Unreadable {
                table: table.clone(),
                key: key.clone(),
            })
            .collect();
        let accounts: BTreeMap<&str, &Account> =
            self.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
        // What the operations say each account gained (credits) and lost (debits, holds).
        let mut moved: BTreeMap<&str, i128> = BTreeMap::new();
        let mut withdrawn: BTreeMap<&str, i128> = BTreeMap::new();
        let mut check =
            |operation: String, account: &str, currency: &str| match accounts.get(account) {
                None => out.push(Violation::MissingAccount {
                    operation,
                    account: account.to_owned(),
                }),
                Some(a) if a.currency != currency => out.push(Violation::CurrencyMismatch {
                    operation,
                    account: account.to_owned(),
                    account_currency: a.currency.clone(),
                    currency: currency.to_owned(),
                }),
                Some(_) => {}
            };
        for t in &self.transfers {
            check(format!("transfer {}", t.id), &t.from, &t.currency);
            check(format!("transfer {}", t.id), &t.to, &t.currency);
            *moved.entry(&t.from).or_default() -= t.amount;
            *moved.entry(&t.to).or_default() += t.amount;
        }
        for w in self.withdrawals.iter().filter(|w| !w.refused) {
            check(format!("withdrawal {}", w.id), &w.from, &w.currency);
            *moved.entry(&w.from).or_default() -= w.amount;
            *withdrawn.entry(&w.currency).or_default() += w.amount;
        }
        let transfer_ids: std::collections::BTreeSet<&str> =
            self.transfers.iter().map(|t| t.id.as_str()).collect();
        for p in &self.paid_payouts {
            if !transfer_ids.contains(p.transfer_id.as_str()) {
                out.push(Violation::PayoutWithoutTransfer {
                    payout: p.key.clone(),
                    transfer: p.transfer_id.clone(),
                });
            }
        }
        let mut balances: BTreeMap<&str, i128> = BTreeMap::new();
        let mut initials: BTreeMap<&str, i128> = BTreeMap::new();
        for a in accounts.values() {
            *balances.entry(&a.currency).or_default() += a.balance;
            if a.balance < 0 {
                out.push(Violation::Negative {
                    account: a.id.clone(),
                    balance: a.balance,
                });
            }
            let Some(initial) = a.initial else {
                out.push(Violation::NoInitialBalance {
                    account: a.id.clone(),
                });
                continue;
            };
            *initials.entry(&a.currency).or_default() += initial;
            let expected = initial + moved.get(a.id.as_str()).copied().unwrap_or(0);
            if a.balance != expected {
                out.push(Violation::Balance {
                    account: a.id.clone(),
                    balance: a.balance,
                    expected,
                });
            }
        }
        // Without every initial balance a currency's total cannot be known.
        let complete = self.accounts.iter().all(|a| a.initial.is_some());
        for (currency, &total) in balances.iter().filter(|_| complete) {
            let expected = initials.get(currency).copied().unwrap_or(0)
                - withdrawn.get(currency).copied().unwrap_or(0);
            if total != expected {
                out.push(Violation::NotConserved {
                    currency: (*currency).to_owned(),
                    balances: total,
                    expected,
                });
            }
        }
        out
    }
}

fn number(item: &Item, name: &str) -> Option<i128> {
    get_n(item, name)
}

fn string(item: &Item, name: &str) -> Option<String> {
    get_s(item, name).map(str::to_owned)
}

/// An accounts item, as `payments/src/store/accounts.rs` writes it.
pub fn account(item: &Item) -> Option<Account> {
    Some(Account {
        id: string(item, "account_id")?,
        currency: string(item, "currency")?,
        balance: number(item, "balance")?,
        initial: match item.get("initial_balance") {
            None => None,
            Some(_) => Some(number(item, "initial_balance")?),
        },
    })
}

/// A transfers item, as `payments/src/store/transfers.rs` writes it.
pub fn transfer(item: &Item) -> Option<Transfer> {
    Some(Transfer {
        id: string(item, "transfer_id")?,
        from: string(item, "from")?,
        to: string(item, "to")?,
        amount: number(item, "amount").filter(|a| *a > 0)?,
        currency: string(item, "currency")?,
    })
}

/// A withdrawals item, as `payments/src/store/withdrawals.rs` writes it.
pub fn withdrawal(item: &Item) -> Option<Withdrawal> {
    let refused = match get_s(item, "status")? {
        "pending" | "paid" => false,
        "refused" => true,
        _ => return None,
    };
    Some(Withdrawal {
        id: string(item, "withdrawal_id")?,
        from: string(item, "from")?,
        amount: number(item, "amount").filter(|a| *a > 0)?,
        currency: string(item, "currency")?,
        refused,
    })
}

/// A payouts item: `Some(None)` for a refused payout (it moved nothing), as
/// `payments/src/store/payouts.rs` writes it.
pub fn payout(item: &Item) -> Option<Option<PaidPayout>> {
    let key = string(item, "payout_key")?;
    match get_s(item, "status")? {
        "paid" => Some(Some(PaidPayout {
            key,
            transfer_id: string(item, "transfer_id")?,
        })),
        "refused" => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, balance: i128, initial: i128) -> Account {
        Account {
            id: id.into(),
            currency: "EUR".into(),
            balance,
            initial: Some(initial),
        }
    }

    fn transfer(id: &str, from: &str, to: &str, amount: i128) -> Transfer {
        Transfer {
            id: id.into(),
            from: from.into(),
            to: to.into(),
            amount,
            currency: "EUR".into(),
        }
    }

    fn withdrawal(from: &str, amount: i128, refused: bool) -> Withdrawal {
        Withdrawal {
            id: format!("wd_{amount}"),
            from: from.into(),
            amount,
            currency: "EUR".into(),
            refused,
        }
    }

    /// alice 1000 → bob 300, alice withdraws 200 (paid) and 50 (refused).
    fn clean() -> Ledger {
        Ledger {
            accounts: vec![account("acc_a", 500, 1000), account("acc_b", 300, 0)],
            transfers: vec![transfer("tr_1", "acc_a", "acc_b", 300)],
            withdrawals: vec![
                withdrawal("acc_a", 200, false),
                withdrawal("acc_a", 50, true),
            ],
            ..Ledger::default()
        }
    }

    #[test]
    fn a_ledger_whose_operations_explain_every_balance_has_no_violation() {
        assert_eq!(clean().violations(), []);
    }

    #[test]
    fn a_changed_balance_is_the_accounts_and_its_currencys_violation() {
        let mut ledger = clean();
        ledger.accounts[1].balance = 400;
        assert_eq!(
            ledger.violations(),
            [
                Violation::Balance {
                    account: "acc_b".into(),
                    balance: 400,
                    expected: 300
                },
                Violation::NotConserved {
                    currency: "EUR".into(),
                    balances: 900,
                    expected: 800
                },
            ]
        );
    }

    #[test]
    fn a_missing_transfer_shows_on_both_its_accounts() {
        let mut ledger = clean();
        ledger.transfers.clear();
        let found = ledger.violations();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|v| matches!(v, Violation::Balance { .. })));
    }

    #[test]
    fn operations_on_missing_or_other_currency_accounts_and_negative_balances_are_violations() {
        let mut ledger = clean();
        ledger
            .transfers
            .push(transfer("tr_2", "acc_a", "acc_gone", 1));
        ledger.accounts.push(Account {
            currency: "USD".into(),
            ..account("acc_c", -5, -5)
        });
        ledger.transfers.push(transfer("tr_3", "acc_c", "acc_b", 0));
        let found = ledger.violations();
        for want in [
            Violation::MissingAccount {
                operation: "transfer tr_2".into(),
                account: "acc_gone".into(),
            },
            Violation::CurrencyMismatch {
                operation: "transfer tr_3".into(),
                account: "acc_c".into(),
                account_currency: "USD".into(),
                currency: "EUR".into(),
            },
            Violation::Negative {
                account: "acc_c".into(),
                balance: -5,
            },
        ] {
            assert!(found.contains(&want), "{want:?} not in {found:?}");
        }
    }

    #[test]
    fn a_paid_payout_needs_its_transfer_and_an_old_account_needs_its_initial_balance() {
        let mut ledger = clean();
        ledger.paid_payouts.push(PaidPayout {
            key: "cli_a#po_1".into(),
            transfer_id: "tr_9".into(),
        });
        ledger.accounts[1].initial = None;
        assert_eq!(
            ledger.violations(),
            [
                Violation::PayoutWithoutTransfer {
                    payout: "cli_a#po_1".into(),
                    transfer: "tr_9".into()
                },
                Violation::NoInitialBalance {
                    account: "acc_b".into()
                },
            ]
        );
    }
}
