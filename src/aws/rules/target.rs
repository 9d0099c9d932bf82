//! What a rule can deliver to, read from its ARN. Pure: no AWS calls.

use anyhow::{Result, bail};

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
        Ok(Self {
            arn: arn.to_owned(),
            region: target_region.to_owned(),
            account: account.to_owned(),
            kind,
        })
    }
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
}
