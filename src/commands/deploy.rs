//! `stripe-bridge deploy`: from source to a live webhook URL, in one stack.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::StackStatus;
use serde_json::json;

use crate::artifacts;
use crate::aws;
use crate::cli::{BusChoice, DeployArgs, GlobalArgs};
use crate::output::{Printer, Progress, check_can_ask, confirmed};
use crate::package::{self, Artifact};
use crate::report;
use crate::stack::{self, Prepared, StackRequest};
use crate::template;

pub async fn run(global: &GlobalArgs, args: &DeployArgs, printer: Printer) -> Result<()> {
    let started = Instant::now();
    let name = global.name.as_str();
    if args.dry_run {
        print!("{}", template::to_yaml_text(&template::render()));
        return Ok(());
    }
    if args.confirm {
        check_can_ask("leave out --confirm")?;
    }
    let ctx = aws::connect(global).await?;
    let cfn = aws_sdk_cloudformation::Client::new(&ctx.sdk);
    let s3 = aws_sdk_s3::Client::new(&ctx.sdk);

    let mut existing = stack::describe(&cfn, name).await?;
    if let Some(state) = &existing {
        stack::check_owner(state, name, &ctx.region)?;
        if state.in_progress() {
            printer.status(format!(
                "Stack {name} is busy ({}); waiting for it to finish",
                state.status.as_str()
            ));
            existing = stack::wait(&cfn, &state.id, DateTime::from_secs(0), |_| {})
                .await?
                .0;
        }
    }
    if let Some(state) = &existing
        && state.status == StackStatus::RollbackComplete
    {
        printer.status(format!(
            "Stack {name} failed its first create and holds nothing; deleting it to start again"
        ));
        let since = now();
        stack::delete(&cfn, name).await?;
        stack::wait(&cfn, &state.id, since, |_| {}).await?;
        existing = None;
    }

    let artifact = artifact(args, printer)?;
    let bucket = artifacts::bucket_name(&ctx.account_id, &ctx.region, name);
    artifacts::ensure_bucket(&s3, &bucket, &ctx.region, name).await?;
    if artifacts::upload(&s3, &bucket, &artifact).await? {
        printer.detail(format!("Uploaded s3://{bucket}/{}", artifact.key()));
    }

    let mut parameters = vec![
        ("BridgeName", name.to_owned()),
        ("CodeBucket", bucket.clone()),
        ("CodeKey", artifact.key()),
        (
            "Architecture",
            package::Architecture::from(args.arch)
                .lambda_name()
                .to_owned(),
        ),
        (
            "EventBus",
            match args.bus {
                BusChoice::Custom => "custom".to_owned(),
                BusChoice::Default => "default".to_owned(),
            },
        ),
        ("SignatureToleranceSeconds", args.tolerance.to_string()),
    ];
    parameters.push(("NotifyEmail", args.notify_email.clone().unwrap_or_default()));
    let create = existing.is_none();
    let prepared = stack::prepare(
        &cfn,
        StackRequest {
            name,
            template_body: template::to_json_text(&template::render()),
            parameters,
            create,
        },
    )
    .await;
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(error) if create => {
            // A first deploy that goes no further leaves nothing behind.
            let _ = stack::delete(&cfn, name).await;
            let _ = artifacts::delete_bucket(&s3, &bucket).await;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    let (change_set, changes) = match prepared {
        Prepared::NoChanges => {
            let state = existing.context("a stack with no changes exists")?;
            printer.status(format!("No changes to deploy: {name} is up to date"));
            finish(&printer, name, &ctx.region, &state.outputs, started, false);
            return Ok(());
        }
        Prepared::Changes {
            change_set,
            changes,
        } => (change_set, changes),
    };
    printer.status(report::change_table(name, &changes));
    if args.confirm
        && !confirmed(&format!(
            "Deploy these changes to {name} in {}?",
            ctx.region
        ))?
    {
        stack::abandon(&cfn, name, &change_set, create).await?;
        printer.status("Nothing deployed.");
        return Ok(());
    }

    let since = now();
    stack::execute(&cfn, name, &change_set).await?;
    let id = stack::describe(&cfn, name)
        .await?
        .context("the stack disappeared while deploying")?
        .id;
    let verb = if create { "Creating" } else { "Updating" };
    let progress = Progress::new(&printer, verb, name, changes.len());
    let (state, events) = stack::wait(&cfn, &id, since, |event| progress.event(event)).await?;
    progress.finish();
    let state = state.context("the stack disappeared while deploying")?;
    let status = state.status.as_str();
    if status.contains("ROLLBACK") || status.ends_with("_FAILED") {
        let cause = report::first_failure(&events, name)
            .unwrap_or_else(|| format!("the stack ended in {status}"));
        bail!(
            "deploying {name} failed: {cause}. The stack rolled back ({status}); nothing changed."
        );
    }
    finish(&printer, name, &ctx.region, &state.outputs, started, true);
    Ok(())
}

fn artifact(args: &DeployArgs, printer: Printer) -> Result<Artifact> {
    match &args.artifact {
        Some(path) => package::load_prebuilt(path),
        None => {
            printer.status("Building the relay (the first build takes a few minutes)");
            package::build(args.arch.into(), &package::cache_dir()?, printer)
        }
    }
}

fn finish(
    printer: &Printer,
    name: &str,
    region: &str,
    outputs: &[(String, String)],
    started: Instant,
    changed: bool,
) {
    let elapsed = started.elapsed().as_secs_f64();
    let url = outputs
        .iter()
        .find(|(k, _)| k == "WebhookUrl")
        .map(|(_, v)| v.as_str())
        .unwrap_or("(not reported)");
    printer.result(
        format!(
            "Outputs:\n{}\n\nDeployed {name} in {region} in {elapsed:.1} s.\nNext: add {url} in Stripe \
             (Developers > Webhooks), then run `stripe-bridge --name {name} set-secret whsec_…`",
            report::outputs_text(outputs)
        ),
        json!({
            "stack": name,
            "region": region,
            "changed": changed,
            "outputs": outputs
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                .collect::<serde_json::Map<_, _>>(),
            "elapsed_seconds": elapsed,
        }),
    );
}

fn now() -> DateTime {
    DateTime::from(std::time::SystemTime::now())
}
