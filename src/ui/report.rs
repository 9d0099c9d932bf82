//! Pure formatters for what a deploy shows: the change-set table, one line per stack
//! event, the first failure, and the outputs.

use std::fmt::Write as _;

/// What a change set does to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub action: ChangeAction,
    pub logical_id: String,
    pub resource_type: String,
    /// CloudFormation's `Replacement`: `True`, `False` or `Conditional`; for modifications.
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Add,
    Modify,
    Remove,
    Other,
}

impl ChangeAction {
    fn mark(self) -> &'static str {
        match self {
            Self::Add => "+ Add",
            Self::Modify => "* Modify",
            Self::Remove => "- Delete",
            Self::Other => "? Other",
        }
    }
}

/// One stack event, as the deploy prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub event_id: String,
    /// RFC 3339.
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl StackEvent {
    pub fn failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
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

/// The first failed resource of a deploy, with its type and reason: later failures are
/// usually its consequences ("Resource creation cancelled").
pub fn first_failure(events_oldest_first: &[StackEvent], stack: &str) -> Option<String> {
    let failed = events_oldest_first
        .iter()
        .find(|e| e.failed() && e.logical_id != stack)
        .or_else(|| events_oldest_first.iter().find(|e| e.failed()))?;
    Some(format!(
        "{} ({}) failed: {}",
        failed.logical_id,
        failed.resource_type,
        failed.reason.as_deref().unwrap_or("no reason given")
    ))
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

    fn event(id: &str, logical: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            event_id: id.into(),
            timestamp: "2026-11-29T03:00:00Z".into(),
            logical_id: logical.into(),
            resource_type: "AWS::Lambda::Function".into(),
            status: status.into(),
            reason: reason.map(Into::into),
        }
    }

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
    fn the_first_resource_failure_is_the_one_reported() {
        let events = [
            event("1", "live", "UPDATE_IN_PROGRESS", None),
            event(
                "2",
                "RelayRole",
                "UPDATE_FAILED",
                Some("AccessDenied: iam:PutRolePolicy"),
            ),
            event(
                "3",
                "RelayFunction",
                "UPDATE_FAILED",
                Some("Resource update cancelled"),
            ),
            event(
                "4",
                "live",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed"),
            ),
        ];
        assert_eq!(
            first_failure(&events, "live").unwrap(),
            "RelayRole (AWS::Lambda::Function) failed: AccessDenied: iam:PutRolePolicy"
        );
        assert_eq!(first_failure(&events[..1], "live"), None);
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
