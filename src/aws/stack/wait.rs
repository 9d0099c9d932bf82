//! Waiting for CloudFormation: following a stack operation to its end, one line per new
//! event, and naming the first failure when it rolls back.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::primitives::DateTime;

use super::{StackState, describe};

/// How long a deploy or remove waits for CloudFormation before giving up waiting (the
/// stack operation itself goes on).
const WAIT_LIMIT: Duration = Duration::from_secs(60 * 60);

/// One stack event.
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

/// Waits until the stack `id` (its ARN) is no longer in progress, reporting each new
/// event once. Returns the final state (`None`: the stack is gone) and every event seen,
/// oldest first.
pub async fn wait(
    cfn: &Client,
    id: &str,
    since: DateTime,
    mut on_event: impl FnMut(&StackEvent),
) -> Result<(Option<StackState>, Vec<StackEvent>)> {
    let started = Instant::now();
    let mut seen = HashSet::new();
    let mut events = Vec::new();
    loop {
        let mut fresh: Vec<StackEvent> = recent_events(cfn, id, since)
            .await?
            .into_iter()
            .filter(|e| seen.insert(e.event_id.clone()))
            .collect();
        fresh.reverse();
        for event in &fresh {
            on_event(event);
        }
        events.extend(fresh);
        let current = describe(cfn, id).await?;
        match current {
            Some(state) if state.in_progress() => pause(started).await?,
            other => return Ok((other, events)),
        }
    }
}

/// Events newer than `since`, newest first (CloudFormation's order).
async fn recent_events(cfn: &Client, stack: &str, since: DateTime) -> Result<Vec<StackEvent>> {
    let output = cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .context("cannot read the stack's events")?;
    Ok(output
        .stack_events()
        .iter()
        .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= since.secs()))
        .map(|e| StackEvent {
            event_id: e.event_id().unwrap_or_default().to_owned(),
            timestamp: e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
        })
        .collect())
}

/// Waits between polls: briefly at first (an emulator, or a quick change), then at
/// CloudFormation's own pace.
pub(super) async fn pause(started: Instant) -> Result<()> {
    let elapsed = started.elapsed();
    if elapsed > WAIT_LIMIT {
        bail!(
            "CloudFormation is still working after {} minutes; run the command again to keep waiting",
            WAIT_LIMIT.as_secs() / 60
        );
    }
    let interval = if elapsed < Duration::from_secs(5) {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(3)
    };
    tokio::time::sleep(interval).await;
    Ok(())
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

/// A rollback, which the emulator cannot provoke, through a real SDK client with canned
/// answers.
#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent as CfnEvent, StackStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use crate::aws::stack::fixtures::{ARN, event as ours, stack};

    fn event(
        id: &str,
        at: i64,
        logical: &str,
        kind: &str,
        status: ResourceStatus,
        reason: &str,
    ) -> CfnEvent {
        CfnEvent::builder()
            .stack_id(ARN)
            .stack_name("live")
            .event_id(id)
            .timestamp(DateTime::from_secs(at))
            .logical_resource_id(logical)
            .resource_type(kind)
            .resource_status(status)
            .resource_status_reason(reason)
            .build()
    }

    #[tokio::test]
    async fn a_rollback_is_followed_to_its_end_and_its_first_failure_named() {
        let first_poll = vec![
            event(
                "3",
                12,
                "RelayRole",
                "AWS::IAM::Role",
                ResourceStatus::UpdateFailed,
                "AccessDenied: iam:PutRolePolicy",
            ),
            event(
                "2",
                11,
                "RelayRole",
                "AWS::IAM::Role",
                ResourceStatus::UpdateInProgress,
                "",
            ),
            event(
                "1",
                10,
                "live",
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateInProgress,
                "User Initiated",
            ),
            event(
                "0",
                5,
                "live",
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateComplete,
                "an older deploy",
            ),
        ];
        let mut second_poll = vec![
            event(
                "5",
                14,
                "live",
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateRollbackComplete,
                "",
            ),
            event(
                "4",
                13,
                "RelayFunction",
                "AWS::Lambda::Function",
                ResourceStatus::UpdateFailed,
                "Resource update cancelled",
            ),
        ];
        second_poll.extend(first_poll.clone());
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(move || {
                DescribeStackEventsOutput::builder()
                    .set_stack_events(Some(first_poll.clone()))
                    .build()
            })
            .output(move || {
                DescribeStackEventsOutput::builder()
                    .set_stack_events(Some(second_poll.clone()))
                    .build()
            })
            .build();
        let stacks = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateRollbackInProgress))
            .output(|| stack(StackStatus::UpdateRollbackComplete))
            .build();
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&events, &stacks]
        );

        let mut printed = Vec::new();
        let (state, seen) = wait(&cfn, ARN, DateTime::from_secs(10), |e| {
            printed.push(e.event_id.clone())
        })
        .await
        .unwrap();

        assert_eq!(state.unwrap().status, StackStatus::UpdateRollbackComplete);
        assert_eq!(
            printed,
            ["1", "2", "3", "4", "5"],
            "each new event once, oldest first"
        );
        assert_eq!(
            first_failure(&seen, "live").unwrap(),
            "RelayRole (AWS::IAM::Role) failed: AccessDenied: iam:PutRolePolicy"
        );
    }

    #[test]
    fn the_first_resource_failure_is_the_one_reported() {
        let events = [
            ours("1", "live", "UPDATE_IN_PROGRESS", None),
            ours(
                "2",
                "RelayRole",
                "UPDATE_FAILED",
                Some("AccessDenied: iam:PutRolePolicy"),
            ),
            ours(
                "3",
                "RelayFunction",
                "UPDATE_FAILED",
                Some("Resource update cancelled"),
            ),
            ours(
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
}
