//! Who may read the claim-checked events a rule delivers: `add-rule --grant-claim-check`
//! gives the consumer's IAM role `s3:GetObject` on the bridge's `claim-check/` prefix, as
//! an inline policy named for the rule, and the rule carries the role in a tag so that
//! `remove-rule` and `remove` take the policy back.
//!
//! Why the role's policy and not the bucket's: the bucket and its policy belong to the
//! stack, which `deploy` renders afresh, so a statement added there would be lost; an
//! identity policy suffices within the account, since the bucket is encrypted with
//! S3-managed keys (SSE-S3) and its policy only denies plain HTTP.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde_json::{Value, json};

use super::naming::statement_id;
use super::target::{Target, TargetKind, role_name};
use crate::hint::hinted;

/// The tag on a rule that names the role `--grant-claim-check` gave read access to.
pub const READER_TAG: &str = "stripe-bridge:claim-check-reader";

/// The prefix the relay stores claim-checked events under (`bus_entry::ClaimCheck`).
const PREFIX: &str = "claim-check/";

pub struct ClaimCheckReaders {
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
}

/// The inline policy that lets a consumer read claim-checked events, and nothing else.
pub fn reader_policy(bucket: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadStripeBridgeClaimChecks",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/{PREFIX}*")
        }]
    })
}

impl ClaimCheckReaders {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            iam: aws_sdk_iam::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
        }
    }

    /// The role that reads for `target`: `given` (`--grant-claim-check ROLE_ARN`), else
    /// a Lambda target's execution role. Roles of another account are refused: they
    /// would need the bucket's policy too.
    pub async fn reader_role(
        &self,
        target: &Target,
        given: Option<&str>,
        account: &str,
    ) -> Result<String> {
        let role = match (given, &target.kind) {
            (Some(role), _) => role.to_owned(),
            (
                None,
                TargetKind::Lambda {
                    function,
                    qualifier,
                },
            ) => self
                .lambda
                .get_function_configuration()
                .function_name(function)
                .set_qualifier(qualifier.clone())
                .send()
                .await
                .with_context(|| format!("cannot read the execution role of {}", target.arn))?
                .role
                .with_context(|| format!("{} has no execution role", target.arn))?,
            (None, _) => {
                return Err(hinted(
                    format!(
                        "--grant-claim-check finds the reader's role only for a Lambda target, not {}",
                        target.arn
                    ),
                    "name the consumer's role: --grant-claim-check arn:aws:iam::ACCOUNT:role/NAME",
                ));
            }
        };
        role_name(&role)?;
        if role.split(':').nth(4) != Some(account) {
            return Err(hinted(
                format!(
                    "the role {role} is in another account than the bridge ({account}), and the claim-check bucket's policy admits no other account"
                ),
                "read claim checks with a role of the bridge's account",
            ));
        }
        Ok(role)
    }

    /// Lets `role` read the claim checks in `bucket`, as the policy named for `rule`.
    pub async fn grant(&self, role: &str, rule: &str, bucket: &str) -> Result<()> {
        self.iam
            .put_role_policy()
            .role_name(role_name(role)?)
            .policy_name(statement_id(rule))
            .policy_document(reader_policy(bucket).to_string())
            .send()
            .await
            .with_context(|| format!("cannot let {role} read the bridge's claim checks"))?;
        Ok(())
    }

    /// Takes back what `grant` gave for `rule`; absent is no error.
    pub async fn revoke(&self, role: &str, rule: &str) -> Result<()> {
        let answer = self
            .iam
            .delete_role_policy()
            .role_name(role_name(role)?)
            .policy_name(statement_id(rule))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!(
                "cannot take back {role}'s read access to claim checks"
            ))),
        }
    }
}
