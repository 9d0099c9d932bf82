//! One AWS configuration for a command: the standard chain (environment, profile, SSO,
//! instance role), narrowed by `--profile`, `--region` and `--endpoint-url`, and checked
//! once, up front, so that a missing region or credentials is a clear error before
//! anything is created.

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::hint::{WithHint, hinted};
use crate::settings::AwsSettings;

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
    /// Who the credentials are, as STS says (for a role session, its `assumed-role` ARN).
    pub caller_arn: String,
}

/// Loads the configuration and asks STS who we are: this proves the credentials work and
/// gives the account id.
pub async fn connect(settings: &AwsSettings) -> Result<AwsContext> {
    let sdk = load(settings).await?;
    let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
        hinted(
            "no AWS region is set",
            "pass --region (e.g. --region us-east-1), or set AWS_REGION or a region in your AWS profile",
        )
    })?;
    if !REGIONS.contains(&region.as_str()) {
        return Err(hinted(
            format!("`{region}` is not an AWS region stripe-bridge knows"),
            "check the spelling (e.g. us-east-1, eu-west-1)",
        ));
    }
    let identity = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(credentials_error)?;
    let account_id = identity
        .account
        .context("STS did not say which account these credentials belong to")?;
    let caller_arn = identity.arn.unwrap_or_default();
    Ok(AwsContext {
        sdk,
        region,
        account_id,
        caller_arn,
    })
}

async fn load(settings: &AwsSettings) -> Result<SdkConfig> {
    // The CLI names itself in every request's user agent (`app/stripe-bridge`), so that a
    // test can tell its calls from the test harness's (tests/emulator/call_log.py).
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .app_name(aws_config::AppName::new("stripe-bridge").expect("a valid app name"));
    if let Some(profile) = &settings.profile {
        check_profile(profile).await?;
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    Ok(loader.load().await)
}

/// Refuses a `--profile` that the AWS config and credentials files do not define: the
/// SDK would otherwise go on with whatever else its chain finds (the environment's
/// credentials, say), and act as someone the user did not name.
async fn check_profile(name: &str) -> Result<()> {
    use aws_types::os_shim_internal::{Env, Fs};
    // The default files: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/.
    let files = Default::default();
    let profiles = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await;
    if profiles.is_ok_and(|p| p.get_profile(name).is_some()) {
        return Ok(());
    }
    let file = |variable: &str, default: &str| {
        std::env::var(variable).unwrap_or_else(|_| default.to_owned())
    };
    Err(hinted(
        format!(
            "profile {name} not found in {} or {}",
            file("AWS_CONFIG_FILE", "~/.aws/config"),
            file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
        ),
        "check its name (`aws configure list-profiles` lists them), or leave out --profile",
    ))
}

/// Why STS could not say who we are: no usable credentials, or no way to reach AWS.
fn credentials_error(
    error: aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
        aws_sdk_sts::config::http::HttpResponse,
    >,
) -> anyhow::Error {
    const FIX: &str = "run `aws configure` or `aws sso login`, set AWS_ACCESS_KEY_ID and \
                       AWS_SECRET_ACCESS_KEY, or pick a profile with --profile";
    // AWS answered: it refused the credentials it was given (expired, revoked, mistyped).
    if error.as_service_error().is_some() {
        return Err::<(), _>(error)
            .with_hint("AWS refused the credentials", FIX)
            .unwrap_err();
    }
    let credentials =
        std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .any(|e| {
            let text = e.to_string();
            text.contains("credentials") || text.contains("Credentials")
        });
    if credentials {
        // The chain's own account of each provider it tried (the environment, the
        // profile files, SSO, IMDS…) says nothing the fix does not.
        hinted("no usable AWS credentials were found", FIX)
    } else {
        Err::<(), _>(error)
            .with_hint(
                "cannot reach AWS to check the credentials",
                "check your network, and --endpoint-url or AWS_ENDPOINT_URL if you set one",
            )
            .unwrap_err()
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
