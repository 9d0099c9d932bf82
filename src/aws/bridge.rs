//! A deployed bridge as the commands that run it see it: its stack, the stack's outputs,
//! and the signing secrets it holds.

use anyhow::Result;
use relay_function::signing_secrets::SigningSecrets;

use crate::aws::connect::{self, AwsContext};
use crate::aws::stack::{self, StackState};
use crate::hint::hinted;
use crate::settings::GlobalSettings;

pub struct Bridge {
    pub ctx: AwsContext,
    pub name: String,
    pub stack: StackState,
}

impl Bridge {
    /// The bridge `--name` names, which must be deployed.
    pub async fn find(settings: &GlobalSettings) -> Result<Self> {
        let ctx = connect::connect(&settings.aws).await?;
        let cfn = aws_sdk_cloudformation::Client::new(&ctx.sdk);
        let stack = stack::require(&cfn, &settings.bridge, &ctx.region).await?;
        Ok(Self {
            ctx,
            name: settings.bridge.clone(),
            stack,
        })
    }

    /// One of the stack's outputs, which a finished deploy always has.
    pub fn output(&self, key: &str) -> Result<&str> {
        let name = &self.name;
        self.stack.output(key).ok_or_else(|| {
            hinted(
                format!("the stack of bridge {name} reports no {key}"),
                format!("run `stripe-bridge --name {name} deploy` to finish it"),
            )
        })
    }

    /// The signing secrets the relay verifies with now.
    pub async fn signing_secrets(&self) -> Result<SigningSecrets> {
        let client = aws_sdk_secretsmanager::Client::new(&self.ctx.sdk);
        read_secrets(&client, &self.name, self.output("SigningSecretArn")?).await
    }
}

/// The stored signing secrets. A value that cannot be read as signing secrets counts as
/// none: the relay refuses everything with it too, and `set-secret` replaces it.
pub async fn read_secrets(
    client: &aws_sdk_secretsmanager::Client,
    bridge: &str,
    arn: &str,
) -> Result<SigningSecrets> {
    let value = client.get_secret_value().secret_id(arn).send().await;
    let text = match value {
        Ok(output) => output.secret_string.unwrap_or_default(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Err(hinted(
                format!("the bridge's secret {arn} is gone"),
                format!(
                    "run `{}` to make it again",
                    crate::hint::command(bridge, "deploy")
                ),
            ));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read the bridge's secret")),
    };
    Ok(SigningSecrets::parse(&text).unwrap_or(SigningSecrets {
        version: 1,
        secrets: Vec::new(),
    }))
}

/// Stores `secrets` as the bridge's secret's new value: the relay reads it within
/// seconds.
pub async fn write_secrets(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    secrets: &SigningSecrets,
) -> Result<()> {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(secrets.to_stored())
        .send()
        .await
        .map(drop)
        .map_err(|e| {
            anyhow::Error::new(e).context("cannot store the signing secret in Secrets Manager")
        })
}
