//! The bridge's routing rules: EventBridge rules on the bridge's bus, made by direct API
//! calls (not by the stack) and tagged `stripe-bridge:bridge = NAME`, each with one
//! target and the permission that lets EventBridge deliver to it.
//!
//! Why not in the stack: the stack is rendered afresh on every `deploy`, so rules there
//! would have to be remembered somewhere to survive it; rules beside the stack are never
//! touched by `deploy`, and `remove` finds them by their tag and deletes them (with their
//! permissions) before the stack, whose bus cannot go while rules are on it.
//!
//! This file makes, lists and deletes rules. What a target is (`target.rs`), what lets
//! EventBridge deliver to it (`grants.rs`, `delivery_role.rs`, from the documents in
//! `policy.rs`) and what things are called (`naming.rs`) live beside it.

pub mod claim_check_readers;
mod delivery_role;
mod grants;
pub mod naming;
mod policy;
mod policy_edit;
pub mod target;
pub mod target_keys;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::{DeadLetterConfig, RetryPolicy, Tag, Target as EbTarget};
use serde_json::Value;

use self::claim_check_readers::{ClaimCheckReaders, READER_TAG};
use self::delivery_role::DeliveryRoles;
use self::grants::Grants;
use self::naming::{TARGET_ID, default_rule_name, for_accounts, rule_name_for_target};
use self::target::{Target, TargetKind};
use self::target_keys::{KeyNeed, TargetKeys};
use crate::aws::OWNER_TAG;
use crate::hint::hinted;
use crate::stripe::event_types::TypeFilter;

pub struct Rules {
    events: aws_sdk_eventbridge::Client,
    grants: Grants,
    roles: DeliveryRoles,
    keys: TargetKeys,
    readers: ClaimCheckReaders,
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
    /// Whether the dead-letter queue's policy must be given a statement for the rule:
    /// not for the bridge's own queue, whose policy (in the stack) already allows every
    /// rule of the bridge.
    pub grant_dead_letter_queue: bool,
    pub max_retries: Option<i32>,
    pub max_age_seconds: Option<i32>,
    /// For targets that need a delivery role: the user's, instead of one made for the rule.
    pub role_arn: Option<String>,
    /// The role that may read the claim checks the rule delivers (`--grant-claim-check`).
    pub claim_check_reader: Option<ClaimCheckReader>,
}

/// A consumer's role and the bucket whose claim checks it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimCheckReader {
    pub role: String,
    pub bucket: String,
}

/// A rule as `list-rules` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    pub name: String,
    #[serde(skip)]
    pub arn: String,
    /// The event pattern as JSON (as `add-rule` reports it too).
    pub pattern: Value,
    pub targets: Vec<String>,
    /// The role `--grant-claim-check` let read the rule's claim checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_check_reader: Option<String>,
    /// Where EventBridge puts what it cannot deliver, and how long it retries first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<i32>,
    /// A rule `test --expect-delivery` made and did not get to delete.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub leftover_probe: bool,
}

/// What a rule name stands for on the bridge's bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Ours(Box<RuleInfo>),
    Absent,
    /// A rule of that name that the bridge did not make.
    Foreign,
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
            grants: Grants::new(sdk),
            roles: DeliveryRoles::new(sdk),
            keys: TargetKeys::new(sdk),
            readers: ClaimCheckReaders::new(sdk),
            bus: bus.to_owned(),
            bridge: bridge.to_owned(),
        }
    }

    /// Makes the rule, or brings it to `spec`; nothing changes if it is already so.
    pub async fn apply(&self, spec: &RuleSpec) -> Result<Applied> {
        self.check_exists(&spec.target, "the target").await?;
        if let Some(dlq) = &spec.dead_letter_queue {
            if !matches!(dlq.kind, TargetKind::Sqs { .. }) {
                bail!("--dlq must be an SQS queue ARN, not `{}`", dlq.arn);
            }
            self.check_exists(dlq, "the dead-letter queue").await?;
        }
        let pattern = spec.pattern.to_string();
        let existing = match self.lookup(&spec.name).await? {
            Lookup::Ours(info) => Some(*info),
            Lookup::Absent => None,
            Lookup::Foreign => {
                return Err(hinted(
                    format!(
                        "there is already a rule {} on bus {} that stripe-bridge did not make, so it is left alone",
                        spec.name, self.bus
                    ),
                    "give the bridge's rule another name with --rule-name",
                ));
            }
        };
        if let Some(role) = &spec.role_arn {
            if spec.target.kind.role_action().is_none() {
                return Err(hinted(
                    format!(
                        "--role-arn does not apply to {}: EventBridge delivers to Lambda functions, \
                         queues and topics through their resource policies, which add-rule sets",
                        spec.target.arn
                    ),
                    "leave out --role-arn",
                ));
            }
            self.roles.check_role(role).await?;
        }
        if let Some(info) = &existing {
            let same_pattern = info.pattern == spec.pattern;
            if same_pattern
                && info.targets == [spec.target.arn.clone()]
                && info.claim_check_reader
                    == spec.claim_check_reader.as_ref().map(|r| r.role.clone())
                && self.same_delivery(spec).await?
            {
                return Ok(Applied::Unchanged);
            }
            // What the rule delivered to before loses what it was given for this rule.
            self.revoke_all(info).await?;
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
        self.grants
            .grant(&spec.name, &rule_arn, &spec.target)
            .await?;
        if let Some(dlq) = &spec.dead_letter_queue
            && spec.grant_dead_letter_queue
        {
            self.grants.grant(&spec.name, &rule_arn, dlq).await?;
        }
        // The tag first, so that remove finds the grant even if it is cut short after.
        match &spec.claim_check_reader {
            Some(reader) => {
                self.events
                    .tag_resource()
                    .resource_arn(&rule_arn)
                    .tags(Tag::builder().key(READER_TAG).value(&reader.role).build()?)
                    .send()
                    .await
                    .with_context(|| format!("cannot tag rule {}", spec.name))?;
                self.readers
                    .grant(&reader.role, &spec.name, &reader.bucket)
                    .await?;
            }
            None if existing
                .as_ref()
                .is_some_and(|i| i.claim_check_reader.is_some()) =>
            {
                self.events
                    .untag_resource()
                    .resource_arn(&rule_arn)
                    .tag_keys(READER_TAG)
                    .send()
                    .await
                    .with_context(|| format!("cannot untag rule {}", spec.name))?;
            }
            None => {}
        }
        let mut target = EbTarget::builder().id(TARGET_ID).arn(&spec.target.arn);
        if let Some(action) = spec.target.kind.role_action() {
            let role = match &spec.role_arn {
                Some(role) => role.clone(),
                None => {
                    self.roles
                        .ensure(&self.bridge, &spec.name, &rule_arn, &spec.target, action)
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

    /// What the KMS keys of the rule's target and dead-letter queue need before
    /// EventBridge can deliver through them, by target ARN. Reads only; an AWS managed
    /// key is an error, since no rule could ever deliver through it.
    pub async fn key_needs(&self, spec: &RuleSpec) -> Result<Vec<(String, KeyNeed)>> {
        let mut needs = Vec::new();
        for target in std::iter::once(&spec.target).chain(&spec.dead_letter_queue) {
            if let Some(key) = self.grants.encryption_key(target).await? {
                needs.push((
                    target.arn.clone(),
                    self.keys.need(target, &key, &spec.name).await?,
                ));
            }
        }
        Ok(needs)
    }

    /// The role that will read the claim checks of a rule to `target`: `given`, or a
    /// Lambda target's execution role (see `claim_check_readers.rs`).
    pub async fn claim_check_reader_role(
        &self,
        target: &Target,
        given: Option<&str>,
        account: &str,
    ) -> Result<String> {
        self.readers.reader_role(target, given, account).await
    }

    /// Adds `statement` to the policy of the key `key_arn` (see `target_keys.rs`).
    pub async fn grant_key(&self, key_arn: &str, statement: &Value) -> Result<()> {
        self.keys.grant(key_arn, statement).await
    }

    /// The bridge's rules on its bus (those with its tag), by name.
    pub async fn list(&self) -> Result<Vec<RuleInfo>> {
        let mut rules = Vec::new();
        // EventBridge's model does not mark ListRules as paginated, so the SDK has no
        // `into_paginator()` for it: follow NextToken here.
        let mut next = None;
        loop {
            let page = self
                .events
                .list_rules()
                .event_bus_name(&self.bus)
                .set_next_token(next)
                .send()
                .await;
            // A bus that is gone (deleted while `remove` looks at every bus) has no rules.
            let Some(page) = crate::aws::errors::found(
                page,
                |e| e.is_resource_not_found_exception(),
                &format!("the rules on bus {}", self.bus),
            )?
            else {
                break;
            };
            for rule in page.rules() {
                let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else {
                    continue;
                };
                if let Some(tags) = self.our_tags(arn).await? {
                    rules.push(self.info(name, arn, rule.event_pattern(), &tags).await?);
                }
            }
            next = page.next_token;
            if next.is_none() {
                break;
            }
        }
        rules.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(rules)
    }

    /// The bridge's rules that would deliver `event` (an EventBridge envelope, see
    /// `envelope`), as EventBridge's own matcher (TestEventPattern) decides.
    pub async fn matching(&self, event: &Value) -> Result<Vec<RuleInfo>> {
        let mut matching = Vec::new();
        // A leftover probe is no consumer.
        for rule in self.list().await?.into_iter().filter(|r| !r.leftover_probe) {
            let answer = self
                .events
                .test_event_pattern()
                .event_pattern(rule.pattern.to_string())
                .event(event.to_string())
                .send()
                .await
                .with_context(|| format!("cannot test the pattern of rule {}", rule.name))?;
            if answer.result() {
                matching.push(rule);
            }
        }
        Ok(matching)
    }

    /// What stands in the way of `rule` delivering to each of its targets: a target that
    /// is gone, or one that no longer holds the grant `add-rule` gave the rule. Empty when
    /// nothing does. Targets a delivery role serves are checked for existence only as far
    /// as their service says (state machines, buses and streams are not looked up).
    pub async fn target_problems(&self, rule: &RuleInfo) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        for arn in &rule.targets {
            let Ok(target) = Target::parse_anywhere(arn) else {
                continue;
            };
            if self.grants.exists(&target).await? == Some(false) {
                problems.push(format!("{arn} is gone"));
                continue;
            }
            if self.grants.holds(&rule.name, &rule.arn, &target).await? == Some(false) {
                problems.push(format!(
                    "{arn} does not let the rule deliver (the grant add-rule gave is gone)"
                ));
            }
        }
        Ok(problems)
    }

    /// Deletes one of the bridge's rules with the permissions it was given.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let Some(rule) = self.find(name).await? else {
            return Err(hinted(
                format!("no rule {name} on bus {}", self.bus),
                format!(
                    "`stripe-bridge --name {} list-rules` shows the bridge's rules",
                    self.bridge
                ),
            ));
        };
        let targets = self.revoke_all(&rule).await?;
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
    async fn revoke_all(&self, rule: &RuleInfo) -> Result<Vec<EbTarget>> {
        let name = rule.name.as_str();
        if let Some(role) = &rule.claim_check_reader {
            self.readers.revoke(role, name).await?;
        }
        let targets = self.targets(name).await?;
        for target in &targets {
            let dlq = target.dead_letter_config().and_then(|d| d.arn());
            for arn in std::iter::once(target.arn()).chain(dlq) {
                // A target stripe-bridge cannot read was never given anything by it.
                if let Ok(target) = Target::parse_anywhere(arn) {
                    self.grants.revoke(name, &target).await?;
                    // A target stripe-bridge can no longer read keeps no key of its.
                    if let Ok(Some(key)) = self.grants.encryption_key(&target).await {
                        self.keys.revoke(&key, name).await?;
                    }
                }
            }
        }
        for role in targets.iter().filter_map(|t| t.role_arn()) {
            if DeliveryRoles::is_ours(&self.bridge, name, role) {
                self.roles.delete(&self.bridge, name).await?;
            }
        }
        Ok(targets)
    }

    /// The rule `name` on the bus: the bridge's (with what it does), absent, or someone
    /// else's, which stripe-bridge never changes or deletes.
    pub async fn lookup(&self, name: &str) -> Result<Lookup> {
        let described = self
            .events
            .describe_rule()
            .name(name)
            .event_bus_name(&self.bus)
            .send()
            .await;
        let Some(rule) = crate::aws::errors::found(
            described,
            |e| e.is_resource_not_found_exception(),
            &format!("rule {name}"),
        )?
        else {
            return Ok(Lookup::Absent);
        };
        let Some(tags) = self.our_tags(rule.arn().unwrap_or_default()).await? else {
            return Ok(Lookup::Foreign);
        };
        Ok(Lookup::Ours(Box::new(
            self.info(
                name,
                rule.arn().unwrap_or_default(),
                rule.event_pattern(),
                &tags,
            )
            .await?,
        )))
    }

    /// The bridge's rule `name`, or `None` if there is no rule of that name.
    pub async fn find(&self, name: &str) -> Result<Option<RuleInfo>> {
        match self.lookup(name).await? {
            Lookup::Ours(info) => Ok(Some(*info)),
            Lookup::Absent => Ok(None),
            Lookup::Foreign => Err(hinted(
                format!(
                    "rule {name} on bus {} was not made by stripe-bridge for {}, so it is left alone",
                    self.bus, self.bridge
                ),
                format!(
                    "`stripe-bridge --name {} list-rules` shows the bridge's own rules",
                    self.bridge
                ),
            )),
        }
    }

    /// The name for a rule of these types to `target`: the default name, unless another
    /// target already gets those types through it; then a second rule, named for this
    /// target, so that the first consumer keeps its events.
    pub async fn name_for(
        &self,
        filters: &[TypeFilter],
        accounts: &[String],
        target: &Target,
    ) -> Result<String> {
        let prefix = naming::rule_prefix(&self.bridge, &self.bus);
        let base = for_accounts(default_rule_name(&prefix, filters), accounts);
        Ok(match self.lookup(&base).await? {
            Lookup::Ours(info) if info.targets != [target.arn.clone()] => {
                rule_name_for_target(&base, target.name())
            }
            Lookup::Foreign => rule_name_for_target(&base, target.name()),
            _ => base,
        })
    }

    /// A rule as the bridge reports it: its name, pattern and targets.
    async fn info(
        &self,
        name: &str,
        arn: &str,
        pattern: Option<&str>,
        tags: &[Tag],
    ) -> Result<RuleInfo> {
        let pattern = pattern.unwrap_or_default();
        let targets = self.targets(name).await?;
        let first = targets.first();
        let retry = first.and_then(|t| t.retry_policy());
        Ok(RuleInfo {
            name: name.to_owned(),
            arn: arn.to_owned(),
            pattern: serde_json::from_str(pattern).unwrap_or_else(|_| pattern.into()),
            dead_letter_queue: first
                .and_then(|t| t.dead_letter_config())
                .and_then(|d| d.arn())
                .map(str::to_owned),
            max_retries: retry.and_then(|r| r.maximum_retry_attempts()),
            max_age_seconds: retry.and_then(|r| r.maximum_event_age_in_seconds()),
            targets: targets.into_iter().map(|t| t.arn).collect(),
            claim_check_reader: tags
                .iter()
                .find(|t| t.key() == READER_TAG)
                .map(|t| t.value().to_owned()),
            leftover_probe: name.starts_with(&naming::probe_prefix(&self.bridge)),
        })
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
        // The role: the user's, as given; or the one made for the rule; or none.
        let same_role = match (&spec.role_arn, target.role_arn()) {
            (Some(wanted), Some(role)) => wanted == role,
            (None, Some(role)) => DeliveryRoles::is_ours(&self.bridge, &spec.name, role),
            (None, None) => spec.target.kind.role_action().is_none(),
            (Some(_), None) => false,
        };
        Ok(
            dlq == spec.dead_letter_queue.as_ref().map(|d| d.arn.clone())
                && retry.and_then(|r| r.maximum_retry_attempts()) == spec.max_retries
                && retry.and_then(|r| r.maximum_event_age_in_seconds()) == spec.max_age_seconds
                && same_role,
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

    /// The rule's tags if it is the bridge's (its owner tag names the bridge), else `None`.
    async fn our_tags(&self, rule_arn: &str) -> Result<Option<Vec<Tag>>> {
        let tags = self
            .events
            .list_tags_for_resource()
            .resource_arn(rule_arn)
            .send()
            .await;
        // A rule deleted since it was listed is no one's.
        let Some(tags) = crate::aws::errors::found(
            tags,
            |e| e.is_resource_not_found_exception(),
            &format!("the tags of {rule_arn}"),
        )?
        else {
            return Ok(None);
        };
        let ours = tags
            .tags()
            .iter()
            .any(|t| t.key() == OWNER_TAG && t.value() == self.bridge);
        Ok(ours.then(|| tags.tags.unwrap_or_default()))
    }

    /// Refuses a target (`role`: "the target", "the dead-letter queue") that is not there.
    async fn check_exists(&self, target: &Target, role: &str) -> Result<()> {
        let exists = match self.grants.exists(target).await? {
            Some(exists) => exists,
            None => self
                .roles
                .target_exists(target)
                .await?
                .context("every target kind has an existence check")?,
        };
        if exists {
            Ok(())
        } else {
            Err(hinted(
                format!("{role} {} does not exist", target.arn),
                "create it first, or check the ARN (account, region and name)",
            ))
        }
    }
}

/// A Stripe event as the relay puts it on the bus: the envelope EventBridge matches
/// rules against, with `detail` the event (`relay_function::bus_entry`).
pub fn envelope(event_type: &str, detail: Value, account: &str, region: &str, time: &str) -> Value {
    serde_json::json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": event_type,
        "source": relay_function::bus_entry::SOURCE,
        "account": account,
        "time": time,
        "region": region,
        "resources": [],
        "detail": detail,
    })
}
