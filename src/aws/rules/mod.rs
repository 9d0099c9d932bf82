//! The bridge's routing rules: EventBridge rules on the bridge's bus, made by direct API
//! calls (not by the stack) and tagged `stripe-bridge:bridge = NAME`, each with one
//! target and the permission that lets EventBridge deliver to it.
//!
//! Why not in the stack: the stack is rendered afresh on every `deploy`, so rules there
//! would have to be remembered somewhere to survive it; rules beside the stack are never
//! touched by `deploy`, and `remove` finds them by their tag and deletes them (with their
//! permissions) before the stack, whose bus cannot go while rules are on it.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::{DeadLetterConfig, RetryPolicy, Tag, Target as EbTarget};
use serde_json::Value;

use crate::rule_target::{
    Target, TargetKind, delivery_permissions, delivery_trust_policy, merge_statement,
    policy_statement, statement_id, without_statement,
};
use crate::stack::OWNER_TAG;

const TARGET_ID: &str = "stripe-bridge-target";

pub struct Rules {
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    lambda: aws_sdk_lambda::Client,
    iam: aws_sdk_iam::Client,
    sfn: aws_sdk_sfn::Client,
    kinesis: aws_sdk_kinesis::Client,
    pub bus: String,
    pub bridge: String,
}

/// What `add-rule` asks for.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub name: String,
    pub pattern: Value,
    pub target: Target,
    pub dead_letter_queue: Option<Target>,
    pub max_retries: Option<i32>,
    pub max_age_seconds: Option<i32>,
    /// For targets that need a delivery role: the user's, instead of one made for the rule.
    pub role_arn: Option<String>,
}

/// A rule as `list-rules` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    pub name: String,
    pub pattern: String,
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Unchanged,
}

impl Rules {
    pub fn new(sdk: &SdkConfig, bus: &str, bridge: &str) -> Self {
        Self {
            events: aws_sdk_eventbridge::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            bus: bus.to_owned(),
            bridge: bridge.to_owned(),
        }
    }

    /// Makes the rule, or brings it to `spec`; nothing changes if it is already so.
    pub async fn apply(&self, spec: &RuleSpec) -> Result<Applied> {
        self.check_exists(&spec.target).await?;
        if let Some(dlq) = &spec.dead_letter_queue {
            if !matches!(dlq.kind, TargetKind::Sqs { .. }) {
                bail!("--dlq must be an SQS queue ARN, not `{}`", dlq.arn);
            }
            self.check_exists(dlq).await?;
        }
        let pattern = spec.pattern.to_string();
        let existing = self.find(&spec.name).await?;
        if let Some(info) = &existing {
            let same_pattern =
                serde_json::from_str::<Value>(&info.pattern).ok() == Some(spec.pattern.clone());
            if same_pattern
                && info.targets == [spec.target.arn.clone()]
                && self.same_delivery(spec).await?
            {
                return Ok(Applied::Unchanged);
            }
            // What the rule delivered to before loses what it was given for this rule.
            self.revoke_all(&spec.name).await?;
        }
        let rule_arn = self
            .events
            .put_rule()
            .name(&spec.name)
            .event_bus_name(&self.bus)
            .event_pattern(&pattern)
            .description(format!(
                "stripe-bridge {}: Stripe events to {}",
                self.bridge, spec.target.arn
            ))
            .tags(Tag::builder().key(OWNER_TAG).value(&self.bridge).build()?)
            .send()
            .await
            .with_context(|| format!("cannot create rule {} on bus {}", spec.name, self.bus))?
            .rule_arn
            .context("EventBridge did not return the rule's ARN")?;
        self.grant(&spec.name, &rule_arn, &spec.target).await?;
        if let Some(dlq) = &spec.dead_letter_queue {
            self.grant(&spec.name, &rule_arn, dlq).await?;
        }
        let mut target = EbTarget::builder().id(TARGET_ID).arn(&spec.target.arn);
        if let Some(action) = spec.target.kind.role_action() {
            let role = match &spec.role_arn {
                Some(role) => role.clone(),
                None => {
                    self.delivery_role(&spec.name, &rule_arn, &spec.target, action)
                        .await?
                }
            };
            target = target.role_arn(role);
        }
        if matches!(spec.target.kind, TargetKind::KinesisStream { .. }) {
            // One event id, one shard: a consumer sees Stripe's retries of an event in order.
            target = target.kinesis_parameters(
                aws_sdk_eventbridge::types::KinesisParameters::builder()
                    .partition_key_path("$.detail.id")
                    .build()?,
            );
        }
        if let Some(dlq) = &spec.dead_letter_queue {
            target = target.dead_letter_config(DeadLetterConfig::builder().arn(&dlq.arn).build());
        }
        if spec.max_retries.is_some() || spec.max_age_seconds.is_some() {
            target = target.retry_policy(
                RetryPolicy::builder()
                    .set_maximum_retry_attempts(spec.max_retries)
                    .set_maximum_event_age_in_seconds(spec.max_age_seconds)
                    .build(),
            );
        }
        let put = self
            .events
            .put_targets()
            .rule(&spec.name)
            .event_bus_name(&self.bus)
            .targets(target.build()?)
            .send()
            .await
            .with_context(|| format!("cannot set the target of rule {}", spec.name))?;
        if put.failed_entry_count() > 0 {
            let reason = put
                .failed_entries()
                .first()
                .and_then(|e| e.error_message())
                .unwrap_or("no reason given");
            bail!(
                "EventBridge refused the target of rule {}: {reason}",
                spec.name
            );
        }
        Ok(if existing.is_some() {
            Applied::Updated
        } else {
            Applied::Created
        })
    }

    /// The bridge's rules on its bus (those with its tag), by name.
    pub async fn list(&self) -> Result<Vec<RuleInfo>> {
        let mut rules = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .events
                .list_rules()
                .event_bus_name(&self.bus)
                .set_next_token(next)
                .send()
                .await
                .with_context(|| format!("cannot list the rules on bus {}", self.bus))?;
            for rule in page.rules() {
                let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else {
                    continue;
                };
                if !self.is_ours(arn).await? {
                    continue;
                }
                rules.push(RuleInfo {
                    name: name.to_owned(),
                    pattern: rule.event_pattern().unwrap_or_default().to_owned(),
                    targets: self
                        .targets(name)
                        .await?
                        .into_iter()
                        .map(|t| t.arn)
                        .collect(),
                });
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                rules.sort_by(|a, b| a.name.cmp(&b.name));
                return Ok(rules);
            }
        }
    }

    /// Deletes one of the bridge's rules with the permissions it was given.
    pub async fn delete(&self, name: &str) -> Result<()> {
        if self.find(name).await?.is_none() {
            bail!(
                "no rule {name} on bus {}; `stripe-bridge list-rules` shows the bridge's rules",
                self.bus
            );
        }
        let targets = self.revoke_all(name).await?;
        let ids: Vec<String> = targets.iter().map(|t| t.id().to_owned()).collect();
        if !ids.is_empty() {
            self.events
                .remove_targets()
                .rule(name)
                .event_bus_name(&self.bus)
                .set_ids(Some(ids))
                .send()
                .await
                .with_context(|| format!("cannot remove the targets of rule {name}"))?;
        }
        self.events
            .delete_rule()
            .name(name)
            .event_bus_name(&self.bus)
            .send()
            .await
            .with_context(|| format!("cannot delete rule {name}"))?;
        Ok(())
    }

    /// Takes back everything the rule's targets were given (permissions, policy
    /// statements, delivery role); returns those targets.
    async fn revoke_all(&self, name: &str) -> Result<Vec<EbTarget>> {
        let targets = self.targets(name).await?;
        for target in &targets {
            self.revoke(name, target.arn()).await?;
            if let Some(dlq) = target.dead_letter_config().and_then(|d| d.arn()) {
                self.revoke(name, dlq).await?;
            }
        }
        for role in targets.iter().filter_map(|t| t.role_arn()) {
            if role.ends_with(&format!("/{}", self.delivery_role_name(name))) {
                self.delete_delivery_role(name).await?;
            }
        }
        Ok(targets)
    }

    /// The bridge's rule `name`, or `None`; a rule of that name that is not the bridge's is
    /// an error, so it is never changed or deleted.
    pub async fn find(&self, name: &str) -> Result<Option<RuleInfo>> {
        let described = self
            .events
            .describe_rule()
            .name(name)
            .event_bus_name(&self.bus)
            .send()
            .await;
        match described {
            Ok(rule) => {
                if !self.is_ours(rule.arn().unwrap_or_default()).await? {
                    bail!(
                        "rule {name} on bus {} was not made by stripe-bridge for {}, so it is left alone; \
                         use another --rule-name",
                        self.bus,
                        self.bridge
                    );
                }
                Ok(Some(RuleInfo {
                    name: name.to_owned(),
                    pattern: rule.event_pattern().unwrap_or_default().to_owned(),
                    targets: self
                        .targets(name)
                        .await?
                        .into_iter()
                        .map(|t| t.arn)
                        .collect(),
                }))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot look up rule {name}"))),
        }
    }

    async fn same_delivery(&self, spec: &RuleSpec) -> Result<bool> {
        let targets = self.targets(&spec.name).await?;
        let Some(target) = targets.first() else {
            return Ok(false);
        };
        let dlq = target
            .dead_letter_config()
            .and_then(|d| d.arn())
            .map(str::to_owned);
        let retry = target.retry_policy();
        Ok(
            dlq == spec.dead_letter_queue.as_ref().map(|d| d.arn.clone())
                && retry.and_then(|r| r.maximum_retry_attempts()) == spec.max_retries
                && retry.and_then(|r| r.maximum_event_age_in_seconds()) == spec.max_age_seconds,
        )
    }

    async fn targets(&self, rule: &str) -> Result<Vec<EbTarget>> {
        Ok(self
            .events
            .list_targets_by_rule()
            .rule(rule)
            .event_bus_name(&self.bus)
            .send()
            .await
            .with_context(|| format!("cannot list the targets of rule {rule}"))?
            .targets
            .unwrap_or_default())
    }

    async fn is_ours(&self, rule_arn: &str) -> Result<bool> {
        let tags = self
            .events
            .list_tags_for_resource()
            .resource_arn(rule_arn)
            .send()
            .await
            .with_context(|| format!("cannot read the tags of {rule_arn}"))?;
        Ok(tags
            .tags()
            .iter()
            .any(|t| t.key() == OWNER_TAG && t.value() == self.bridge))
    }

    async fn check_exists(&self, target: &Target) -> Result<()> {
        let found = match &target.kind {
            TargetKind::Lambda { function } => self
                .lambda
                .get_function()
                .function_name(function)
                .send()
                .await
                .is_ok(),
            TargetKind::Sqs { .. } => self.queue_url(target).await.is_ok(),
            TargetKind::Sns => self
                .sns
                .get_topic_attributes()
                .topic_arn(&target.arn)
                .send()
                .await
                .is_ok(),
            TargetKind::StateMachine => self
                .sfn
                .describe_state_machine()
                .state_machine_arn(&target.arn)
                .send()
                .await
                .is_ok(),
            TargetKind::EventBus { name } => self
                .events
                .describe_event_bus()
                .name(name)
                .send()
                .await
                .is_ok(),
            TargetKind::KinesisStream { .. } => self
                .kinesis
                .describe_stream_summary()
                .stream_arn(&target.arn)
                .send()
                .await
                .is_ok(),
        };
        if found {
            Ok(())
        } else {
            bail!(
                "the target {} does not exist (or these credentials cannot see it); create it first",
                target.arn
            )
        }
    }

    /// Lets the rule deliver to `target`: a Lambda permission, or a statement merged into
    /// the queue's or topic's policy.
    async fn grant(&self, rule: &str, rule_arn: &str, target: &Target) -> Result<()> {
        let sid = statement_id(rule);
        match &target.kind {
            TargetKind::Lambda { function } => {
                // Replace rather than add twice: the statement id is the rule's.
                self.remove_lambda_permission(function, &sid).await;
                self.lambda
                    .add_permission()
                    .function_name(function)
                    .statement_id(&sid)
                    .action("lambda:InvokeFunction")
                    .principal("events.amazonaws.com")
                    .source_arn(rule_arn)
                    .send()
                    .await
                    .with_context(|| format!("cannot let rule {rule} invoke {}", target.arn))?;
            }
            TargetKind::Sqs { .. } => {
                let url = self.queue_url(target).await?;
                let policy = self.queue_policy(&url).await?;
                let merged = merge_statement(
                    policy.as_deref(),
                    policy_statement(rule, rule_arn, &target.arn, "sqs:SendMessage"),
                )?;
                self.set_queue_policy(&url, &merged).await?;
            }
            TargetKind::Sns => {
                let policy = self.topic_policy(&target.arn).await?;
                let merged = merge_statement(
                    policy.as_deref(),
                    policy_statement(rule, rule_arn, &target.arn, "sns:Publish"),
                )?;
                self.set_topic_policy(&target.arn, merged).await?;
            }
            // A delivery role grants these (see `delivery_role`).
            TargetKind::StateMachine
            | TargetKind::EventBus { .. }
            | TargetKind::KinesisStream { .. } => {}
        }
        Ok(())
    }

    /// Takes back the permission with statement id `sid` on `function`, if it is there.
    async fn remove_lambda_permission(&self, function: &str, sid: &str) {
        // Absent is the state wanted, so "not found" is no error.
        let _ = self
            .lambda
            .remove_permission()
            .function_name(function)
            .statement_id(sid)
            .send()
            .await;
    }

    /// Takes back what `grant` gave, leaving every other statement alone.
    async fn revoke(&self, rule: &str, target_arn: &str) -> Result<()> {
        let Ok(target) =
            Target::parse(target_arn, target_arn.split(':').nth(3).unwrap_or_default())
        else {
            return Ok(());
        };
        let sid = statement_id(rule);
        match &target.kind {
            TargetKind::Lambda { function } => {
                self.remove_lambda_permission(function, &sid).await;
            }
            TargetKind::Sqs { .. } => {
                let Ok(url) = self.queue_url(&target).await else {
                    return Ok(());
                };
                if let Some(policy) = self.queue_policy(&url).await? {
                    let rest = without_statement(&policy, &sid)?;
                    self.set_queue_policy(&url, rest.as_deref().unwrap_or(""))
                        .await?;
                }
            }
            TargetKind::Sns => {
                if let Ok(Some(policy)) = self.topic_policy(&target.arn).await
                    && let Some(rest) = without_statement(&policy, &sid)?
                {
                    self.set_topic_policy(&target.arn, rest).await?;
                }
            }
            // Their delivery role goes with the rule (see `delete`).
            TargetKind::StateMachine
            | TargetKind::EventBus { .. }
            | TargetKind::KinesisStream { .. } => {}
        }
        Ok(())
    }

    async fn set_topic_policy(&self, topic_arn: &str, policy: String) -> Result<()> {
        self.sns
            .set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name("Policy")
            .attribute_value(policy)
            .send()
            .await
            .with_context(|| format!("cannot update the policy of {topic_arn}"))?;
        Ok(())
    }

    /// The role made for `rule`: one per rule, so removing a rule removes exactly its own.
    fn delivery_role_name(&self, rule: &str) -> String {
        let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
            format!("{}/{rule}", self.bridge).as_bytes(),
        ));
        format!("stripe-bridge-rule-{}", &hex::encode(digest)[..16])
    }

    /// Makes (or brings up to date) the role EventBridge assumes to deliver `rule`'s
    /// events to `target`: trusted only for this rule, allowed only `action` on `target`.
    async fn delivery_role(
        &self,
        rule: &str,
        rule_arn: &str,
        target: &Target,
        action: &str,
    ) -> Result<String> {
        let name = self.delivery_role_name(rule);
        let trust = delivery_trust_policy(rule_arn, &target.account).to_string();
        let existing = self.iam.get_role().role_name(&name).send().await;
        let arn = match existing {
            Ok(found) => {
                self.iam
                    .update_assume_role_policy()
                    .role_name(&name)
                    .policy_document(&trust)
                    .send()
                    .await
                    .with_context(|| format!("cannot update the delivery role {name}"))?;
                found.role.map(|r| r.arn).unwrap_or_default()
            }
            Err(_) => self
                .iam
                .create_role()
                .role_name(&name)
                .assume_role_policy_document(&trust)
                .description(format!(
                    "stripe-bridge {}: EventBridge delivers rule {rule} with it",
                    self.bridge
                ))
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key(OWNER_TAG)
                        .value(&self.bridge)
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

    async fn delete_delivery_role(&self, rule: &str) -> Result<()> {
        let name = self.delivery_role_name(rule);
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

    async fn queue_url(&self, target: &Target) -> Result<String> {
        let TargetKind::Sqs { queue } = &target.kind else {
            bail!("{} is not a queue", target.arn)
        };
        self.sqs
            .get_queue_url()
            .queue_name(queue)
            .queue_owner_aws_account_id(&target.account)
            .send()
            .await
            .with_context(|| format!("cannot find queue {}", target.arn))?
            .queue_url
            .context("SQS returned no queue URL")
    }

    async fn queue_policy(&self, url: &str) -> Result<Option<String>> {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::Policy)
            .send()
            .await
            .with_context(|| format!("cannot read the policy of queue {url}"))?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::Policy))
            .cloned())
    }

    async fn set_queue_policy(&self, url: &str, policy: &str) -> Result<()> {
        self.sqs
            .set_queue_attributes()
            .queue_url(url)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy)
            .send()
            .await
            .with_context(|| format!("cannot update the policy of queue {url}"))?;
        Ok(())
    }

    async fn topic_policy(&self, topic_arn: &str) -> Result<Option<String>> {
        let attributes = self
            .sns
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
            .with_context(|| format!("cannot read the policy of {topic_arn}"))?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get("Policy"))
            .cloned())
    }
}

/// A readable default rule name from the bridge and the types, within EventBridge's 64
/// characters: `stripe-live-invoice-paid`, `stripe-live-invoice-all`, `stripe-live-all`.
pub fn default_rule_name(bridge: &str, filters: &[crate::event_types::TypeFilter]) -> String {
    use crate::event_types::TypeFilter;
    let labels: Vec<String> = filters
        .iter()
        .map(|f| match f {
            TypeFilter::All => "all".to_owned(),
            TypeFilter::Prefix(p) => format!("{}all", p.replace(['.', '_'], "-")),
            TypeFilter::Exact(t) => t.replace(['.', '_'], "-"),
        })
        .collect();
    let name = format!("{bridge}-{}", labels.join("-"));
    if name.len() <= 64 {
        return name;
    }
    let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
        name.as_bytes(),
    ));
    format!("{}-{}", &name[..55], &hex::encode(digest)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_types::TypeFilter;

    #[test]
    fn default_names_are_readable_and_fit() {
        assert_eq!(
            default_rule_name("live", &[TypeFilter::Exact("invoice.paid".into())]),
            "live-invoice-paid"
        );
        assert_eq!(
            default_rule_name("live", &[TypeFilter::Prefix("invoice.".into())]),
            "live-invoice-all"
        );
        assert_eq!(default_rule_name("live", &[TypeFilter::All]), "live-all");
        let many: Vec<TypeFilter> = [
            "customer.subscription.created",
            "customer.subscription.deleted",
            "customer.subscription.updated",
        ]
        .iter()
        .map(|t| TypeFilter::Exact((*t).into()))
        .collect();
        let long = default_rule_name("stripe-bridge", &many);
        assert_eq!(long.len(), 64);
        assert_ne!(long, default_rule_name("stripe-bridge", &many[..2]));
    }
}
