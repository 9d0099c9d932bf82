//! The bridge's CloudFormation stack: finding it, change sets, waiting with events, and
//! outputs. The stack carries the tag `stripe-bridge:bridge = NAME`, which is how a
//! stack made by stripe-bridge is told from someone else's.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction as CfnAction, ChangeSetStatus, ChangeSetType, ExecutionStatus,
    Parameter, Stack, StackStatus, Tag,
};

use crate::report::{ChangeAction, ResourceChange, StackEvent};

pub const OWNER_TAG: &str = "stripe-bridge:bridge";

/// How long a deploy or remove waits for CloudFormation before giving up waiting (the
/// stack operation itself goes on).
const WAIT_LIMIT: Duration = Duration::from_secs(60 * 60);

/// What stripe-bridge needs to know of an existing stack.
#[derive(Debug, Clone)]
pub struct StackState {
    /// The stack's ARN: it still names the stack after a delete, when the name does not.
    pub id: String,
    pub status: StackStatus,
    pub outputs: Vec<(String, String)>,
    pub owner: Option<String>,
    /// When the stack was last created or updated, in Unix seconds.
    pub updated: Option<i64>,
}

impl StackState {
    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether CloudFormation is working on the stack, so that it will settle by itself.
    /// `REVIEW_IN_PROGRESS` is not: it is a stack whose first change set never ran (a
    /// deploy stopped before it), and it stays so until someone acts.
    pub fn in_progress(&self) -> bool {
        self.status.as_str().ends_with("_IN_PROGRESS") && !self.never_created()
    }

    /// A stack made by a change set that never ran: it holds nothing.
    pub fn never_created(&self) -> bool {
        self.status == StackStatus::ReviewInProgress
    }
}

/// The stack named `name`, or `None` if there is none.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<StackState>> {
    let answer = cfn.describe_stacks().stack_name(name).send().await;
    let stacks = match answer {
        Ok(output) => output.stacks.unwrap_or_default(),
        Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot look up stack {name}")));
        }
    };
    Ok(stacks.into_iter().next().and_then(state))
}

fn state(stack: Stack) -> Option<StackState> {
    let status = stack.stack_status?;
    if status == StackStatus::DeleteComplete {
        return None;
    }
    Some(StackState {
        updated: stack
            .last_updated_time
            .or(stack.creation_time)
            .map(|t| t.secs()),
        id: stack.stack_id.unwrap_or_default(),
        outputs: stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value?)))
            .collect(),
        owner: stack
            .tags
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.key() == Some(OWNER_TAG))
            .and_then(|t| t.value),
        status,
    })
}

/// The bridge's stack, which must exist and be stripe-bridge's.
pub async fn require(cfn: &Client, name: &str, region: &str) -> Result<StackState> {
    let state = describe(cfn, name).await?.with_context(|| {
        format!("no bridge {name} in {region}; run `stripe-bridge --name {name} deploy` first")
    })?;
    check_owner(&state, name, region)?;
    Ok(state)
}

/// Refuses to touch a stack that some other tool or person made.
pub fn check_owner(state: &StackState, name: &str, region: &str) -> Result<()> {
    match state.owner.as_deref() {
        Some(owner) if owner == name => Ok(()),
        _ => bail!(
            "stack {name} in {region} was not made by stripe-bridge (it has no {OWNER_TAG}={name} tag), \
             so stripe-bridge will not change it; choose another --name"
        ),
    }
}

/// A change set ready to run, or the news that there is nothing to change.
pub enum Prepared {
    Changes {
        change_set: String,
        changes: Vec<ResourceChange>,
    },
    NoChanges,
}

pub struct StackRequest<'a> {
    pub name: &'a str,
    pub template_body: String,
    pub parameters: Vec<(&'static str, String)>,
    pub create: bool,
}

/// Creates a change set and waits until CloudFormation has worked out its changes.
pub async fn prepare(cfn: &Client, request: StackRequest<'_>) -> Result<Prepared> {
    let change_set = format!("stripe-bridge-{}", unix_millis());
    let created = cfn
        .create_change_set()
        .stack_name(request.name)
        .change_set_name(&change_set)
        .change_set_type(if request.create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .template_body(request.template_body)
        .set_parameters(Some(
            request
                .parameters
                .into_iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ))
        .capabilities(Capability::CapabilityIam)
        .tags(Tag::builder().key(OWNER_TAG).value(request.name).build())
        .description("stripe-bridge deploy")
        .send()
        .await;
    if let Err(e) = &created
        && is_no_changes(e.message())
    {
        // moto refuses an empty change set at once; AWS makes a FAILED one (below).
        return Ok(Prepared::NoChanges);
    }
    created.with_context(|| format!("cannot create a change set for stack {}", request.name))?;

    let started = Instant::now();
    loop {
        let described = cfn
            .describe_change_set()
            .stack_name(request.name)
            .change_set_name(&change_set)
            .send()
            .await
            .context("cannot read the change set")?;
        match described.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                return Ok(Prepared::Changes {
                    changes: described
                        .changes()
                        .iter()
                        .filter_map(resource_change)
                        .collect(),
                    change_set,
                });
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = described.status_reason().unwrap_or("no reason given");
                if is_no_changes(Some(reason)) {
                    // Leave nothing behind: the empty change set goes.
                    let _ = cfn
                        .delete_change_set()
                        .stack_name(request.name)
                        .change_set_name(&change_set)
                        .send()
                        .await;
                    return Ok(Prepared::NoChanges);
                }
                bail!("CloudFormation refused the change set: {reason}");
            }
            _ => {}
        }
        pause(started).await?;
    }
}

fn is_no_changes(message: Option<&str>) -> bool {
    message.is_some_and(|m| {
        m.contains("No updates are to be performed") || m.contains("didn't contain changes")
    })
}

fn resource_change(change: &aws_sdk_cloudformation::types::Change) -> Option<ResourceChange> {
    let rc = change.resource_change()?;
    Some(ResourceChange {
        action: match rc.action() {
            Some(CfnAction::Add) => ChangeAction::Add,
            Some(CfnAction::Modify) => ChangeAction::Modify,
            Some(CfnAction::Remove) => ChangeAction::Remove,
            _ => ChangeAction::Other,
        },
        logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
        replacement: rc.replacement().map(|r| r.as_str().to_owned()),
    })
}

/// Deletes the change sets an interrupted deploy left waiting on the stack, so that only
/// the one about to be made can run.
pub async fn discard_pending_change_sets(cfn: &Client, name: &str) -> Result<usize> {
    let listed = cfn
        .list_change_sets()
        .stack_name(name)
        .send()
        .await
        .with_context(|| format!("cannot list the change sets of stack {name}"))?;
    let mut discarded = 0;
    for summary in listed.summaries() {
        let pending = summary.execution_status() == Some(&ExecutionStatus::Available)
            || summary.status() == Some(&ChangeSetStatus::Failed);
        let ours = summary
            .change_set_name()
            .is_some_and(|n| n.starts_with("stripe-bridge-"));
        if let (true, true, Some(id)) = (pending, ours, summary.change_set_id()) {
            cfn.delete_change_set()
                .change_set_name(id)
                .send()
                .await
                .context("cannot delete a change set left by an earlier deploy")?;
            discarded += 1;
        }
    }
    Ok(discarded)
}

/// Drops a change set that will not run, and a stack that only it had made.
pub async fn abandon(cfn: &Client, name: &str, change_set: &str, created: bool) -> Result<()> {
    cfn.delete_change_set()
        .stack_name(name)
        .change_set_name(change_set)
        .send()
        .await
        .context("cannot delete the change set")?;
    if created {
        // A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS.
        cfn.delete_stack()
            .stack_name(name)
            .send()
            .await
            .context("cannot delete the empty stack")?;
    }
    Ok(())
}

pub async fn execute(cfn: &Client, name: &str, change_set: &str) -> Result<()> {
    cfn.execute_change_set()
        .stack_name(name)
        .change_set_name(change_set)
        .send()
        .await
        .with_context(|| format!("cannot run the change set on stack {name}"))?;
    Ok(())
}

pub async fn delete(cfn: &Client, name: &str) -> Result<()> {
    cfn.delete_stack()
        .stack_name(name)
        .send()
        .await
        .with_context(|| format!("cannot delete stack {name}"))?;
    Ok(())
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
async fn pause(started: Instant) -> Result<()> {
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

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// Canned CloudFormation answers for tests that drive a real SDK client.
#[cfg(test)]
pub(crate) mod fixtures {
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::Output;

    use super::*;

    pub const ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/live/1";

    /// The bridge `live`'s stack, made by stripe-bridge, in `status`.
    pub fn stack(status: StackStatus) -> DescribeStacksOutput {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("live")
                    .stack_id(ARN)
                    .stack_status(status)
                    .creation_time(DateTime::from_secs(0))
                    .tags(Tag::builder().key(OWNER_TAG).value("live").build())
                    .outputs(
                        Output::builder()
                            .output_key("WebhookUrl")
                            .output_value("https://abc.execute-api.us-east-1.amazonaws.com/webhook")
                            .build(),
                    )
                    .build(),
            )
            .build()
    }
}

/// Failure paths the emulator cannot provoke, through a real SDK client with canned
/// answers: AWS's empty change set, a rollback, throttling.
#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::config::retry::RetryConfig;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent as CfnEvent};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use crate::report::first_failure;

    use super::fixtures::{ARN, stack};

    fn request() -> StackRequest<'static> {
        StackRequest {
            name: "live",
            template_body: "{}".into(),
            parameters: vec![("BridgeName", "live".into())],
            create: false,
        }
    }

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
    async fn awss_failed_empty_change_set_means_no_changes_and_is_cleaned_up() {
        let create = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().id("cs-1").build());
        let describe = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
                .build()
        });
        let delete = mock!(Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&create, &describe, &delete]
        );

        let prepared = prepare(&cfn, request()).await.unwrap();

        assert!(matches!(prepared, Prepared::NoChanges));
        assert_eq!(delete.num_calls(), 1, "the empty change set is left behind");
    }

    #[tokio::test]
    async fn a_change_set_refused_for_another_reason_is_an_error_with_that_reason() {
        let create = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().id("cs-1").build());
        let describe = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("Requires capabilities : [CAPABILITY_NAMED_IAM]")
                .build()
        });
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&create, &describe]
        );
        let error = prepare(&cfn, request()).await.err().unwrap().to_string();
        assert!(error.contains("CAPABILITY_NAMED_IAM"), "{error}");
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

    #[tokio::test]
    async fn throttling_is_retried_and_not_reported() {
        let throttled = r#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"#;
        let stacks = mock!(Client::describe_stacks)
            .sequence()
            .http_status(400, Some(throttled.into()))
            .times(2)
            .output(|| stack(StackStatus::UpdateComplete))
            .build();
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&stacks],
            |c| c.retry_config(RetryConfig::standard().with_max_attempts(3))
        );

        let state = describe(&cfn, "live").await.unwrap().unwrap();

        assert_eq!(state.status, StackStatus::UpdateComplete);
        assert_eq!(stacks.num_calls(), 3);
    }

    #[test]
    fn a_stack_without_our_tag_is_refused() {
        let mut state = StackState {
            id: ARN.into(),
            status: StackStatus::CreateComplete,
            outputs: vec![],
            owner: None,
            updated: None,
        };
        let error = check_owner(&state, "live", "eu-west-1")
            .unwrap_err()
            .to_string();
        assert!(error.contains("was not made by stripe-bridge"), "{error}");
        state.owner = Some("other".into());
        assert!(check_owner(&state, "live", "eu-west-1").is_err());
        state.owner = Some("live".into());
        assert!(check_owner(&state, "live", "eu-west-1").is_ok());
    }
}
