//! `stripe-bridge tail`: one line per request the relay handles, as it happens, from the
//! relay's log group: the Lambda's lines, and those of any `dev` session of the bridge.
//!
//! It streams with CloudWatch Logs Live Tail (StartLiveTail), which sends lines within a
//! second of their writing. Where Live Tail is not to be had (an endpoint without it, a
//! caller without `logs:StartLiveTail`), and for `--since`, since Live Tail streams only
//! what is written after it starts, it polls FilterLogEvents every two seconds instead;
//! CloudWatch takes a line a few seconds after it is written, so each poll looks back
//! over the last minutes and leaves out what it printed. Either way the filter pattern
//! makes CloudWatch skip what was not asked for.

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::ExitStatus;
use crate::aws::connect::{self, AwsContext};
use crate::aws::relay_logs::{LineFilter, LiveTail, Logged, RelayLogs, RequestLine, Seen, now_ms};
use crate::cli::TailArgs;
use crate::settings::GlobalSettings;
use crate::stripe::event_types::{self, TypeFilter};
use crate::ui::Printer;
use crate::ui::printer::error_lines;
use crate::ui::report::{RequestLineText, rfc3339_millis};

/// Between two polls.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How far back each poll reads, for the lines CloudWatch takes late.
const LOOK_BACK: Duration = Duration::from_secs(300);

/// One request, as `tail` prints it.
#[derive(Debug, Serialize)]
pub struct Tailed<'a> {
    pub time: String,
    /// `lambda`, or `dev` for a local relay's.
    pub relay: &'static str,
    #[serde(flatten)]
    pub line: &'a RequestLine,
}

impl<'a> From<&'a Logged> for Tailed<'a> {
    fn from(logged: &'a Logged) -> Self {
        Self {
            time: rfc3339_millis(logged.timestamp),
            relay: if logged.is_local() { "dev" } else { "lambda" },
            line: &logged.line,
        }
    }
}

impl fmt::Display for Tailed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        RequestLineText {
            time: &self.time,
            line: self.line,
            local: self.relay == "dev",
        }
        .fmt(f)
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &TailArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let filter = LineFilter {
        types: type_patterns(&args.types)?,
        event_id: None,
        failures: args.failures,
    };
    let ctx = connect::connect(&settings.aws).await?;
    let logs = RelayLogs::new(&ctx.sdk, &settings.bridge);
    let group_arn = log_group_arn(&ctx, logs.group());
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    // Live Tail shows only what is written after it starts: `--since` polls.
    let mut live = match args.since {
        None => tokio::select! {
            _ = &mut interrupted => return Ok(ExitStatus::Success),
            live = start_live(&logs, &group_arn, &filter, printer) => live,
        },
        Some(_) => None,
    };
    let mut since = now_ms() - args.since.map_or(0, |s| s.as_millis() as i64);
    printer.status(format!(
        "Tailing {} in {}{} (Ctrl-C to stop).",
        logs.group(),
        ctx.region,
        if live.is_some() {
            " with Live Tail"
        } else {
            ""
        }
    ));

    let mut seen = Seen::new();
    let mut told_sampled = false;
    loop {
        if let Some(session) = live.as_mut() {
            let update = tokio::select! {
                _ = &mut interrupted => break,
                update = session.next() => update,
            };
            match update {
                Ok(Some(update)) => {
                    if update.sampled && !told_sampled {
                        told_sampled = true;
                        printer.warning(
                            "over 500 lines a second: Live Tail sends a sample, not every request",
                        );
                    }
                    for logged in &update.lines {
                        printer.record(&Tailed::from(logged));
                    }
                }
                // The session ended (CloudWatch ends each after three hours) or broke: a
                // new one, or polling from now.
                Ok(None) | Err(_) => {
                    live = start_live(&logs, &group_arn, &filter, printer).await;
                    since = now_ms();
                }
            }
            continue;
        }
        let from = since.max(now_ms() - LOOK_BACK.as_millis() as i64);
        let read = tokio::select! {
            _ = &mut interrupted => break,
            read = logs.read(&filter, from, &mut seen) => read?,
        };
        for logged in &read {
            printer.record(&Tailed::from(logged));
        }
        tokio::select! {
            _ = &mut interrupted => break,
            () = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
    printer.status("Stopped.");
    Ok(ExitStatus::Success)
}

/// A Live Tail session, or none where Live Tail is not to be had (said with --verbose).
async fn start_live(
    logs: &RelayLogs,
    group_arn: &str,
    filter: &LineFilter,
    printer: Printer,
) -> Option<LiveTail> {
    match logs.live_tail(group_arn, filter).await {
        Ok(session) => Some(session),
        Err(error) => {
            printer.detail(format!(
                "Live Tail is not available ({}): polling every {} s instead",
                error_lines(&error).0,
                POLL_EVERY.as_secs()
            ));
            None
        }
    }
}

/// The log group's ARN, as StartLiveTail takes it, in the caller's partition.
fn log_group_arn(ctx: &AwsContext, group: &str) -> String {
    let partition = ctx.caller_arn.split(':').nth(1).unwrap_or("aws");
    format!(
        "arn:{partition}:logs:{}:{}:log-group:{group}",
        ctx.region, ctx.account_id
    )
}

/// `--type`s as filter-pattern values: a whole type, or a prefix with CloudWatch's `*`.
fn type_patterns(types: &[String]) -> Result<Vec<String>> {
    let filters = types
        .iter()
        .map(|t| TypeFilter::parse(t))
        .collect::<Result<Vec<_>>>()?;
    Ok(event_types::normalise(filters)
        .into_iter()
        .filter_map(|filter| match filter {
            TypeFilter::All => None,
            TypeFilter::Prefix(prefix) => Some(format!("{prefix}*")),
            TypeFilter::Exact(exact) => Some(exact),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_become_filter_values_and_star_takes_all() {
        let types = ["invoice.*", "customer.created", "invoice.*"].map(String::from);
        assert_eq!(
            type_patterns(&types).unwrap(),
            ["invoice.*", "customer.created"]
        );
        assert!(type_patterns(&["*".into()]).unwrap().is_empty());
        assert!(type_patterns(&["invoice.payd".into()]).is_err());
    }
}
