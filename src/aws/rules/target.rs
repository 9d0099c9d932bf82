//! What a rule can deliver to, read from its ARN. Pure: no AWS calls.

use anyhow::{Result, bail};

/// A target of a rule, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// Needs a resource-policy permission for events.amazonaws.com. `qualifier` is the
    /// alias or version an ARN such as `…:function:billing:live` names.
    Lambda {
        function: String,
        qualifier: Option<String>,
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
        let target = Self::parse_anywhere(arn)?;
        if target.region != region {
            bail!(
                "`{arn}` is in {}, but the bridge is in {region}; a rule delivers within its own region",
                target.region
            );
        }
        Ok(target)
    }

    /// Reads a target ARN in any region: one a rule already delivers to.
    pub fn parse_anywhere(arn: &str) -> Result<Self> {
        let Some([_partition, service, target_region, account, resource]) = arn_parts(arn) else {
            bail!("`{arn}` is not an ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)");
        };
        let kind = match (service, resource.split_once(':')) {
            ("lambda", Some(("function", function))) if !function.is_empty() => {
                let (function, qualifier) = match function.split_once(':') {
                    Some((function, qualifier)) => (function, Some(qualifier.to_owned())),
                    None => (function, None),
                };
                TargetKind::Lambda {
                    function: function.to_owned(),
                    qualifier,
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
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            bail!("`{arn}` names no AWS account (12 digits after the region)");
        }
        Ok(Self {
            arn: arn.to_owned(),
            region: target_region.to_owned(),
            account: account.to_owned(),
            kind,
        })
    }

    /// The target's own name, the last part of its ARN: `invoices` for a queue,
    /// `billing:live` for a function alias.
    pub fn name(&self) -> &str {
        let resource = self.arn.splitn(6, ':').nth(5).unwrap_or_default();
        let resource = resource
            .strip_prefix("function:")
            .or_else(|| resource.strip_prefix("stateMachine:"))
            .unwrap_or(resource);
        resource.rsplit('/').next().unwrap_or(resource)
    }
}

/// An ARN's parts after `arn:`: partition, service, region, account and resource.
fn arn_parts(arn: &str) -> Option<[&str; 5]> {
    let rest = arn.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    parts.try_into().ok()
}

/// Checks `--role-arn`: an IAM role's ARN (`arn:aws:iam::ACCOUNT:role/NAME`). Returns the
/// role's name.
pub fn role_name(arn: &str) -> Result<&str> {
    let name = match arn_parts(arn) {
        Some([_, "iam", "", account, resource])
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            resource
                .strip_prefix("role/")
                .and_then(|path| path.rsplit('/').next())
                .filter(|name| !name.is_empty())
        }
        _ => None,
    };
    name.ok_or_else(|| {
        anyhow::anyhow!(
            "`{arn}` is not an IAM role ARN (e.g. arn:aws:iam::123456789012:role/eventbridge-delivery)"
        )
    })
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
                function: "billing".into(),
                qualifier: Some("live".into()),
            }
        );
        assert_eq!(lambda.name(), "billing:live");
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
    }

    #[test]
    fn bad_targets_are_refused_with_the_reason() {
        for (arn, expected) in [
            ("queue", "is not an ARN"),
            ("arn:aws:s3:::bucket", "not a target add-rule supports"),
            ("arn:aws:sqs:us-east-1:12345:q", "names no AWS account"),
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
    fn role_arns_are_checked_and_named() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/delivery").unwrap(),
            "delivery"
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/service/delivery").unwrap(),
            "delivery"
        );
        for bad in [
            "garbage",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123:role/x",
            "arn:aws:sqs:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(role_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_target_has_a_short_name() {
        for (arn, name) in [
            ("arn:aws:sqs:us-east-1:123456789012:invoices", "invoices"),
            ("arn:aws:sns:us-east-1:123456789012:alerts", "alerts"),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:billing",
                "billing",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
                "orders",
            ),
            (
                "arn:aws:events:us-east-1:123456789012:event-bus/downstream",
                "downstream",
            ),
            (
                "arn:aws:kinesis:us-east-1:123456789012:stream/events",
                "events",
            ),
        ] {
            assert_eq!(Target::parse(arn, "us-east-1").unwrap().name(), name);
        }
    }
}
