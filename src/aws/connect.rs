//! One AWS configuration for a command: the standard chain (environment, profile, SSO,
//! instance role), narrowed by `--profile`, `--region` and `--endpoint-url`, and checked
//! once, up front, so that a missing region or credentials is a clear error before
//! anything is created.

use anyhow::{Context, Result, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::cli::GlobalArgs;

/// Regions stripe-bridge knows: a typo is caught before any call is made.
const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// The account and region a command works in, and the configuration to reach them.
#[derive(Debug, Clone)]
pub struct AwsContext {
    pub sdk: SdkConfig,
    pub region: String,
    pub account_id: String,
}

/// Loads the configuration and asks STS who we are: this proves the credentials work and
/// gives the account id.
pub async fn connect(global: &GlobalArgs) -> Result<AwsContext> {
    let sdk = load(global).await?;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .context("no AWS region is set: pass --region (e.g. --region us-east-1), or set AWS_REGION or a region in your AWS profile")?;
    if !REGIONS.contains(&region.as_str()) {
        bail!(
            "`{region}` is not an AWS region stripe-bridge knows; check the spelling (e.g. us-east-1, eu-west-1)"
        );
    }
    let identity = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| credentials_error(&e))?;
    let account_id = identity
        .account
        .context("STS did not say which account these credentials belong to")?;
    Ok(AwsContext {
        sdk,
        region,
        account_id,
    })
}

async fn load(global: &GlobalArgs) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &global.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &global.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &global.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    Ok(loader.load().await)
}

fn credentials_error(error: &(dyn std::error::Error + 'static)) -> anyhow::Error {
    let text = relay_function::aws_errors::describe(error);
    if text.contains("credentials") || text.contains("Credentials") {
        anyhow::anyhow!(
            "no usable AWS credentials ({text}). Run `aws configure` or `aws sso login`, set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pick a profile with --profile"
        )
    } else {
        anyhow::anyhow!("cannot reach AWS to check the credentials: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_list_is_sorted_and_has_no_typos() {
        let mut sorted = REGIONS.to_vec();
        sorted.sort();
        assert_eq!(sorted, REGIONS);
        assert!(
            REGIONS
                .iter()
                .all(|r| r.split('-').count() >= 3 && r.ends_with(char::is_numeric))
        );
    }
}
