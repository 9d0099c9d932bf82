//! What one PutEvents call told us: the event is on the bus, another try may succeed
//! (throttling, internal errors, timeouts, 5xx), or it never will. PutEvents reports
//! some of these per entry inside a 200 answer, so both the answer and the error are
//! read.

use aws_sdk_eventbridge::config::http::HttpResponse;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::put_events::{PutEventsError, PutEventsOutput};

use crate::aws_errors::describe;

/// What one PutEvents call told us.
pub(crate) enum Attempt {
    Accepted(String),
    Retry(String),
    GiveUp(String),
    /// Refused as over EventBridge's size limit: the claim check can still carry it.
    OverLimit(String),
}

/// Sorts one PutEvents answer: on the bus, worth another try, or refused for good.
pub(crate) fn classify(
    answer: Result<PutEventsOutput, SdkError<PutEventsError, HttpResponse>>,
) -> Attempt {
    match answer {
        Ok(output) => {
            let entry = output.entries().first();
            let error_code = entry.and_then(|e| e.error_code());
            match (
                output.failed_entry_count(),
                error_code,
                entry.and_then(|e| e.event_id()),
            ) {
                (0, None, Some(id)) => Attempt::Accepted(id.to_owned()),
                (_, Some(code), _) => {
                    let message = format!(
                        "{code}: {}",
                        entry
                            .and_then(|e| e.error_message())
                            .unwrap_or("no message")
                    );
                    if entry_error_is_transient(code) {
                        Attempt::Retry(message)
                    } else {
                        Attempt::GiveUp(message)
                    }
                }
                _ => Attempt::Retry("PutEvents answered without an entry id".into()),
            }
        }
        Err(SdkError::ServiceError(e)) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("unknown error");
            let message = format!(
                "{code} (HTTP {status}): {}",
                e.err().message().unwrap_or("no message")
            );
            if is_over_size_limit(status, code, e.err().message()) {
                Attempt::OverLimit(message)
            } else if status >= 500 || status == 429 || code.contains("Throttl") {
                Attempt::Retry(message)
            } else {
                Attempt::GiveUp(message)
            }
        }
        Err(e @ SdkError::ConstructionFailure(_)) => Attempt::GiveUp(describe(&e)),
        // Timeouts, connection failures and unreadable answers may all pass.
        Err(e) => Attempt::Retry(describe(&e)),
    }
}

/// EventBridge refuses a request over its size limit as a whole: with HTTP 413 and no
/// body, or a `ValidationException` saying "Total size of the entries in the request is
/// over the limit" ("Calculating Amazon EventBridge PutEvents event entry size",
/// EventBridge User Guide; what the API answers). Its own size count can differ from
/// ours (`bus_entry::entry_size`), so the relay does not trust its count alone.
fn is_over_size_limit(status: u16, code: &str, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    status == 413
        || (code == "ValidationException" && message.contains("size") && message.contains("limit"))
}

/// PutEvents entry error codes that another try may clear.
fn entry_error_is_transient(code: &str) -> bool {
    code.contains("Throttl") || code.contains("Internal") || code.contains("Unavailable")
}
