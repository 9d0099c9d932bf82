//! `stripe-bridge remove`: delete everything the bridge made, and wait until it is gone.

use std::fmt;

use anyhow::Result;
use aws_sdk_cloudformation::primitives::DateTime;
use serde::Serialize;

use super::ExitStatus;
use super::linked::{REPLACES_KEY, StripeSide};
use crate::aws::replays::{self, Replays};
use crate::aws::rules::Rules;
use crate::aws::{artifacts, connect, delivery_probe, event_bus, stack};
use crate::cli::RemoveArgs;
use crate::hint::{WithHint, hinted};
use crate::settings::GlobalSettings;
use crate::stripe_api::client::Form;
use crate::stripe_api::webhook_endpoints;
use crate::ui::Printer;
use crate::ui::printer::{check_can_ask, confirmed};
use crate::ui::progress::Progress;

/// What `remove` did.
#[derive(Debug, Serialize)]
pub struct Removed {
    pub stack: String,
    pub region: String,
    /// False when there was no such bridge.
    pub removed: bool,
    /// The Stripe webhook endpoints `link` made, deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripe_endpoints_deleted: Vec<String>,
    /// Endpoints `link --adopt` took over: left in Stripe, unmarked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripe_endpoints_left: Vec<String>,
}

impl fmt::Display for Removed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { stack, region, .. } = self;
        if self.removed {
            write!(f, "Removed bridge {stack} from {region}.")?;
        } else if self.stripe_endpoints_deleted.is_empty() {
            write!(f, "No bridge {stack} in {region}; nothing to remove.")?;
        } else {
            write!(
                f,
                "No bridge {stack} in {region}; removed what was left of it."
            )?;
        }
        for id in &self.stripe_endpoints_deleted {
            write!(f, "\nDeleted its Stripe webhook endpoint {id}.")?;
        }
        for id in &self.stripe_endpoints_left {
            write!(
                f,
                "\nLeft Stripe webhook endpoint {id}, which was adopted, not made: it still points at the bridge's old URL; delete or re-point it in Stripe's Dashboard."
            )?;
        }
        Ok(())
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &RemoveArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let name = settings.bridge.as_str();
    let ctx = connect::connect(&settings.aws).await?;
    let cfn = aws_sdk_cloudformation::Client::new(&ctx.sdk);
    let s3 = aws_sdk_s3::Client::new(&ctx.sdk);
    let bucket = artifacts::bucket_name(&ctx.account_id, &ctx.region, name);

    let existing = stack::describe(&cfn, name).await?;
    let has_bucket = artifacts::exists(&s3, &bucket).await?;
    let Some(state) = existing else {
        // An earlier remove that stopped half-way left these: finish it.
        // A replay cannot be deleted; one still running would go on delivering to rules
        // that are about to go. Finished replays are only a record, kept by EventBridge.
        let cancelled = Replays::new(&ctx.sdk)
            .cancel_running(&replays::replay_prefix(name))
            .await?;
        for replay in cancelled {
            printer.status(format!("Cancelled replay {replay}"));
        }
        remove_rules(&ctx.sdk, name, printer).await?;
        if has_bucket {
            artifacts::delete_bucket(&s3, &bucket).await?;
        }
        let (deleted, left) = remove_stripe_endpoints(settings, &ctx, printer).await?;
        printer.result(&Removed {
            stack: name.to_owned(),
            region: ctx.region,
            removed: false,
            stripe_endpoints_deleted: deleted,
            stripe_endpoints_left: left,
        });
        return Ok(ExitStatus::Success);
    };
    stack::check_owner(&state, name, &ctx.region)?;
    // Only a bridge that is there needs a question: nothing to remove needs none.
    if !args.yes {
        check_can_ask("pass --yes")?;
    }
    if !args.yes
        && !confirmed(&format!(
            "Remove bridge {name} (stack {name} in {}) and everything it made?",
            ctx.region
        ))?
    {
        printer.status("Nothing removed.");
        return Ok(ExitStatus::Success);
    }

    remove_rules(&ctx.sdk, name, printer).await?;
    // Queues of `test --expect-delivery` probes that were interrupted.
    let probes = delivery_probe::remove_leftover_queues(&ctx.sdk, name).await?;
    if probes > 0 {
        printer.status(format!("Removed {probes} leftover probe queue(s)"));
    }
    // Objects in a bucket keep CloudFormation from deleting it.
    if let Some(claim_checks) = state.output("ClaimCheckBucketName")
        && artifacts::exists(&s3, claim_checks).await?
    {
        artifacts::empty(&s3, claim_checks).await?;
    }
    let since = DateTime::from(std::time::SystemTime::now());
    stack::delete(&cfn, name).await?;
    let progress = Progress::new(&printer, "Deleting", name, 0);
    let (after, events) =
        stack::wait(&cfn, &state.id, since, |event| progress.event(event)).await?;
    progress.finish();
    if let Some(after) = after {
        let cause = stack::first_failure(&events, name)
            .unwrap_or_else(|| format!("the stack is {}", after.status.as_str()));
        return Err(hinted(
            format!("removing {name} failed: {cause}"),
            format!("fix that, then run `stripe-bridge --name {name} remove` again"),
        ));
    }
    // A secret CloudFormation deleted with a recovery window would linger for days.
    if let Some(secret) = state.output("SigningSecretArn") {
        let deleted = aws_sdk_secretsmanager::Client::new(&ctx.sdk)
            .delete_secret()
            .secret_id(secret)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(anyhow::Error::new(e).context("cannot delete the signing secret")),
        }
    }
    if has_bucket {
        artifacts::delete_bucket(&s3, &bucket).await?;
    }
    // Stripe's side last: until the stack is gone, the endpoint still feeds a bridge
    // that works; a remove run again after a failure here finds the endpoints by their
    // metadata, with no stack needed.
    let (deleted, left) = remove_stripe_endpoints(settings, &ctx, printer)
        .await
        .with_hint(
            format!("bridge {name} is removed from AWS, but its Stripe webhook endpoint could not be deleted"),
            format!(
                "run `{}` again once Stripe answers: it finds the endpoint by its metadata",
                crate::hint::command(name, "remove --yes")
            ),
        )?;
    printer.result(&Removed {
        stack: name.to_owned(),
        region: ctx.region,
        removed: true,
        stripe_endpoints_deleted: deleted,
        stripe_endpoints_left: left,
    });
    Ok(ExitStatus::Success)
}

/// Deletes the Stripe webhook endpoints `link` made for the bridge; an adopted one is
/// left, with the bridge's marks taken off. Without a Stripe key there is nothing to
/// look with: a hint says how to finish.
async fn remove_stripe_endpoints(
    settings: &GlobalSettings,
    ctx: &connect::AwsContext,
    printer: Printer,
) -> Result<(Vec<String>, Vec<String>)> {
    let Some(side) = StripeSide::open_if_keyed(settings, &ctx.account_id, &ctx.region).await?
    else {
        printer.hint(format!(
            "if the bridge was linked to Stripe, set STRIPE_API_KEY (or run `stripe login`) and run `{}` again to delete its webhook endpoint",
            crate::hint::command(&settings.bridge, "remove --yes")
        ));
        return Ok((Vec::new(), Vec::new()));
    };
    let (mut deleted, mut left) = (Vec::new(), Vec::new());
    for endpoint in &side.endpoints {
        if endpoint.adopted() {
            let marks: Vec<(&str, &str)> = webhook_endpoints::MARKS
                .iter()
                .map(|k| (*k, ""))
                .chain([(REPLACES_KEY, "")])
                .collect();
            webhook_endpoints::update(
                &side.client,
                &endpoint.id,
                &Form::new().map("metadata", marks),
            )
            .await?;
            left.push(endpoint.id.clone());
        } else {
            webhook_endpoints::delete(&side.client, &endpoint.id).await?;
            deleted.push(endpoint.id.clone());
        }
    }
    Ok((deleted, left))
}

/// Deletes the rules add-rule made, with their permissions, on every bus: the bridge may
/// have used another bus before (its rules carry its tag), and a bus with rules on it
/// cannot go.
async fn remove_rules(sdk: &aws_config::SdkConfig, bridge: &str, printer: Printer) -> Result<()> {
    for bus in event_bus::all(sdk).await? {
        let rules = Rules::new(sdk, &bus, bridge);
        for rule in rules.list().await? {
            rules.delete(&rule.name).await?;
            printer.status(format!("Removed rule {} from bus {bus}", rule.name));
        }
    }
    Ok(())
}
