//! What a KMS-encrypted queue or topic needs before EventBridge can deliver to it.
//!
//! EventBridge writes to an encrypted SQS queue or SNS topic as `events.amazonaws.com`,
//! so the queue's or topic's key must let that service `kms:GenerateDataKey` and
//! `kms:Decrypt` ("Configure KMS permissions for AWS services", SQS Developer Guide;
//! "Enable compatibility between event sources from AWS services and encrypted topics",
//! SNS Developer Guide). Without it every delivery fails, and nothing says so but the
//! target's metrics and the dead-letter queue. An AWS managed key (`alias/aws/sqs`,
//! `alias/aws/sns`) can never allow it: its key policy cannot be changed ("Configuring
//! AWS KMS permissions", SQS Developer Guide). A queue with SQS-managed encryption
//! (SSE-SQS) needs nothing.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_kms::types::KeyManagerType;
use serde_json::{Value, json};

use super::naming::statement_id;
use super::policy::{has_statement, holds_statement, merge_statement, without_statement};
use super::policy_edit::{WholePolicy, edit};
use super::target::Target;
use crate::aws::errors::is_access_denied;
use crate::hint::hinted;

/// The only key policy KMS has: "default" ("GetKeyPolicy", KMS API Reference).
const POLICY_NAME: &str = "default";

/// What a target's key needs for the rule `rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyNeed {
    /// The key already lets EventBridge use it (or the target is not KMS-encrypted).
    Nothing,
    /// The key's policy must get `statement`; `--grant-kms` adds it. `granted_before`:
    /// the policy holds it already from an earlier `--grant-kms`, which changing the
    /// rule takes back with the rule's other grants, so it is given again.
    Statement {
        key_arn: String,
        statement: Value,
        granted_before: bool,
    },
    /// The key's policy could not be read: it may or may not let EventBridge use it.
    Unknown {
        key: String,
        statement: Value,
        reason: String,
    },
}

/// The key-policy statement that lets EventBridge deliver a rule's events through the
/// key, as the SQS and SNS guides give it, with the rule's statement id.
pub fn eventbridge_key_statement(rule: &str) -> Value {
    json!({
        "Sid": statement_id(rule),
        "Effect": "Allow",
        "Principal": { "Service": "events.amazonaws.com" },
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*"
    })
}

pub struct TargetKeys {
    kms: aws_sdk_kms::Client,
}

impl TargetKeys {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            kms: aws_sdk_kms::Client::new(sdk),
        }
    }

    /// What `key` (a queue's or topic's `KmsMasterKeyId`: a key id, ARN or alias) needs
    /// so that EventBridge can deliver `target`'s events for `rule`. A key AWS manages
    /// is refused: no rule can ever deliver through it.
    pub async fn need(&self, target: &Target, key: &str, rule: &str) -> Result<KeyNeed> {
        let statement = eventbridge_key_statement(rule);
        if key.starts_with("alias/aws/") {
            return Err(aws_managed(target, key));
        }
        let described = match self.kms.describe_key().key_id(key).send().await {
            Ok(described) => described,
            Err(e) if is_access_denied(&e) => {
                return Ok(KeyNeed::Unknown {
                    key: key.to_owned(),
                    statement,
                    reason: "these credentials may not describe it".into(),
                });
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot look up {key}, the KMS key of {}",
                    target.arn
                )));
            }
        };
        let metadata = described
            .key_metadata
            .context("KMS described the key without its metadata")?;
        if metadata.key_manager == Some(KeyManagerType::Aws) {
            return Err(aws_managed(target, key));
        }
        let key_arn = metadata.arn.unwrap_or_else(|| key.to_owned());
        let policy = KeyPolicy {
            kms: &self.kms,
            key: &key_arn,
        };
        let document = match policy.read().await {
            Ok(document) => document,
            Err(e) => {
                return Ok(KeyNeed::Unknown {
                    key: key_arn,
                    statement,
                    reason: format!("{:#}", e),
                });
            }
        };
        let sid = statement_id(rule);
        if document
            .as_deref()
            .is_some_and(|p| lets_eventbridge_use(p, &sid))
        {
            Ok(KeyNeed::Nothing)
        } else {
            Ok(KeyNeed::Statement {
                key_arn,
                statement,
                granted_before: document.as_deref().is_some_and(|p| has_statement(p, &sid)),
            })
        }
    }

    /// Adds the rule's statement to the key's policy, keeping every other statement.
    pub async fn grant(&self, key_arn: &str, statement: &Value) -> Result<()> {
        let policy = KeyPolicy {
            kms: &self.kms,
            key: key_arn,
        };
        edit(
            &policy,
            |current| holds_statement(current, statement),
            |current| merge_statement(current, statement.clone()).map(Some),
        )
        .await
    }

    /// Takes the rule's statement out of `key`'s policy, if stripe-bridge put it there.
    /// A key that is gone, or that these credentials may not read, holds nothing to take.
    pub async fn revoke(&self, key: &str, rule: &str) -> Result<()> {
        if key.starts_with("alias/aws/") {
            return Ok(());
        }
        let policy = KeyPolicy {
            kms: &self.kms,
            key,
        };
        let sid = statement_id(rule);
        // One read tells both: a policy that cannot be read, or holds no statement of
        // the rule's, has nothing to take back (and is not read again).
        match policy.read().await {
            Ok(Some(current)) if has_statement(&current, &sid) => {}
            _ => return Ok(()),
        }
        edit(
            &policy,
            |current| !current.is_some_and(|p| has_statement(p, &sid)),
            // A key policy always keeps its other statements (at least the account's).
            |current| without_statement(current.unwrap_or_default(), &sid),
        )
        .await
    }
}

/// Whether some statement of a key policy, other than `own_sid` (the rule's, which goes
/// with the rule's grants), lets `events.amazonaws.com` both encrypt (GenerateDataKey)
/// and decrypt with the key. Conditions are the owner's business.
fn lets_eventbridge_use(policy: &str, own_sid: &str) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match &document["Statement"] {
        Value::Array(statements) => statements.clone(),
        single => vec![single.clone()],
    };
    let listed = |value: &Value, wanted: &dyn Fn(&str) -> bool| match value {
        Value::String(one) => wanted(one),
        Value::Array(many) => many.iter().filter_map(Value::as_str).any(wanted),
        _ => false,
    };
    statements.iter().any(|s| {
        let allows = |action: &str| {
            listed(&s["Action"], &|a| {
                a == "*" || a == "kms:*" || a.eq_ignore_ascii_case(action)
            })
        };
        s["Sid"] != own_sid
            && s["Effect"] == "Allow"
            && listed(&s["Principal"]["Service"], &|p| p == "events.amazonaws.com")
            && allows("kms:Decrypt")
            && allows("kms:GenerateDataKey")
    })
}

fn aws_managed(target: &Target, key: &str) -> anyhow::Error {
    hinted(
        format!(
            "{} is encrypted with the AWS managed key {key}, whose key policy cannot let EventBridge use it, so no event could ever be delivered to it",
            target.arn
        ),
        "encrypt it with a customer managed KMS key (or, for a queue, SQS-managed encryption), then run add-rule again",
    )
}

/// A KMS key's policy.
struct KeyPolicy<'a> {
    kms: &'a aws_sdk_kms::Client,
    key: &'a str,
}

impl WholePolicy for KeyPolicy<'_> {
    fn describe(&self) -> String {
        format!("KMS key {}", self.key)
    }

    async fn read(&self) -> Result<Option<String>> {
        let answer = self
            .kms
            .get_key_policy()
            .key_id(self.key)
            .policy_name(POLICY_NAME)
            .send()
            .await
            .with_context(|| format!("cannot read the key policy of {}", self.key))?;
        Ok(answer.policy)
    }

    async fn write(&self, policy: String) -> Result<()> {
        self.kms
            .put_key_policy()
            .key_id(self.key)
            .policy_name(POLICY_NAME)
            .policy(policy)
            .send()
            .await
            .with_context(|| format!("cannot update the key policy of {}", self.key))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_policy_lets_eventbridge_use_the_key_only_with_both_actions() {
        let with = |statement: Value| json!({ "Statement": [statement] }).to_string();
        assert!(lets_eventbridge_use(
            &with(eventbridge_key_statement("r")),
            "stripe-bridge-other"
        ));
        // The rule's own statement does not count: changing the rule takes it back.
        assert!(!lets_eventbridge_use(
            &with(eventbridge_key_statement("r")),
            "stripe-bridge-r"
        ));
        assert!(lets_eventbridge_use(
            &with(json!({
                "Effect": "Allow",
                "Principal": { "Service": ["sns.amazonaws.com", "events.amazonaws.com"] },
                "Action": "kms:*",
                "Resource": "*"
            })),
            "stripe-bridge-r"
        ));
        assert!(!lets_eventbridge_use(
            &with(json!({
                "Effect": "Allow",
                "Principal": { "Service": "events.amazonaws.com" },
                "Action": "kms:Decrypt",
                "Resource": "*"
            })),
            "stripe-bridge-r"
        ));
        assert!(!lets_eventbridge_use(
            &with(json!({
                "Effect": "Allow",
                "Principal": { "AWS": "arn:aws:iam::123456789012:root" },
                "Action": "kms:*",
                "Resource": "*"
            })),
            "stripe-bridge-r"
        ));
    }
}
