//! The relay's log group: the one JSON line per request that the relay writes
//! (`relay_function::relay::Relay::handle`), read back for `tail` and `trace`, and written
//! in the same shape by `dev`, so that a local relay is seen as the deployed one is.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::SdkError;
use aws_sdk_cloudwatchlogs::operation::start_live_tail::StartLiveTailOutput;
use aws_sdk_cloudwatchlogs::types::error::StartLiveTailResponseStreamError;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, StartLiveTailResponseStream};
use relay_function::outcome::Outcome;
use relay_function::reason::Reason;
use serde::{Deserialize, Serialize};

use super::errors::is_access_denied;
use super::relay_code::function_name;
use crate::hint::hinted;

/// Now, in milliseconds since the epoch, as CloudWatch Logs stamps its events.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The relay's log group, as the stack names it.
pub fn log_group(bridge: &str) -> String {
    format!("/aws/lambda/{}", function_name(bridge))
}

/// The `message` of a request's line, which the relay's other lines do not have.
pub const MESSAGE: &str = "webhook";

/// The log streams `dev` writes to start with this; Lambda names its own by date.
pub const DEV_STREAM_PREFIX: &str = "stripe-bridge-dev/";

/// The dimension, and its value, that a local relay's metrics carry besides the bridge's:
/// the stack's alarms watch the metrics with the bridge's dimension alone, so a `dev`
/// session neither trips the burst alarm nor keeps the quiet one from sounding.
pub const LOCAL_RELAY_DIMENSION: (&str, &str) = ("Relay", "dev");

/// One request's log line, as the relay writes it (its `tracing` fields, flattened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    pub message: String,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `relayed`, `rejected` (4xx) or `failed` (5xx).
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub status: u16,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub claim_check: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    #[serde(default)]
    pub latency_ms: u64,
}

impl RequestLine {
    /// The line the relay would write for `outcome`.
    pub fn new(request_id: &str, outcome: &Outcome, latency_ms: u64) -> Self {
        Self {
            message: MESSAGE.to_owned(),
            request_id: request_id.to_owned(),
            event_id: outcome.event_id.clone(),
            event_type: outcome.event_type.clone(),
            outcome: outcome_word(outcome.status).to_owned(),
            reason: outcome.reason.map(Reason::code).map(str::to_owned),
            status: outcome.status,
            attempts: outcome.attempts,
            claim_check: outcome.claim_check,
            detail: outcome.detail.clone(),
            notice: None,
            latency_ms,
        }
    }
}

/// The relay's word for a status.
fn outcome_word(status: u16) -> &'static str {
    match status {
        0..300 => "relayed",
        300..500 => "rejected",
        _ => "failed",
    }
}

/// A request line as CloudWatch Logs holds it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Milliseconds since the epoch: when the line was written.
    pub timestamp: i64,
    pub log_stream: String,
    pub line: RequestLine,
}

impl Logged {
    /// A log event, if it is a request's line. Any other (another version's, or a stray)
    /// is skipped, not fatal: the log group is the user's to write to as well.
    fn parse(timestamp: i64, log_stream: &str, message: &str) -> Option<Self> {
        let line = serde_json::from_str::<RequestLine>(message.trim_end()).ok()?;
        Some(Self {
            timestamp,
            log_stream: log_stream.to_owned(),
            line,
        })
    }

    /// Whether a local relay (`dev`) wrote it, not the Lambda.
    pub fn is_local(&self) -> bool {
        self.log_stream.starts_with(DEV_STREAM_PREFIX)
    }
}

/// Which request lines to read: a CloudWatch Logs filter pattern over their JSON ("Using
/// filter patterns to match terms in JSON log events", CloudWatch Logs User Guide), so
/// that the service, not the CLI, skips the rest.
#[derive(Debug, Clone, Default)]
pub struct LineFilter {
    /// Event types, `*` allowed (`invoice.*`); any type when empty.
    pub types: Vec<String>,
    pub event_id: Option<String>,
    /// Only requests not relayed.
    pub failures: bool,
}

impl LineFilter {
    pub fn pattern(&self) -> String {
        let mut terms = vec![format!("$.message = \"{MESSAGE}\"")];
        if !self.types.is_empty() {
            let any: Vec<String> = self
                .types
                .iter()
                .map(|t| format!("$.event_type = \"{t}\""))
                .collect();
            terms.push(format!("({})", any.join(" || ")));
        }
        if let Some(id) = &self.event_id {
            terms.push(format!("$.event_id = \"{id}\""));
        }
        if self.failures {
            terms.push("$.status >= 300".to_owned());
        }
        format!("{{ {} }}", terms.join(" && "))
    }
}

/// The log events a reader has shown, by id, with their timestamps.
pub type Seen = HashMap<String, i64>;

/// Reads and writes the relay's log group.
#[derive(Clone)]
pub struct RelayLogs {
    client: Client,
    group: String,
    endpoint_override: bool,
}

impl RelayLogs {
    pub fn new(sdk: &SdkConfig, bridge: &str) -> Self {
        Self {
            client: Client::new(sdk),
            group: log_group(bridge),
            endpoint_override: sdk.endpoint_url().is_some(),
        }
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Every request line written from `start_ms` on that `filter` takes, oldest first,
    /// skipping the log events in `seen` and adding the others (CloudWatch takes lines
    /// seconds late, so a poll looks back and needs to know what it showed). `seen` keeps
    /// only the events from `start_ms` on: older ones are not read again.
    pub async fn read(
        &self,
        filter: &LineFilter,
        start_ms: i64,
        seen: &mut Seen,
    ) -> Result<Vec<Logged>> {
        seen.retain(|_, timestamp| *timestamp >= start_ms);
        let mut found = Vec::new();
        let mut pages = self
            .client
            .filter_log_events()
            .log_group_name(&self.group)
            .filter_pattern(filter.pattern())
            .start_time(start_ms)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.read_error(e))?;
            for event in page.events() {
                let (Some(id), Some(message)) = (event.event_id(), event.message()) else {
                    continue;
                };
                let timestamp = event.timestamp().unwrap_or_default();
                if seen.insert(id.to_owned(), timestamp).is_some() {
                    continue;
                }
                found.extend(Logged::parse(
                    timestamp,
                    event.log_stream_name().unwrap_or_default(),
                    message,
                ));
            }
        }
        found.sort_by_key(|l| l.timestamp);
        Ok(found)
    }

    fn read_error(
        &self,
        error: aws_sdk_cloudwatchlogs::error::SdkError<
            aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError,
        >,
    ) -> anyhow::Error {
        let group = &self.group;
        if error
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())
        {
            return hinted(
                format!("the relay's log group {group} does not exist"),
                "deploy the bridge (deploy makes it), or check --name and --region",
            );
        }
        if is_access_denied(&error) {
            return anyhow::Error::new(error).context(hinted(
                format!("these AWS credentials may not read the log group {group}"),
                "use credentials that may (logs:FilterLogEvents, see templates/deployer-policy.json), or pick others with --profile",
            ));
        }
        anyhow::Error::new(error).context(format!("cannot read the log group {group}"))
    }

    /// Starts a CloudWatch Logs Live Tail session on the group (named by `group_arn`, as
    /// StartLiveTail takes it) with `filter`, and waits for it to begin. An error means
    /// no Live Tail here (a region without it, or no `logs:StartLiveTail`). Never under
    /// an endpoint override (an emulator, a proxy): the SDK sends StartLiveTail to the
    /// host `stream-` + the endpoint's, which only AWS's own endpoints have.
    pub async fn live_tail(&self, group_arn: &str, filter: &LineFilter) -> Result<LiveTail> {
        if self.endpoint_override {
            bail!("Live Tail needs AWS's own endpoint, and an endpoint URL is set");
        }
        let started = self
            .client
            .start_live_tail()
            .log_group_identifiers(group_arn)
            .log_event_filter_pattern(filter.pattern())
            .send()
            .await
            .context("StartLiveTail failed")?;
        let mut session = started;
        match session.response_stream.recv().await {
            Ok(Some(StartLiveTailResponseStream::SessionStart(_))) => Ok(LiveTail { session }),
            Ok(_) => bail!("the Live Tail session did not start"),
            Err(error) => {
                Err(anyhow::Error::new(error).context("the Live Tail session did not start"))
            }
        }
    }

    /// A new log stream for a `dev` session, named after this machine and the time.
    pub async fn open_dev_stream(&self, host: &str, started_ms: i64) -> Result<String> {
        let stream = format!("{DEV_STREAM_PREFIX}{host}/{started_ms}");
        self.client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&stream)
            .send()
            .await
            .with_context(|| format!("cannot make the log stream {stream} in {}", self.group))?;
        Ok(stream)
    }

    /// Writes `lines` (timestamp in ms, JSON text), oldest first, to `stream`, as
    /// Embedded Metric Format: CloudWatch makes metrics of the lines that are EMF
    /// documents only when the request says so with this header ("Using the PutLogEvents
    /// API to send manually-created embedded metric format logs", CloudWatch User
    /// Guide); the others are stored as they are.
    pub async fn write(&self, stream: &str, lines: Vec<(i64, String)>) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let events = lines
            .into_iter()
            .map(|(timestamp, message)| {
                InputLogEvent::builder()
                    .timestamp(timestamp)
                    .message(message)
                    .build()
                    .context("a log event needs a timestamp and a message")
            })
            .collect::<Result<Vec<_>>>()?;
        self.client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .customize()
            .mutate_request(|request| {
                request
                    .headers_mut()
                    .insert("x-amzn-logs-format", "json/emf");
            })
            .send()
            .await
            .with_context(|| format!("cannot write to the log group {}", self.group))?;
        Ok(())
    }
}

/// A Live Tail session: the lines CloudWatch streams as they are written.
pub struct LiveTail {
    session: StartLiveTailOutput,
}

/// What one Live Tail update brought.
pub struct LiveUpdate {
    pub lines: Vec<Logged>,
    /// CloudWatch sends a sample, not every line, above 500 lines a second.
    pub sampled: bool,
}

impl LiveTail {
    /// The next update; `None` once the session ended (CloudWatch ends each after three
    /// hours).
    pub async fn next(&mut self) -> Result<Option<LiveUpdate>> {
        loop {
            let update = match self.session.response_stream.recv().await {
                Ok(Some(StartLiveTailResponseStream::SessionUpdate(update))) => update,
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(None),
                Err(SdkError::ServiceError(error))
                    if matches!(
                        error.err(),
                        StartLiveTailResponseStreamError::SessionTimeoutException(_)
                    ) =>
                {
                    return Ok(None);
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error).context("the Live Tail session failed"));
                }
            };
            let lines = update
                .session_results()
                .iter()
                .filter_map(|event| {
                    Logged::parse(
                        event.timestamp().unwrap_or_default(),
                        event.log_stream_name().unwrap_or_default(),
                        event.message()?,
                    )
                })
                .collect();
            let sampled = update.session_metadata().is_some_and(|m| m.sampled());
            return Ok(Some(LiveUpdate { lines, sampled }));
        }
    }
}

/// A `dev` session's request lines on their way to the relay's log group, in the
/// background: batched, so that a burst of requests makes one PutLogEvents call a second,
/// and never in the way of an answer.
pub struct LogShipper {
    sender: Mutex<Option<tokio::sync::mpsc::UnboundedSender<(i64, String)>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long the shipper gathers lines before it writes them.
const SHIP_EVERY: Duration = Duration::from_secs(1);
/// PutLogEvents takes at most 10,000 events a call; a session's second never has more.
const MAX_BATCH: usize = 1_000;

impl LogShipper {
    /// Opens the session's log stream (so that a refusal shows at start), then ships what
    /// `send` is given. The first write that fails goes to `failed`, and the session's
    /// lines after it are dropped: the answers to Stripe never wait on the log.
    pub async fn start(
        logs: RelayLogs,
        host: &str,
        started_ms: i64,
        failed: impl FnOnce(anyhow::Error) + Send + 'static,
    ) -> Result<Self> {
        let stream = logs.open_dev_stream(host, started_ms).await?;
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(i64, String)>();
        let task = tokio::spawn(async move {
            let mut failed = Some(failed);
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                let gather = tokio::time::sleep(SHIP_EVERY);
                tokio::pin!(gather);
                loop {
                    tokio::select! {
                        () = &mut gather => break,
                        next = receiver.recv() => match next {
                            Some(line) if batch.len() < MAX_BATCH => batch.push(line),
                            Some(line) => { batch.push(line); break }
                            None => break,
                        },
                    }
                }
                if failed.is_none() {
                    continue;
                }
                batch.sort_by_key(|(timestamp, _)| *timestamp);
                if let Err(error) = logs.write(&stream, batch).await
                    && let Some(failed) = failed.take()
                {
                    failed(error);
                }
            }
        });
        Ok(Self {
            sender: Mutex::new(Some(sender)),
            task: Mutex::new(Some(task)),
        })
    }

    /// Queues one request's line, written at `timestamp_ms`; after `finish`, drops it.
    pub fn send(&self, timestamp_ms: i64, line: &RequestLine) {
        self.send_text(
            timestamp_ms,
            serde_json::to_string(line).expect("a request line serialises"),
        );
    }

    /// Queues a line as it is (an EMF document of the session's metrics).
    pub fn send_text(&self, timestamp_ms: i64, text: String) {
        if let Some(sender) = self.sender.lock().expect("not poisoned").as_ref() {
            let _ = sender.send((timestamp_ms, text));
        }
    }

    /// Writes what is still queued, and ends.
    pub async fn finish(&self) {
        self.sender.lock().expect("not poisoned").take();
        let task = self.task.lock().expect("not poisoned").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_pattern_selects_in_the_service() {
        assert_eq!(
            LineFilter::default().pattern(),
            r#"{ $.message = "webhook" }"#
        );
        let filter = LineFilter {
            types: vec!["invoice.*".into(), "customer.created".into()],
            event_id: None,
            failures: true,
        };
        assert_eq!(
            filter.pattern(),
            r#"{ $.message = "webhook" && ($.event_type = "invoice.*" || $.event_type = "customer.created") && $.status >= 300 }"#
        );
    }

    use std::sync::{Arc, Mutex};

    use aws_sdk_cloudwatchlogs::config::interceptors::BeforeTransmitInterceptorContextRef;
    use aws_sdk_cloudwatchlogs::config::{
        ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
    };
    use aws_sdk_cloudwatchlogs::error::BoxError;

    /// A request as sent: its URI, X-Amz-Target and body.
    type Sent = (String, Option<String>, String);

    /// Keeps the request the SDK is about to send, and stops it there: nothing leaves
    /// this machine, not even a DNS lookup.
    #[derive(Debug, Clone, Default)]
    struct Capture(Arc<Mutex<Option<Sent>>>);

    impl Intercept for Capture {
        fn name(&self) -> &'static str {
            "capture"
        }

        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let request = context.request();
            *self.0.lock().unwrap() = Some((
                request.uri().to_owned(),
                request.headers().get("x-amz-target").map(str::to_owned),
                String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned(),
            ));
            Err("captured".into())
        }
    }

    #[tokio::test]
    async fn the_live_tail_request_has_the_shape_aws_documents() {
        let capture = Capture::default();
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version_latest()
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .interceptor(capture.clone())
            .build();
        let logs = RelayLogs {
            client: Client::from_conf(config),
            group: log_group("stripe-live"),
            endpoint_override: false,
        };
        let arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/stripe-live-relay";
        let filter = LineFilter {
            failures: true,
            ..LineFilter::default()
        };
        assert!(logs.live_tail(arn, &filter).await.is_err());
        let (uri, target, body) = capture.0.lock().unwrap().clone().expect("a request");
        // StartLiveTail ("CloudWatch Logs API Reference"): the `stream-` host prefix, the
        // group by ARN (a name is refused), and the same filter pattern as the polls.
        assert_eq!(uri, "https://stream-logs.eu-west-1.amazonaws.com/");
        assert_eq!(target.as_deref(), Some("Logs_20140328.StartLiveTail"));
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "logGroupIdentifiers": [arn],
                "logEventFilterPattern": r#"{ $.message = "webhook" && $.status >= 300 }"#,
            })
        );
    }

    #[test]
    fn the_relays_line_reads_as_a_request_line() {
        // As the relay's JSON subscriber writes it (tests/it/relay_logs.rs checks the
        // relay against this type).
        let text = r#"{"level":"INFO","request_id":"r-1","event_id":"evt_1","event_type":"invoice.paid","outcome":"relayed","status":200,"attempts":1,"claim_check":false,"latency_ms":12,"message":"webhook"}"#;
        let line: RequestLine = serde_json::from_str(text).unwrap();
        assert_eq!(line.event_id.as_deref(), Some("evt_1"));
        assert_eq!(line.status, 200);
        assert_eq!(line.outcome, "relayed");
    }
}
