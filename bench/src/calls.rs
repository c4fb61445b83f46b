//! Where a request's time goes: an SDK interceptor records each DynamoDB call's interval into
//! the log of the request that made it (a task-local, so concurrent requests keep their calls
//! apart); calls that overlap count as one sequential round trip.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use crate::stats::Sample;

tokio::task_local! {
    static LOG: Arc<Mutex<Vec<(Instant, Instant)>>>;
}

#[derive(Debug, Clone)]
struct Started(Instant);
impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// The interceptor: put it on the SDK client the code under test uses.
#[derive(Debug, Default, Clone)]
pub struct CallTimer;

impl Intercept for CallTimer {
    fn name(&self) -> &'static str {
        "CallTimer"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Started(at)) = cfg.load::<Started>() {
            let _ = LOG.try_with(|log| log.lock().unwrap().push((*at, Instant::now())));
        }
        Ok(())
    }
}

/// `client` with the [`CallTimer`] added.
pub fn instrumented(client: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(client.config().to_builder().interceptor(CallTimer).build())
}

/// Runs `work` and returns its output with what it cost: total time and its DynamoDB calls.
pub async fn measure<F: Future>(work: F) -> (F::Output, Sample) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let out = LOG.scope(log.clone(), work).await;
    let total = started.elapsed();
    let calls = std::mem::take(&mut *log.lock().unwrap());
    let offsets = calls
        .into_iter()
        .map(|(s, e)| (s.saturating_duration_since(started), e - started))
        .collect();
    (out, Sample::new(total, offsets))
}

/// Overlapping intervals merged: (sequential round trips, time inside DynamoDB).
pub fn rounds(mut calls: Vec<(Duration, Duration)>) -> (usize, Duration) {
    calls.sort();
    let mut merged: Vec<(Duration, Duration)> = Vec::new();
    for (start, end) in calls {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    (merged.len(), merged.iter().map(|(s, e)| *e - *s).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(a: u64, b: u64) -> (Duration, Duration) {
        (Duration::from_millis(a), Duration::from_millis(b))
    }

    #[test]
    fn overlapping_calls_are_one_round_trip() {
        let (n, inside) = rounds(vec![ms(5, 9), ms(0, 2), ms(1, 3)]);
        assert_eq!(n, 2);
        assert_eq!(inside, Duration::from_millis(7));
    }
}
