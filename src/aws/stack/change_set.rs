//! Change sets: made, read into the changes they would make, run, or dropped. A change
//! set is how a deploy shows what it will do before doing it.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction as CfnAction, ChangeSetStatus, ChangeSetType, ExecutionStatus,
    Parameter, Tag,
};

use super::wait::pause;
use crate::aws::OWNER_TAG;

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
    /// The change-set table's mark: `+ Add`, `* Modify`, `- Delete`.
    pub fn mark(self) -> &'static str {
        match self {
            Self::Add => "+ Add",
            Self::Modify => "* Modify",
            Self::Remove => "- Delete",
            Self::Other => "? Other",
        }
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
    /// As `ParameterPlan::to_parameters` gives them.
    pub parameters: Vec<Parameter>,
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
        .set_parameters(Some(request.parameters))
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
    let created = created
        .with_context(|| format!("cannot create a change set for stack {}", request.name))?;
    // From here on the change set is named by its ARN: unique everywhere, where its name
    // is unique only within its stack (and moto finds change sets by name alone, so two
    // deploys in one millisecond could run each other's).
    let change_set = created.id.unwrap_or(change_set);

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
    let mut summaries = cfn
        .list_change_sets()
        .stack_name(name)
        .into_paginator()
        .items()
        .send();
    let mut discarded = 0;
    while let Some(summary) = summaries.next().await {
        let summary =
            summary.with_context(|| format!("cannot list the change sets of stack {name}"))?;
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

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn request() -> StackRequest<'static> {
        StackRequest {
            name: "live",
            template_body: "{}".into(),
            parameters: vec![
                Parameter::builder()
                    .parameter_key("BridgeName")
                    .parameter_value("live")
                    .build(),
            ],
            create: false,
        }
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
}
