//! What lets a rule deliver to a Lambda function, an SQS queue or an SNS topic: a Lambda
//! permission, or a statement merged into the queue's or topic's policy, each scoped to
//! the rule's ARN. Taking one back leaves every other permission and statement alone.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

use super::naming::statement_id;
use serde_json::Value;

use super::policy::{
    default_topic_policy, has_statement, holds_statement, merge_statement, policy_statement,
    without_statement,
};
use super::policy_edit::{WholePolicy, edit};
use super::target::{Target, TargetKind};
use crate::aws::errors::found;

/// The services whose targets take a resource permission.
pub struct Grants {
    lambda: aws_sdk_lambda::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

impl Grants {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            lambda: aws_sdk_lambda::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
        }
    }

    /// Whether a Lambda, SQS or SNS target exists (`None` for other kinds).
    pub async fn exists(&self, target: &Target) -> Result<Option<bool>> {
        let what = &target.arn;
        Ok(Some(match &target.kind {
            // With its qualifier: an alias or version that does not exist is no target.
            TargetKind::Lambda {
                function,
                qualifier,
            } => found(
                self.lambda
                    .get_function()
                    .function_name(function)
                    .set_qualifier(qualifier.clone())
                    .send()
                    .await,
                |e| e.is_resource_not_found_exception(),
                what,
            )?
            .is_some(),
            TargetKind::Sqs { .. } => self.find_queue_url(target).await?.is_some(),
            TargetKind::Sns => self.topic_attributes(target).await?.is_some(),
            _ => return Ok(None),
        }))
    }

    /// Whether `target` holds the grant `grant` gives the rule: the Lambda permission
    /// with the rule's statement id, or the queue's or topic's policy statement (`None`
    /// for kinds a delivery role serves, and for a target that is not there).
    pub async fn holds(&self, rule: &str, rule_arn: &str, target: &Target) -> Result<Option<bool>> {
        let sid = statement_id(rule);
        Ok(match &target.kind {
            TargetKind::Lambda {
                function,
                qualifier,
            } => {
                let answer = self
                    .lambda
                    .get_policy()
                    .function_name(function)
                    .set_qualifier(qualifier.clone())
                    .send()
                    .await;
                // A function without any resource policy answers ResourceNotFound.
                match found(answer, |e| e.is_resource_not_found_exception(), &target.arn)? {
                    Some(answer) => Some(answer.policy().is_some_and(|p| has_statement(p, &sid))),
                    None => Some(false),
                }
            }
            TargetKind::Sqs { .. } => {
                let Some(url) = self.find_queue_url(target).await? else {
                    return Ok(None);
                };
                let policy = self
                    .sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::Policy)
                    .send()
                    .await
                    .with_context(|| format!("cannot read the policy of queue {url}"))?
                    .attributes
                    .and_then(|mut a| a.remove(&QueueAttributeName::Policy));
                let statement = policy_statement(rule, rule_arn, &target.arn, "sqs:SendMessage");
                Some(holds_statement(policy.as_deref(), &statement))
            }
            TargetKind::Sns => {
                let Some(mut attributes) = self.topic_attributes(target).await? else {
                    return Ok(None);
                };
                let statement = policy_statement(rule, rule_arn, &target.arn, "sns:Publish");
                Some(holds_statement(
                    attributes.remove("Policy").as_deref(),
                    &statement,
                ))
            }
            TargetKind::StateMachine
            | TargetKind::EventBus { .. }
            | TargetKind::KinesisStream { .. } => None,
        })
    }

    /// The KMS key a queue or topic is encrypted with (`KmsMasterKeyId`: a key id, ARN or
    /// alias), if any; `None` for other kinds and for SQS-managed encryption.
    pub async fn encryption_key(&self, target: &Target) -> Result<Option<String>> {
        let key = match &target.kind {
            // A target that is not there has no key; `Rules::apply` says it is missing.
            TargetKind::Sqs { .. } => {
                let Some(url) = self.find_queue_url(target).await? else {
                    return Ok(None);
                };
                self.sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::KmsMasterKeyId)
                    .send()
                    .await
                    .with_context(|| format!("cannot read the encryption of queue {url}"))?
                    .attributes
                    .and_then(|mut a| a.remove(&QueueAttributeName::KmsMasterKeyId))
            }
            TargetKind::Sns => self
                .topic_attributes(target)
                .await?
                .and_then(|mut a| a.remove("KmsMasterKeyId")),
            _ => None,
        };
        Ok(key.filter(|k| !k.trim().is_empty()))
    }

    /// A topic's attributes, or `None` if there is no such topic.
    async fn topic_attributes(
        &self,
        target: &Target,
    ) -> Result<Option<std::collections::HashMap<String, String>>> {
        let answer = self
            .sns
            .get_topic_attributes()
            .topic_arn(&target.arn)
            .send()
            .await;
        Ok(found(answer, |e| e.is_not_found_exception(), &target.arn)?
            .map(|answer| answer.attributes.unwrap_or_default()))
    }

    /// Lets the rule deliver to `target`.
    pub async fn grant(&self, rule: &str, rule_arn: &str, target: &Target) -> Result<()> {
        let sid = statement_id(rule);
        match &target.kind {
            TargetKind::Lambda {
                function,
                qualifier,
            } => {
                // Replace rather than add twice: the statement id is the rule's.
                self.remove_lambda_permission(function, qualifier.as_deref(), &sid)
                    .await;
                // An alias or version has a resource policy of its own, and EventBridge
                // invokes exactly the ARN it was given: the grant goes on that qualifier
                // ("AddPermission": Qualifier, Lambda API Reference; "Using resource-based
                // policies for Amazon EventBridge": Lambda permissions).
                self.lambda
                    .add_permission()
                    .function_name(function)
                    .set_qualifier(qualifier.clone())
                    .statement_id(&sid)
                    .action("lambda:InvokeFunction")
                    .principal("events.amazonaws.com")
                    .source_arn(rule_arn)
                    .send()
                    .await
                    .with_context(|| format!("cannot let rule {rule} invoke {}", target.arn))?;
            }
            TargetKind::Sqs { .. } => {
                let queue = QueuePolicy {
                    sqs: &self.sqs,
                    url: self.queue_url(target).await?,
                };
                let statement = policy_statement(rule, rule_arn, &target.arn, "sqs:SendMessage");
                add_statement(&queue, statement).await?;
            }
            TargetKind::Sns => {
                let topic = TopicPolicy {
                    sns: &self.sns,
                    arn: &target.arn,
                };
                let statement = policy_statement(rule, rule_arn, &target.arn, "sns:Publish");
                add_statement(&topic, statement).await?;
            }
            // A delivery role grants these (see `delivery_role.rs`).
            TargetKind::StateMachine
            | TargetKind::EventBus { .. }
            | TargetKind::KinesisStream { .. } => {}
        }
        Ok(())
    }

    /// Takes back what `grant` gave, leaving every other statement alone.
    pub async fn revoke(&self, rule: &str, target: &Target) -> Result<()> {
        let sid = statement_id(rule);
        match &target.kind {
            TargetKind::Lambda {
                function,
                qualifier,
            } => {
                self.remove_lambda_permission(function, qualifier.as_deref(), &sid)
                    .await;
            }
            TargetKind::Sqs { .. } => {
                let Some(url) = self.find_queue_url(target).await? else {
                    return Ok(());
                };
                let queue = QueuePolicy {
                    sqs: &self.sqs,
                    url,
                };
                // A queue without a policy is written an empty one.
                remove_statement(&queue, &sid, String::new).await?;
            }
            TargetKind::Sns => {
                let topic = TopicPolicy {
                    sns: &self.sns,
                    arn: &target.arn,
                };
                // One read tells both: a topic stripe-bridge cannot read was never given
                // anything by it, and one without the rule's statement has nothing to
                // take back.
                if let Ok(Some(policy)) = topic.read().await
                    && has_statement(&policy, &sid)
                {
                    remove_statement(&topic, &sid, || default_topic_policy(&target.arn)).await?;
                }
            }
            // Their delivery role goes with the rule.
            TargetKind::StateMachine
            | TargetKind::EventBus { .. }
            | TargetKind::KinesisStream { .. } => {}
        }
        Ok(())
    }

    /// Takes back the permission with statement id `sid` on `function` (on its alias or
    /// version `qualifier`, if given), if it is there.
    async fn remove_lambda_permission(&self, function: &str, qualifier: Option<&str>, sid: &str) {
        // Absent is the state wanted, so "not found" is no error.
        let _ = self
            .lambda
            .remove_permission()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .statement_id(sid)
            .send()
            .await;
    }

    /// The queue's URL, or `None` if there is no such queue.
    async fn find_queue_url(&self, target: &Target) -> Result<Option<String>> {
        let TargetKind::Sqs { queue } = &target.kind else {
            bail!("{} is not a queue", target.arn)
        };
        let answer = self
            .sqs
            .get_queue_url()
            .queue_name(queue)
            .queue_owner_aws_account_id(&target.account)
            .send()
            .await;
        Ok(found(answer, |e| e.is_queue_does_not_exist(), &target.arn)?
            .and_then(|output| output.queue_url))
    }

    async fn queue_url(&self, target: &Target) -> Result<String> {
        self.find_queue_url(target)
            .await?
            .with_context(|| format!("queue {} does not exist", target.arn))
    }
}

/// Puts `statement` into a policy, replacing its earlier form, unless it is there as is.
async fn add_statement<P: WholePolicy + Sync>(policy: &P, statement: Value) -> Result<()> {
    edit(
        policy,
        |current| holds_statement(current, &statement),
        |current| merge_statement(current, statement.clone()).map(Some),
    )
    .await
}

/// Takes the statement `sid` out of a policy, if it is there; `empty` is what a policy
/// with nothing else left becomes.
async fn remove_statement<P: WholePolicy + Sync>(
    policy: &P,
    sid: &str,
    empty: impl Fn() -> String,
) -> Result<()> {
    edit(
        policy,
        |current| !current.is_some_and(|p| has_statement(p, sid)),
        |current| {
            let rest = without_statement(current.unwrap_or_default(), sid)?;
            Ok(Some(rest.unwrap_or_else(&empty)))
        },
    )
    .await
}

/// A queue's policy, the `Policy` attribute.
struct QueuePolicy<'a> {
    sqs: &'a aws_sdk_sqs::Client,
    url: String,
}

impl WholePolicy for QueuePolicy<'_> {
    fn describe(&self) -> String {
        format!("queue {}", self.url)
    }

    async fn read(&self) -> Result<Option<String>> {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::Policy)
            .send()
            .await
            .with_context(|| format!("cannot read the policy of queue {}", self.url))?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::Policy))
            .cloned())
    }

    async fn write(&self, policy: String) -> Result<()> {
        self.sqs
            .set_queue_attributes()
            .queue_url(&self.url)
            .attributes(QueueAttributeName::Policy, policy)
            .send()
            .await
            .with_context(|| format!("cannot update the policy of queue {}", self.url))?;
        Ok(())
    }
}

/// A topic's policy, the `Policy` attribute.
struct TopicPolicy<'a> {
    sns: &'a aws_sdk_sns::Client,
    arn: &'a str,
}

impl WholePolicy for TopicPolicy<'_> {
    fn describe(&self) -> String {
        format!("topic {}", self.arn)
    }

    async fn read(&self) -> Result<Option<String>> {
        let attributes = self
            .sns
            .get_topic_attributes()
            .topic_arn(self.arn)
            .send()
            .await
            .with_context(|| format!("cannot read the policy of {}", self.arn))?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get("Policy"))
            .cloned())
    }

    async fn write(&self, policy: String) -> Result<()> {
        self.sns
            .set_topic_attributes()
            .topic_arn(self.arn)
            .attribute_name("Policy")
            .attribute_value(policy)
            .send()
            .await
            .with_context(|| format!("cannot update the policy of {}", self.arn))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_config::BehaviorVersion;
    use aws_sdk_lambda::operation::add_permission::AddPermissionOutput;
    use aws_sdk_lambda::operation::remove_permission::RemovePermissionOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    /// The emulator keeps one policy per function, whatever the qualifier, so the exact
    /// requests are checked here: both name the alias.
    #[tokio::test]
    async fn an_alias_target_is_granted_and_taken_back_on_the_alias() {
        let on_alias = |function: Option<&str>, qualifier: Option<&str>| {
            function == Some("billing") && qualifier == Some("live")
        };
        let add = mock!(aws_sdk_lambda::Client::add_permission)
            .match_requests(move |r| on_alias(r.function_name(), r.qualifier()))
            .then_output(|| AddPermissionOutput::builder().build());
        let remove = mock!(aws_sdk_lambda::Client::remove_permission)
            .match_requests(move |r| on_alias(r.function_name(), r.qualifier()))
            .then_output(|| RemovePermissionOutput::builder().build());
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let grants = Grants {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&add, &remove]),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
        };
        let target = Target::parse(
            "arn:aws:lambda:us-east-1:123456789012:function:billing:live",
            "us-east-1",
        )
        .unwrap();
        let rule = "arn:aws:events:us-east-1:123456789012:rule/shop/shop-invoice-paid";
        grants
            .grant("shop-invoice-paid", rule, &target)
            .await
            .unwrap();
        grants.revoke("shop-invoice-paid", &target).await.unwrap();
        assert_eq!(add.num_calls(), 1);
        // Once to replace any earlier grant, once to take it back.
        assert_eq!(remove.num_calls(), 2);
    }
}
