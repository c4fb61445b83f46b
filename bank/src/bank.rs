//! The bank's routes: `POST /payments`, `GET /health` and the `/_control` API of the tests.

use std::sync::{Mutex, MutexGuard};

use crate::faults::Fault;
use crate::ledger::Ledger;
use crate::payout;
use crate::wire::{Request, Response};

/// One fake bank: its ledger, and the answer to each request.
#[derive(Debug, Default)]
pub struct Bank {
    ledger: Mutex<Ledger>,
}

impl Bank {
    /// A bank that has paid nothing and has no fault queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer to `req`.
    pub async fn handle(&self, req: &Request) -> Response {
        let allowed: &[&str] = match req.path.as_str() {
            "/payments" => &["POST"],
            "/health" => &["GET"],
            "/_control/faults" => &["GET", "POST", "DELETE"],
            "/_control/payments" | "/_control/requests" => &["GET"],
            "/_control/reset" => &["POST"],
            _ => return Response::error(404, "not-found"),
        };
        if !allowed.contains(&req.method.as_str()) {
            let mut answer = Response::error(405, "method-not-allowed");
            answer.headers.push(("allow", allowed.join(", ")));
            return answer;
        }
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/payments") => payout::pay(self, req).await,
            ("GET", "/health") => Response::json(200, &serde_json::json!({ "status": "ok" })),
            ("GET", "/_control/faults") => Response::json(200, &self.ledger().fault),
            ("POST", "/_control/faults") => match serde_json::from_slice::<Fault>(&req.body) {
                Ok(fault) => {
                    let mut ledger = self.ledger();
                    ledger.fault = fault.queued();
                    Response::json(200, &ledger.fault)
                }
                Err(_) => Response::error(400, "invalid-request"),
            },
            ("DELETE", "/_control/faults") => {
                let mut ledger = self.ledger();
                ledger.fault = Fault::NONE;
                Response::json(200, &ledger.fault)
            }
            ("GET", "/_control/payments") => Response::json(200, &self.ledger().payments),
            ("GET", "/_control/requests") => Response::json(200, &self.ledger().requests),
            ("POST", "/_control/reset") => {
                *self.ledger() = Ledger::default();
                Response::json(200, &serde_json::json!({}))
            }
            _ => unreachable!("every allowed method of every path is routed"),
        }
    }

    /// The ledger, locked. A handler that panicked while holding it left it consistent (every
    /// change is one push or insert), so a poisoned lock is taken over rather than propagated.
    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}
