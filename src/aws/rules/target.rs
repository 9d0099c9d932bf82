//! What a rule can deliver to, read from an ARN, and the resource-policy statement that
//! lets EventBridge deliver there. Pure: no AWS calls.

use anyhow::{Result, bail};
use serde_json::{Value, json};

/// A target of a rule, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// Needs a resource-policy permission for events.amazonaws.com.
    Lambda {
        function: String,
    },
    /// Needs a statement in the queue policy.
    Sqs {
        queue: String,
    },
    /// Needs a statement in the topic policy.
    Sns,
    /// The rest need a role that EventBridge assumes to deliver.
    StateMachine,
    EventBus {
        name: String,
    },
    KinesisStream {
        name: String,
    },
}

impl TargetKind {
    /// The action a delivery role must allow on the target, for kinds that need a role.
    pub fn role_action(&self) -> Option<&'static str> {
        match self {
            Self::StateMachine => Some("states:StartExecution"),
            Self::EventBus { .. } => Some("events:PutEvents"),
            Self::KinesisStream { .. } => Some("kinesis:PutRecord"),
            Self::Lambda { .. } | Self::Sqs { .. } | Self::Sns => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub kind: TargetKind,
}

impl Target {
    /// Reads a target ARN. `region` is the bridge's: a target elsewhere is refused.
    pub fn parse(arn: &str, region: &str) -> Result<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [
            scheme,
            _partition,
            service,
            target_region,
            account,
            resource,
        ] = parts[..]
        else {
            bail!("`{arn}` is not an ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)");
        };
        if scheme != "arn" || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            bail!("`{arn}` is not an ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)");
        }
        let kind = match (service, resource.split_once(':')) {
            ("lambda", Some(("function", function))) if !function.is_empty() => {
                TargetKind::Lambda {
                    function: function.split(':').next().unwrap_or(function).to_owned(),
                }
            }
            ("sqs", None) if !resource.is_empty() => TargetKind::Sqs {
                queue: resource.to_owned(),
            },
            ("sns", None) if !resource.is_empty() => TargetKind::Sns,
            ("states", Some(("stateMachine", machine))) if !machine.is_empty() => {
                TargetKind::StateMachine
            }
            ("events", None) if resource.starts_with("event-bus/") && resource.len() > 10 => {
                TargetKind::EventBus {
                    name: resource["event-bus/".len()..].to_owned(),
                }
            }
            ("kinesis", None) if resource.starts_with("stream/") && resource.len() > 7 => {
                TargetKind::KinesisStream {
                    name: resource["stream/".len()..].to_owned(),
                }
            }
            _ => bail!(
                "`{arn}` is not a target add-rule supports: use the ARN of a Lambda function, an SQS \
                 queue, an SNS topic, a Step Functions state machine, an event bus or a Kinesis stream"
            ),
        };
        if target_region != region {
            bail!(
                "`{arn}` is in {target_region}, but the bridge is in {region}; a rule delivers within its own region"
            );
        }
        Ok(Self {
            arn: arn.to_owned(),
            region: target_region.to_owned(),
            account: account.to_owned(),
            kind,
        })
    }
}

/// The trust policy of a delivery role: EventBridge may assume it, for this rule only.
pub fn delivery_trust_policy(rule_arn: &str, account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnEquals": { "aws:SourceArn": rule_arn },
                "StringEquals": { "aws:SourceAccount": account }
            }
        }]
    })
}

/// What a delivery role may do: the one action, on the one target.
pub fn delivery_permissions(action: &str, target_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": action, "Resource": target_arn }]
    })
}

/// The statement id stripe-bridge gives the permission for `rule`, so that it can be
/// found again, replaced, and removed with the rule.
pub fn statement_id(rule: &str) -> String {
    format!("stripe-bridge-{rule}")
}

/// The queue or topic policy statement that lets the rule `rule_arn` send to `target_arn`.
pub fn policy_statement(rule: &str, rule_arn: &str, target_arn: &str, action: &str) -> Value {
    json!({
        "Sid": statement_id(rule),
        "Effect": "Allow",
        "Principal": { "Service": "events.amazonaws.com" },
        "Action": action,
        "Resource": target_arn,
        "Condition": { "ArnEquals": { "aws:SourceArn": rule_arn } }
    })
}

/// `policy` (a resource policy document, or none) with `statement` put in, replacing a
/// statement of the same Sid and keeping every other statement as it was.
pub fn merge_statement(policy: Option<&str>, statement: Value) -> Result<String> {
    let mut document: Value = match policy.filter(|p| !p.trim().is_empty()) {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "the existing resource policy is not JSON ({e}); fix it, then run add-rule again"
            )
        })?,
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
    };
    let sid = statement["Sid"].clone();
    let statements = statements_mut(&mut document)?;
    statements.retain(|s| s["Sid"] != sid);
    statements.push(statement);
    Ok(document.to_string())
}

/// `policy` without the statement `sid`; `None` if nothing else is left in it.
pub fn without_statement(policy: &str, sid: &str) -> Result<Option<String>> {
    let mut document: Value = serde_json::from_str(policy)?;
    let statements = statements_mut(&mut document)?;
    statements.retain(|s| s["Sid"] != sid);
    Ok((!statements.is_empty()).then(|| document.to_string()))
}

fn statements_mut(document: &mut Value) -> Result<&mut Vec<Value>> {
    // A policy may hold one statement as an object rather than a list.
    if document["Statement"].is_object() {
        let single = document["Statement"].take();
        document["Statement"] = json!([single]);
    }
    if document["Statement"].is_null() {
        document["Statement"] = json!([]);
    }
    document["Statement"]
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("the existing resource policy's Statement is not a list"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_from_their_arns() {
        let lambda = Target::parse(
            "arn:aws:lambda:us-east-1:123456789012:function:billing:live",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            lambda.kind,
            TargetKind::Lambda {
                function: "billing".into()
            }
        );
        let queue =
            Target::parse("arn:aws:sqs:us-east-1:123456789012:invoices", "us-east-1").unwrap();
        assert_eq!(
            queue.kind,
            TargetKind::Sqs {
                queue: "invoices".into()
            }
        );
        assert_eq!(
            Target::parse("arn:aws:sns:us-east-1:123456789012:alerts", "us-east-1")
                .unwrap()
                .kind,
            TargetKind::Sns
        );
    }

    #[test]
    fn role_targets_are_read_and_say_what_their_role_must_allow() {
        let machine = Target::parse(
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(machine.kind.role_action(), Some("states:StartExecution"));
        let bus = Target::parse(
            "arn:aws:events:us-east-1:123456789012:event-bus/billing",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            bus.kind,
            TargetKind::EventBus {
                name: "billing".into()
            }
        );
        let stream = Target::parse(
            "arn:aws:kinesis:us-east-1:123456789012:stream/events",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            stream.kind,
            TargetKind::KinesisStream {
                name: "events".into()
            }
        );
        assert_eq!(
            Target::parse("arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
                .unwrap()
                .kind
                .role_action(),
            None
        );
        let permissions = delivery_permissions("kinesis:PutRecord", &stream.arn);
        assert_eq!(permissions["Statement"][0]["Resource"], stream.arn.as_str());
        assert_ne!(permissions["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn bad_targets_are_refused_with_the_reason() {
        for (arn, expected) in [
            ("queue", "is not an ARN"),
            ("arn:aws:sqs:us-east-1:12345:q", "is not an ARN"),
            ("arn:aws:s3:::bucket", "is not an ARN"),
            (
                "arn:aws:dynamodb:us-east-1:123456789012:table/t",
                "not a target add-rule supports",
            ),
            (
                "arn:aws:events:us-east-1:123456789012:rule/r",
                "not a target add-rule supports",
            ),
            (
                "arn:aws:sqs:eu-west-1:123456789012:q",
                "is in eu-west-1, but the bridge is in us-east-1",
            ),
        ] {
            let error = Target::parse(arn, "us-east-1").unwrap_err().to_string();
            assert!(error.contains(expected), "{arn}: {error}");
        }
    }

    #[test]
    fn merging_keeps_the_users_statements_and_replaces_only_ours() {
        let user = r#"{"Version":"2012-10-17","Statement":{"Sid":"Mine","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"q"}}"#;
        let ours = policy_statement("r1", "arn:rule/r1", "arn:q", "sqs:SendMessage");
        let merged = merge_statement(Some(user), ours.clone()).unwrap();
        let again = merge_statement(Some(&merged), ours).unwrap();
        let document: Value = serde_json::from_str(&again).unwrap();
        let sids: Vec<&str> = document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["Mine", "stripe-bridge-r1"]);

        let removed = without_statement(&again, "stripe-bridge-r1")
            .unwrap()
            .unwrap();
        assert!(!removed.contains("stripe-bridge-r1") && removed.contains("Mine"));
        let only_ours =
            merge_statement(None, policy_statement("r1", "a", "b", "sns:Publish")).unwrap();
        assert_eq!(
            without_statement(&only_ours, "stripe-bridge-r1").unwrap(),
            None
        );
    }
}
