//! The faults a test queues for the next `POST /payments` requests.

use serde::{Deserialize, Serialize};

/// What the bank does wrong with a faulted `POST /payments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// No fault: setting it clears the queued one.
    Ok,
    /// Pays (records the payment and its answer) at once, then waits `delay_ms` before
    /// answering: a client with a shorter timeout gives up on a payment that happened.
    Slow,
    /// Waits `delay_ms` before looking at the request at all, then processes it normally: a
    /// retry sent meanwhile finds nothing recorded under the key.
    HangBefore,
    /// `503 {"error":"unavailable"}`; nothing paid, nothing stored.
    Fail,
    /// Processes the request (pays, stores the answer), then answers 500: the effect happened
    /// and its answer was lost.
    FailAfter,
    /// `422 {"error":"refused"}`, stored under the key as a refusal is.
    Refuse,
}

impl FaultMode {
    /// The mode's name in the control API (`hang_before`).
    pub fn name(self) -> &'static str {
        match self {
            FaultMode::Ok => "ok",
            FaultMode::Slow => "slow",
            FaultMode::HangBefore => "hang_before",
            FaultMode::Fail => "fail",
            FaultMode::FailAfter => "fail_after",
            FaultMode::Refuse => "refuse",
        }
    }
}

/// A fault queued for the next `times` `POST /payments` requests (the body of
/// `POST /_control/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What goes wrong.
    pub mode: FaultMode,
    /// How many of the next requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
    /// The wait of `slow` and `hang_before`, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Nothing queued.
    pub const NONE: Fault = Fault {
        mode: FaultMode::Ok,
        times: 0,
        delay_ms: 0,
    };

    /// What is queued when this fault is set: `ok`, or zero `times`, is nothing.
    pub(crate) fn queued(self) -> Fault {
        if self.mode == FaultMode::Ok || self.times == 0 {
            Fault::NONE
        } else {
            self
        }
    }

    /// The fault for the request arriving now, counting it off the queue.
    pub(crate) fn take(&mut self) -> Option<(FaultMode, u64)> {
        *self = self.queued();
        if *self == Fault::NONE {
            return None;
        }
        self.times -= 1;
        let taken = (self.mode, self.delay_ms);
        if self.times == 0 {
            *self = Fault::NONE;
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_to_the_next_times_requests_only() {
        let mut fault: Fault =
            serde_json::from_str(r#"{"mode":"hang_before","times":2,"delay_ms":5}"#).unwrap();
        assert_eq!(fault.take(), Some((FaultMode::HangBefore, 5)));
        assert_eq!(fault.take(), Some((FaultMode::HangBefore, 5)));
        assert_eq!(fault.take(), None);
        assert_eq!(fault, Fault::NONE);
    }

    #[test]
    fn times_defaults_to_one_and_ok_queues_nothing() {
        let mut fault: Fault = serde_json::from_str(r#"{"mode":"fail"}"#).unwrap();
        assert_eq!((fault.times, fault.delay_ms), (1, 0));
        assert_eq!(fault.take(), Some((FaultMode::Fail, 0)));
        assert_eq!(fault.take(), None);
        let mut ok: Fault = serde_json::from_str(r#"{"mode":"ok","times":3}"#).unwrap();
        assert_eq!(ok.take(), None);
    }

    #[test]
    fn names_are_the_wire_names() {
        for mode in [
            FaultMode::Ok,
            FaultMode::Slow,
            FaultMode::HangBefore,
            FaultMode::Fail,
            FaultMode::FailAfter,
            FaultMode::Refuse,
        ] {
            assert_eq!(serde_json::to_value(mode).unwrap(), mode.name());
        }
    }

    #[test]
    fn refuses_unknown_modes() {
        assert!(serde_json::from_str::<Fault>(r#"{"mode":"explode"}"#).is_err());
    }
}
