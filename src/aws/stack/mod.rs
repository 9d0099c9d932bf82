//! The bridge's CloudFormation stack: its state (this file), its change sets
//! (`change_set.rs`) and waiting for it with its events (`wait.rs`). The stack carries
//! the tag `stripe-bridge:bridge = NAME`, which is how a stack made by stripe-bridge is
//! told from someone else's.

pub mod change_set;
pub mod parameters;
pub mod wait;

use anyhow::{Context, Result};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Stack, StackStatus};

pub use change_set::{
    Prepared, ResourceChange, StackRequest, abandon, discard_pending_change_sets, execute, prepare,
};
pub use wait::{StackEvent, first_failure, wait};

use crate::aws::OWNER_TAG;
use crate::hint::hinted;

/// What stripe-bridge needs to know of an existing stack.
#[derive(Debug, Clone)]
pub struct StackState {
    /// The stack's ARN: it still names the stack after a delete, when the name does not.
    pub id: String,
    pub status: StackStatus,
    pub outputs: Vec<(String, String)>,
    /// The parameters the stack was last deployed with.
    pub parameters: Vec<(String, String)>,
    pub owner: Option<String>,
    /// When the stack was last created or updated, in Unix seconds.
    pub updated: Option<i64>,
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl StackState {
    pub fn output(&self, key: &str) -> Option<&str> {
        lookup(&self.outputs, key)
    }

    pub fn parameter(&self, key: &str) -> Option<&str> {
        lookup(&self.parameters, key)
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
        parameters: stack
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.parameter_key?, p.parameter_value.unwrap_or_default())))
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
    let state = describe(cfn, name).await?.ok_or_else(|| {
        hinted(
            format!("no bridge {name} in {region}"),
            format!("run `stripe-bridge --name {name} deploy` first"),
        )
    })?;
    check_owner(&state, name, region)?;
    Ok(state)
}

/// Refuses to touch a stack that some other tool or person made.
pub fn check_owner(state: &StackState, name: &str, region: &str) -> Result<()> {
    match state.owner.as_deref() {
        Some(owner) if owner == name => Ok(()),
        _ => Err(hinted(
            format!(
                "stack {name} in {region} was not made by stripe-bridge (it has no {OWNER_TAG}={name} tag), \
                 so stripe-bridge will not change it"
            ),
            "choose another --name",
        )),
    }
}

pub async fn delete(cfn: &Client, name: &str) -> Result<()> {
    cfn.delete_stack()
        .stack_name(name)
        .send()
        .await
        .with_context(|| format!("cannot delete stack {name}"))?;
    Ok(())
}

/// Canned CloudFormation answers for tests that drive a real SDK client.
#[cfg(test)]
pub(crate) mod fixtures {
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::primitives::DateTime;
    use aws_sdk_cloudformation::types::{Output, Tag};

    use super::*;

    pub const ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/live/1";

    /// A Lambda function's stack event, as a deploy reports it.
    pub fn event(id: &str, logical: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            event_id: id.into(),
            timestamp: "2026-11-29T03:00:00Z".into(),
            logical_id: logical.into(),
            resource_type: "AWS::Lambda::Function".into(),
            status: status.into(),
            reason: reason.map(Into::into),
        }
    }

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

/// Throttling and ownership, through a real SDK client with canned answers.
#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::config::retry::RetryConfig;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::fixtures::{ARN, stack};
    use super::*;

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
            parameters: vec![],
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
