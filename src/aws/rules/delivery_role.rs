//! The role EventBridge assumes to deliver to a state machine, an event bus or a Kinesis
//! stream: one per rule, trusted only for that rule and allowed one action on its one
//! target, so that removing a rule removes exactly its own.

use anyhow::{Context, Result};
use aws_config::SdkConfig;

use super::naming::delivery_role_name;
use super::policy::{delivery_permissions, delivery_trust_policy};
use super::target::{Target, TargetKind};
use crate::aws::OWNER_TAG;
use crate::aws::errors::found;

/// The delivery roles, and the services whose targets need one.
pub struct DeliveryRoles {
    iam: aws_sdk_iam::Client,
    sfn: aws_sdk_sfn::Client,
    kinesis: aws_sdk_kinesis::Client,
    events: aws_sdk_eventbridge::Client,
}

impl DeliveryRoles {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            iam: aws_sdk_iam::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
        }
    }

    /// Whether a state machine, bus or stream target exists (`None` for other kinds).
    pub async fn target_exists(&self, target: &Target) -> Result<Option<bool>> {
        let what = &target.arn;
        Ok(Some(match &target.kind {
            TargetKind::StateMachine => found(
                self.sfn
                    .describe_state_machine()
                    .state_machine_arn(&target.arn)
                    .send()
                    .await,
                |e| e.is_state_machine_does_not_exist(),
                what,
            )?
            .is_some(),
            TargetKind::EventBus { name } => found(
                self.events.describe_event_bus().name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                what,
            )?
            .is_some(),
            TargetKind::KinesisStream { .. } => found(
                self.kinesis
                    .describe_stream_summary()
                    .stream_arn(&target.arn)
                    .send()
                    .await,
                |e| e.is_resource_not_found_exception(),
                what,
            )?
            .is_some(),
            _ => return Ok(None),
        }))
    }

    /// Makes (or brings up to date) the role EventBridge assumes to deliver `rule`'s
    /// events to `target`: trusted only for this rule, allowed only `action` on `target`.
    pub async fn ensure(
        &self,
        bridge: &str,
        rule: &str,
        rule_arn: &str,
        target: &Target,
        action: &str,
    ) -> Result<String> {
        let name = delivery_role_name(bridge, rule);
        let trust = delivery_trust_policy(rule_arn).to_string();
        let existing = found(
            self.iam.get_role().role_name(&name).send().await,
            |e| e.is_no_such_entity_exception(),
            &format!("the delivery role {name}"),
        )?;
        let arn = match existing {
            Some(found) => {
                self.iam
                    .update_assume_role_policy()
                    .role_name(&name)
                    .policy_document(&trust)
                    .send()
                    .await
                    .with_context(|| format!("cannot update the delivery role {name}"))?;
                found.role.map(|r| r.arn).unwrap_or_default()
            }
            None => self
                .iam
                .create_role()
                .role_name(&name)
                .assume_role_policy_document(&trust)
                .description(format!(
                    "stripe-bridge {bridge}: EventBridge delivers rule {rule} with it"
                ))
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key(OWNER_TAG)
                        .value(bridge)
                        .build()?,
                )
                .send()
                .await
                .with_context(|| {
                    format!(
                        "cannot create the delivery role {name}; pass --role-arn to use your own"
                    )
                })?
                .role
                .map(|r| r.arn)
                .context("IAM returned no role")?,
        };
        self.iam
            .put_role_policy()
            .role_name(&name)
            .policy_name("delivery")
            .policy_document(delivery_permissions(action, &target.arn).to_string())
            .send()
            .await
            .with_context(|| format!("cannot set what the delivery role {name} may do"))?;
        Ok(arn)
    }

    /// Refuses a `--role-arn` that names no role these credentials can see.
    pub async fn check_role(&self, role_arn: &str) -> Result<()> {
        let name = super::target::role_name(role_arn)?;
        let role = found(
            self.iam.get_role().role_name(name).send().await,
            |e| e.is_no_such_entity_exception(),
            &format!("the role {role_arn}"),
        )?;
        match role {
            Some(_) => Ok(()),
            None => Err(crate::hint::hinted(
                format!("the role {role_arn} does not exist"),
                "create it first, or leave out --role-arn and add-rule makes one for the rule",
            )),
        }
    }

    /// Whether `role_arn` is the role made for `rule` (and not the user's own).
    pub fn is_ours(bridge: &str, rule: &str, role_arn: &str) -> bool {
        role_arn.ends_with(&format!("/{}", delivery_role_name(bridge, rule)))
    }

    pub async fn delete(&self, bridge: &str, rule: &str) -> Result<()> {
        let name = delivery_role_name(bridge, rule);
        let _ = self
            .iam
            .delete_role_policy()
            .role_name(&name)
            .policy_name("delivery")
            .send()
            .await;
        self.iam
            .delete_role()
            .role_name(&name)
            .send()
            .await
            .with_context(|| format!("cannot delete the delivery role {name}"))?;
        Ok(())
    }
}
