//! Crash injection: an SDK interceptor that kills the invocation at a chosen point of its
//! DynamoDB calls. Killed means no code after that point sees the call succeed (the interceptor
//! fails it), and the test throws the invocation's answer away: the client never gets one.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Where the next invocation dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashAt {
    /// After the nonce put committed, before the transaction is sent.
    BeforeTransaction,
    /// After DynamoDB answered the transaction with success: it committed.
    AfterCommit,
}

/// Cheap to clone; every clone arms and reads the same switch.
#[derive(Debug, Clone, Default)]
pub struct Crasher {
    /// 0: disarmed, 1: BeforeTransaction, 2: AfterCommit.
    armed: Arc<AtomicU8>,
    crashed: Arc<AtomicBool>,
}

impl Crasher {
    /// The next invocation that reaches `at` dies there (once).
    pub fn arm(&self, at: CrashAt) {
        let code = match at {
            CrashAt::BeforeTransaction => 1,
            CrashAt::AfterCommit => 2,
        };
        self.crashed.store(false, Ordering::SeqCst);
        self.armed.store(code, Ordering::SeqCst);
    }

    /// Whether an armed crash happened since [`Crasher::arm`]; resets it.
    pub fn take_crashed(&self) -> bool {
        self.crashed.swap(false, Ordering::SeqCst)
    }

    fn fire(&self, code: u8, cfg: &ConfigBag) -> Result<(), BoxError> {
        let transaction = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == "TransactWriteItems");
        if transaction
            && self
                .armed
                .compare_exchange(code, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.crashed.store(true, Ordering::SeqCst);
            return Err("crash injected".into());
        }
        Ok(())
    }
}

impl Intercept for Crasher {
    fn name(&self) -> &'static str {
        "Crasher"
    }

    // Not `read_before_execution`: the operation's metadata is not in the bag yet there.
    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.fire(1, cfg)
    }

    fn read_before_deserialization(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if ctx.response().status().is_success() {
            self.fire(2, cfg)
        } else {
            Ok(())
        }
    }
}

/// An SDK client for DynamoDB Local that crashes where `crasher` says.
pub async fn crashing_sdk_client(crasher: &Crasher) -> aws_sdk_dynamodb::Client {
    let base = replaysafe::store::sdk_client(Some(&crate::endpoint())).await;
    let config = base
        .config()
        .to_builder()
        .interceptor(crasher.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
