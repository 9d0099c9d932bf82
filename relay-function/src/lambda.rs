//! The relay as a Lambda function behind an API Gateway HTTP API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use lambda_runtime::tracing::subscriber::EnvFilter;
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use metrics_cloudwatch_embedded::Collector;
use tokio::time::Instant;

use crate::relay::Relay;
use crate::relay_metrics;
use crate::webhook::WebhookRequest;

/// Time kept back from the Lambda's deadline for the failure notice and the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(2500);

/// Handles one invocation. It never fails: every outcome is an HTTP answer.
pub async fn handle(
    relay: &Relay,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> ApiGatewayV2httpResponse {
    let request = WebhookRequest::from_api_gateway(
        event.payload,
        &event.context.request_id,
        relay.max_body_bytes,
    );
    let deadline = answer_deadline(event.context.deadline, SystemTime::now(), Instant::now());
    // Boxed: the relay's future is deep enough to overflow the compiler's layout limit
    // once the runtime's own futures wrap it.
    Box::pin(relay.handle(&request, deadline))
        .await
        .response()
        .into()
}

/// The Lambda's deadline (milliseconds since the epoch) as an `Instant`, less the margin.
fn answer_deadline(deadline_ms: u64, now: SystemTime, now_instant: Instant) -> Instant {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    now_instant + left.saturating_sub(ANSWER_MARGIN)
}

/// Installs the recorder that writes the relay's metrics (`relay_metrics`) as Embedded
/// Metric Format lines. Without it the relay still runs, unmeasured: so a failure is
/// logged, not fatal.
pub fn init_metrics(bridge: &str) -> Option<&'static Collector> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(relay_metrics::NAMESPACE)
        .with_dimension(relay_metrics::BRIDGE_DIMENSION, bridge.to_string())
        .init();
    match collector {
        Ok(collector) => {
            relay_metrics::describe();
            Some(collector)
        }
        Err(error) => {
            tracing::warn!(error = %error, "the relay's metrics are off");
            None
        }
    }
}

/// Writes what the invocation counted to standard output, before Lambda freezes the
/// environment; CloudWatch Logs turns the lines into metrics.
pub fn flush_metrics(collector: Option<&Collector>) {
    if let Some(collector) = collector
        && let Err(error) = collector.flush(std::io::stdout().lock())
    {
        tracing::warn!(error = %error, "writing the relay's metrics failed");
    }
}

/// Sends the relay's logs to standard output, where Lambda hands them to CloudWatch.
pub fn init_logging() {
    use lambda_runtime::tracing::subscriber::util::SubscriberInitExt;
    json_logs(std::io::stdout).init();
}

/// One JSON object per log line, as CloudWatch Logs Insights reads best. The level comes
/// from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) or `RUST_LOG`.
pub fn json_logs<W>(writer: W) -> impl lambda_runtime::tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    lambda_runtime::tracing::subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_env_filter(
            EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
                .or_else(|_| EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_deadline_keeps_a_margin() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let instant = Instant::now();
        assert_eq!(
            answer_deadline(1_010_000, now, instant),
            instant + Duration::from_millis(7_500)
        );
        // Already past: no time at all, not a panic.
        assert_eq!(answer_deadline(999_000, now, instant), instant);
    }
}
