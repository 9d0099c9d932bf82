//! Pure formatters for what a deploy shows: the change-set table, one line per stack
//! event, and the outputs; Unix times as people read them; and the line per request that
//! `dev` and `tail` print.

use crate::aws::relay_logs::RequestLine;

use std::fmt::Write as _;

use crate::aws::stack::parameters::ParameterChange;
use crate::aws::stack::{ResourceChange, StackEvent};

/// A Unix time as people and scripts read it: `2026-11-29T05:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Milliseconds since the epoch as RFC 3339, to the millisecond, as CloudWatch keeps them.
pub fn rfc3339_millis(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

/// One request as `dev` and `tail` print it: time, status, event type, event id, and what
/// happened, the status coloured where the terminal takes colour; `(dev)` after a local
/// relay's, when `tail` shows it beside the Lambda's.
pub struct RequestLineText<'a> {
    pub time: &'a str,
    pub line: &'a RequestLine,
    pub local: bool,
}

impl std::fmt::Display for RequestLineText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = self.line;
        let what = match (&line.reason, &line.detail) {
            (None, _) if line.claim_check => "relayed (claim check)".to_owned(),
            (None, _) => "relayed".to_owned(),
            (Some(reason), Some(detail)) => format!("{reason}: {detail}"),
            (Some(reason), None) => reason.clone(),
        };
        let style = match line.status {
            0..300 => anstyle::AnsiColor::Green.on_default(),
            300..500 => anstyle::AnsiColor::Yellow.on_default(),
            _ => anstyle::AnsiColor::Red.on_default().bold(),
        };
        write!(
            f,
            "{}  {style}{}{style:#}  {}  {}  {what}{}",
            self.time,
            line.status,
            line.event_type.as_deref().unwrap_or("-"),
            line.event_id.as_deref().unwrap_or("-"),
            if self.local { "  (dev)" } else { "" }
        )
    }
}

/// Counts as a row of unicode blocks, one per count, the highest a full block; a zero is
/// the lowest block, so that the row keeps its length.
pub fn sparkline(values: &[u64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let highest = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&value| match value {
            0 => BLOCKS[0],
            _ => BLOCKS[((value * 7).div_ceil(highest) as usize).clamp(1, 7)],
        })
        .collect()
}

/// How long the archive keeps events, after "kept": `90 days`, or `forever` for 0 (as
/// the stack's ArchiveRetentionDays and EventBridge take 0).
pub fn kept_for(days: i64) -> String {
    match days {
        0 => "forever".to_owned(),
        days => format!("{days} days"),
    }
}

/// The first 12 hex digits of a SHA-256, enough to tell two relays apart at a glance.
pub fn short_sha(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

/// A length of time as people give one: `400d`, `36h`, `90m` (humantime would say
/// `1year 1month 4days 13h 30m` for 400 days); else humantime's form.
pub fn length(length: std::time::Duration) -> String {
    let seconds = length.as_secs();
    if length.subsec_nanos() == 0 && seconds > 0 {
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if seconds.is_multiple_of(size) {
                return format!("{}{unit}", seconds / size);
            }
        }
    }
    humantime::format_duration(length).to_string()
}

/// The change-set table: one row per resource, with replacement flags.
pub fn change_table(stack: &str, changes: &[ResourceChange]) -> String {
    let id_width = changes
        .iter()
        .map(|c| c.logical_id.len())
        .max()
        .unwrap_or(0);
    let type_width = changes
        .iter()
        .map(|c| c.resource_type.len())
        .max()
        .unwrap_or(0);
    let mut out = format!("Changes to stack {stack}:\n");
    for change in changes {
        let replacement = match change.replacement.as_deref() {
            Some("True") => "  (replacement)",
            Some("Conditional") => "  (may be replaced)",
            _ => "",
        };
        let row = format!(
            "  {:<9} {:<id_width$}  {:<type_width$}{replacement}",
            change.action.mark(),
            change.logical_id,
            change.resource_type,
        );
        writeln!(out, "{}", row.trim_end()).expect("writing to a String");
    }
    out
}

/// The settings a deploy changes, one per line: `  ArchiveRetentionDays  0 → 90`.
pub fn parameter_table(changes: &[ParameterChange]) -> String {
    let width = changes.iter().map(|c| c.key.len()).max().unwrap_or(0);
    let shown = |value: &str| {
        if value.is_empty() {
            "(none)".to_owned()
        } else {
            value.to_owned()
        }
    };
    let mut out = "Settings that change:\n".to_owned();
    for change in changes {
        let before = change.before.as_deref().map_or("(new)".to_owned(), shown);
        writeln!(
            out,
            "  {:<width$}  {before} → {}",
            change.key,
            shown(&change.after)
        )
        .expect("writing to a String");
    }
    out
}

pub fn event_line(event: &StackEvent) -> String {
    let mut line = format!(
        "{}  {:<28}  {:<34}  {}",
        event.timestamp, event.status, event.resource_type, event.logical_id
    );
    if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty()) {
        write!(line, "  {reason}").expect("writing to a String");
    }
    line
}

pub fn outputs_text(outputs: &[(String, String)]) -> String {
    let width = outputs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    outputs
        .iter()
        .map(|(key, value)| format!("  {key:<width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_reads_as_it_was_given() {
        let days = |d: u64| std::time::Duration::from_secs(d * 86_400);
        assert_eq!(length(days(400)), "400d");
        assert_eq!(length(std::time::Duration::from_secs(5_400)), "90m");
        assert_eq!(length(std::time::Duration::from_secs(61)), "1m 1s");
    }
    use crate::aws::stack::change_set::ChangeAction;
    use crate::aws::stack::fixtures::event;

    #[test]
    fn the_change_table_marks_actions_and_replacements() {
        let table = change_table(
            "live",
            &[
                ResourceChange {
                    action: ChangeAction::Add,
                    logical_id: "Bus".into(),
                    resource_type: "AWS::Events::EventBus".into(),
                    replacement: None,
                },
                ResourceChange {
                    action: ChangeAction::Modify,
                    logical_id: "RelayFunction".into(),
                    resource_type: "AWS::Lambda::Function".into(),
                    replacement: Some("True".into()),
                },
                ResourceChange {
                    action: ChangeAction::Remove,
                    logical_id: "Old".into(),
                    resource_type: "AWS::SNS::Topic".into(),
                    replacement: None,
                },
            ],
        );
        assert_eq!(
            table,
            "Changes to stack live:\n\
             \x20 + Add     Bus            AWS::Events::EventBus\n\
             \x20 * Modify  RelayFunction  AWS::Lambda::Function  (replacement)\n\
             \x20 - Delete  Old            AWS::SNS::Topic\n"
        );
    }

    #[test]
    fn event_lines_carry_the_reason_when_there_is_one() {
        let line = event_line(&event(
            "1",
            "RelayFunction",
            "CREATE_FAILED",
            Some("bad zip"),
        ));
        assert!(line.ends_with("RelayFunction  bad zip"), "{line}");
        assert!(event_line(&event("1", "X", "CREATE_COMPLETE", Some(""))).ends_with('X'));
    }
}
