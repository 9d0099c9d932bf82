//! `stripe-bridge deploy`: from source to a live webhook URL, in one stack.
//!
//! A deploy reads as its phases: settle an existing stack (wait for it, or clear what
//! an interrupted deploy left), stage the relay's code in the artifacts bucket, plan
//! the change set, and apply it, following the stack's events to the end.
//!
//! Over 400 lines with its tests: the failure paths the emulator cannot provoke (a
//! rollback, a stack left in ROLLBACK_COMPLETE) are tested here, through SDK test
//! clients, beside the phases they drive.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use anyhow::{Context, Result};
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::StackStatus;
use serde::Serialize;

use super::ExitStatus;
use crate::aws::rules::Rules;
use crate::aws::stack::{self, Prepared, ResourceChange, StackRequest, StackState};
use crate::aws::{artifacts, concurrency, connect, publishers};
use crate::build::package::{self, Artifact};
use crate::build::{relay_build, template};
use crate::cli::{BusChoice, DeployArgs};
use crate::hint::hinted;
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::printer::error_lines;
use crate::ui::printer::{check_can_ask, confirmed};
use crate::ui::progress::Progress;
use crate::ui::report;

/// What a deploy did, and the stack's outputs.
#[derive(Debug, Serialize)]
pub struct Deployed {
    pub stack: String,
    pub region: String,
    /// False when the stack was already up to date.
    pub changed: bool,
    pub outputs: BTreeMap<String, String>,
    pub elapsed_seconds: f64,
}

impl fmt::Display for Deployed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outputs: Vec<(String, String)> = self
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        write!(f, "Outputs:\n{}\n\n", report::outputs_text(&outputs))?;
        let Self { stack, region, .. } = self;
        if self.changed {
            write!(
                f,
                "Deployed {stack} in {region} in {:.1} s.",
                self.elapsed_seconds
            )
        } else {
            write!(f, "{stack} in {region} is up to date.")
        }
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &DeployArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let started = Instant::now();
    if args.dry_run {
        print!("{}", super::template::text(None, printer.format));
        return Ok(ExitStatus::Success);
    }
    if args.confirm {
        check_can_ask("leave out --confirm")?;
    }
    let ctx = connect::connect(&settings.aws).await?;
    let target = Target {
        cfn: aws_sdk_cloudformation::Client::new(&ctx.sdk),
        s3: aws_sdk_s3::Client::new(&ctx.sdk),
        sdk: ctx.sdk,
        region: ctx.region,
        account_id: ctx.account_id,
    };
    deploy(&target, &settings.bridge, args, printer, started).await
}

/// Where a deploy goes: the clients, and the account and region they reach.
pub struct Target {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    /// For the bridge's rules.
    pub sdk: aws_config::SdkConfig,
    pub region: String,
    pub account_id: String,
}

/// The relay's code, in the artifacts bucket.
struct StagedCode {
    bucket: String,
    key: String,
}

async fn deploy(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    printer: Printer,
    started: Instant,
) -> Result<ExitStatus> {
    if args.bus == BusChoice::Default && !args.allow_publishers.is_empty() {
        return Err(hinted(
            "--allow-publisher has nothing to allow on the default bus: its policy is the account's, and the bridge leaves it alone",
            "deploy without --bus default to give the bridge a bus of its own, or leave out --allow-publisher",
        ));
    }
    if args.bus == BusChoice::Default {
        printer.warning(
            "with --bus default, events go on the account's default bus, whose policy the bridge \
             leaves alone: any principal allowed events:PutEvents there can put `source: Stripe` events",
        );
        printer.hint("deploy without --bus default, and only the relay can");
    }
    let existing = settle(target, name, printer).await?;
    if let Some(state) = &existing {
        keep_rules_on_their_bus(target, name, args, state).await?;
    }
    let cap = relay_cap(target, name, args, printer).await?;
    let code = stage(target, name, args, printer).await?;
    let create = existing.is_none();
    match plan(target, name, args, &code, cap, create, printer).await? {
        Prepared::NoChanges => {
            let state = existing.context("a stack with no changes exists")?;
            printer.status(format!("No changes to deploy: {name} is up to date"));
            finish(target, name, &state.outputs, started, false, printer);
            Ok(ExitStatus::Success)
        }
        Prepared::Changes {
            change_set,
            changes,
        } => {
            apply(
                target,
                name,
                args,
                &code,
                (change_set, changes),
                create,
                started,
                printer,
            )
            .await
        }
    }
}

/// The relay's concurrency cap: as asked, or the default where the account can spare
/// it. Checked before anything is made.
async fn relay_cap(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    printer: Printer,
) -> Result<i64> {
    if args.max_concurrency == Some(0) {
        return Ok(0);
    }
    let headroom = concurrency::headroom(&target.sdk, &format!("{name}-relay"))
        .await
        .map_err(|e| error_lines(&e).0);
    let (cap, warning) = concurrency::choose(args.max_concurrency, headroom)?;
    if let Some(warning) = warning {
        printer.warning(warning);
        printer.hint(
            "an EventBridge slowdown can then take the account's whole Lambda concurrency; \
             raise the limit in Service Quotas, and deploy again",
        );
    }
    Ok(cap)
}

/// Phase 1: the existing stack, once CloudFormation is done with it; `None` if there is
/// none, or only an empty one that a failed or interrupted first deploy left (deleted).
async fn settle(target: &Target, name: &str, printer: Printer) -> Result<Option<StackState>> {
    let Target { cfn, region, .. } = target;
    let mut existing = stack::describe(cfn, name).await?;
    if let Some(state) = &existing {
        stack::check_owner(state, name, region)?;
        if state.in_progress() {
            printer.status(format!(
                "Stack {name} is busy ({}); waiting for it to finish",
                state.status.as_str()
            ));
            existing = stack::wait(cfn, &state.id, DateTime::from_secs(0), |_| {})
                .await?
                .0;
        }
    }
    if let Some(state) = &existing
        && (state.status == StackStatus::RollbackComplete || state.never_created())
    {
        printer.status(if state.never_created() {
            format!("Stack {name} was left by a deploy that stopped before it ran, and holds nothing; deleting it to start again")
        } else {
            format!("Stack {name} failed its first create and holds nothing; deleting it to start again")
        });
        let since = now();
        stack::delete(cfn, name).await?;
        stack::wait(cfn, &state.id, since, |_| {}).await?;
        existing = None;
    }
    Ok(existing)
}

/// Refuses to move the bridge to another bus while rules are on the one it has: they
/// would stay there, delivering nothing the bridge relays, with their permissions.
async fn keep_rules_on_their_bus(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    state: &StackState,
) -> Result<()> {
    let (Some(old), new) = (state.output("EventBusName"), bus_name(name, args.bus)) else {
        return Ok(());
    };
    if old == new {
        return Ok(());
    }
    let rules = Rules::new(&target.sdk, old, name).list().await?;
    if rules.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    Err(hinted(
        format!(
            "bridge {name} has {} rule(s) on bus {old} ({}); moving it to bus {new} would leave them behind",
            rules.len(),
            names.join(", ")
        ),
        format!(
            "remove them first with `stripe-bridge --name {name} remove-rule RULE`, deploy, then add them \
             again with add-rule, which makes them on the new bus"
        ),
    ))
}

/// The bus a deploy with `choice` puts events on: the bridge's own is named after it.
fn bus_name(bridge: &str, choice: BusChoice) -> &str {
    match choice {
        BusChoice::Custom => bridge,
        BusChoice::Default => "default",
    }
}

/// Phase 2: the relay's zip, built or given, uploaded by its content hash.
async fn stage(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    printer: Printer,
) -> Result<StagedCode> {
    let artifact = artifact(args, printer)?;
    let bucket = artifacts::bucket_name(&target.account_id, &target.region, name);
    artifacts::ensure_bucket(&target.s3, &bucket, &target.region, name).await?;
    if artifacts::upload(&target.s3, &bucket, &artifact).await? {
        printer.detail(format!("Uploaded s3://{bucket}/{}", artifact.key()));
    }
    Ok(StagedCode {
        bucket,
        key: artifact.key(),
    })
}

/// Phase 3: a change set for the rendered template and the bridge's settings. A first
/// deploy that goes no further leaves nothing behind.
async fn plan(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    code: &StagedCode,
    cap: i64,
    create: bool,
    printer: Printer,
) -> Result<Prepared> {
    let cfn = &target.cfn;
    if !create {
        let discarded = stack::discard_pending_change_sets(cfn, name).await?;
        if discarded > 0 {
            printer.status(format!(
                "Deleted {discarded} change set(s) left by an earlier deploy that stopped"
            ));
        }
    }
    let prepared = stack::prepare(
        cfn,
        StackRequest {
            name,
            template_body: template::to_json_text(&template::render()),
            parameters: parameters(name, args, code, cap),
            create,
        },
    )
    .await;
    if prepared.is_err() && create {
        let _ = stack::delete(cfn, name).await;
        let _ = artifacts::delete_bucket(&target.s3, &code.bucket).await;
    }
    prepared
}

/// The stack's parameters: the bridge's settings.
fn parameters(
    name: &str,
    args: &DeployArgs,
    code: &StagedCode,
    cap: i64,
) -> Vec<(&'static str, String)> {
    vec![
        ("BridgeName", name.to_owned()),
        ("CodeBucket", code.bucket.clone()),
        ("CodeKey", code.key.clone()),
        ("Architecture", args.arch.lambda_name().to_owned()),
        (
            "EventBus",
            match args.bus {
                BusChoice::Custom => "custom".to_owned(),
                BusChoice::Default => "default".to_owned(),
            },
        ),
        ("SignatureToleranceSeconds", args.tolerance.to_string()),
        ("NotifyEmail", args.notify_email.clone().unwrap_or_default()),
        ("ArchiveRetentionDays", args.retention_days.to_string()),
        ("ReservedConcurrency", cap.to_string()),
        ("ClaimCheckOverBytes", args.claim_check_over.to_string()),
        (
            "UnverifiedBurstThreshold",
            args.unverified_alarm_threshold.to_string(),
        ),
        (
            publishers::PARAMETER,
            publishers::parameter_value(&args.allow_publishers),
        ),
        (
            "QuietAlarmSeconds",
            args.alert_if_quiet
                .map_or(0, |quiet| quiet.as_secs())
                .to_string(),
        ),
    ]
}

/// Phase 4: show the changes, ask if asked to, run them and follow the stack to its end.
#[allow(clippy::too_many_arguments)]
async fn apply(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    code: &StagedCode,
    (change_set, changes): (String, Vec<ResourceChange>),
    create: bool,
    started: Instant,
    printer: Printer,
) -> Result<ExitStatus> {
    let Target {
        cfn, s3, region, ..
    } = target;
    printer.status(report::change_table(name, &changes));
    if args.confirm && !confirmed(&format!("Deploy these changes to {name} in {region}?"))? {
        stack::abandon(cfn, name, &change_set, create).await?;
        if create {
            artifacts::delete_bucket(s3, &code.bucket).await?;
        }
        printer.status("Nothing deployed.");
        return Ok(ExitStatus::Success);
    }

    let since = now();
    stack::execute(cfn, name, &change_set).await?;
    let id = stack::describe(cfn, name)
        .await?
        .context("the stack disappeared while deploying")?
        .id;
    let verb = if create { "Creating" } else { "Updating" };
    let progress = Progress::new(&printer, verb, name, changes.len());
    let (state, events) = stack::wait(cfn, &id, since, |event| progress.event(event)).await?;
    progress.finish();
    let state = state.context("the stack disappeared while deploying")?;
    let status = state.status.as_str();
    if status.contains("ROLLBACK") || status.ends_with("_FAILED") {
        let cause = stack::first_failure(&events, name)
            .unwrap_or_else(|| format!("the stack ended in {status}"));
        return Err(hinted(
            format!(
                "deploying {name} failed: {cause}. The stack rolled back ({status}); nothing changed"
            ),
            format!("fix the cause, then run `stripe-bridge --name {name} deploy` again"),
        ));
    }
    finish(target, name, &state.outputs, started, true, printer);
    Ok(ExitStatus::Success)
}

fn artifact(args: &DeployArgs, printer: Printer) -> Result<Artifact> {
    match &args.artifact {
        Some(path) => package::load_prebuilt(path, args.arch),
        None => {
            let cache = relay_build::cache_dir()?;
            printer.status(relay_build::building_message(args.arch, &cache));
            relay_build::build(
                args.arch,
                &cache,
                |s| printer.status(s),
                |d| printer.detail(d),
            )
        }
    }
}

fn finish(
    target: &Target,
    name: &str,
    outputs: &[(String, String)],
    started: Instant,
    changed: bool,
    printer: Printer,
) {
    let url = outputs
        .iter()
        .find(|(k, _)| k == "WebhookUrl")
        .map(|(_, v)| v.as_str())
        .unwrap_or("(not reported)");
    printer.result(&Deployed {
        stack: name.to_owned(),
        region: target.region.clone(),
        changed,
        outputs: outputs.iter().cloned().collect(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
    });
    if changed {
        printer.hint(format!(
            "add {url} in Stripe (Developers > Webhooks), then run `stripe-bridge --name {name} set-secret` \
             and paste the endpoint's signing secret at its prompt"
        ));
    }
}

fn now() -> DateTime {
    DateTime::from(std::time::SystemTime::now())
}

/// What the emulator cannot provoke, through real SDK clients with canned answers: a
/// deploy that rolls back, and a stack left in ROLLBACK_COMPLETE by a failed first create.
#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::Client;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
    use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
    use aws_sdk_cloudformation::types::{
        Change, ChangeSetStatus, ChangeSetType, ChangeType, ResourceChange, ResourceStatus,
        StackEvent,
    };
    use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
    use aws_sdk_s3::operation::head_object::HeadObjectOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;
    use crate::aws::stack::fixtures::{ARN, stack};
    use crate::cli::{Architecture, BusChoice};
    use crate::settings::OutputFormat;

    fn event(
        id: &str,
        logical: &str,
        kind: &str,
        status: ResourceStatus,
        reason: &str,
    ) -> StackEvent {
        StackEvent::builder()
            .stack_id(ARN)
            .event_id(id)
            .timestamp(DateTime::from(std::time::SystemTime::now()))
            .logical_resource_id(logical)
            .resource_type(kind)
            .resource_status(status)
            .resource_status_reason(reason)
            .build()
    }

    /// The change-set rules every deploy here goes through; the change set must be of
    /// type `kind`.
    fn change_set_rules(kind: ChangeSetType) -> Vec<Rule> {
        vec![
            mock!(Client::create_change_set)
                .match_requests(move |r| r.change_set_type() == Some(&kind))
                .then_output(|| CreateChangeSetOutput::builder().id("cs").build()),
            mock!(Client::describe_change_set).then_output(|| {
                DescribeChangeSetOutput::builder()
                    .status(ChangeSetStatus::CreateComplete)
                    .changes(
                        Change::builder()
                            .r#type(ChangeType::Resource)
                            .resource_change(
                                ResourceChange::builder()
                                    .logical_resource_id("RelayRole")
                                    .resource_type("AWS::IAM::Role")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
            mock!(Client::execute_change_set)
                .then_output(|| ExecuteChangeSetOutput::builder().build()),
            // No change set left over from an earlier deploy.
            mock!(Client::list_change_sets).then_output(|| ListChangeSetsOutput::builder().build()),
        ]
    }

    /// The artifacts bucket and the artifact are already there.
    fn s3() -> aws_sdk_s3::Client {
        let bucket = mock!(aws_sdk_s3::Client::head_bucket)
            .then_output(|| HeadBucketOutput::builder().build());
        let object = mock!(aws_sdk_s3::Client::head_object)
            .then_output(|| HeadObjectOutput::builder().build());
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&bucket, &object])
    }

    fn args() -> DeployArgs {
        let zip = std::env::temp_dir().join(format!("sb-deploy-test-{}.zip", std::process::id()));
        std::fs::write(
            &zip,
            crate::build::package::package(b"ELF GLIBC_2.17")
                .unwrap()
                .zip,
        )
        .unwrap();
        DeployArgs {
            arch: Architecture::X86_64,
            artifact: Some(zip),
            bus: BusChoice::Custom,
            notify_email: None,
            tolerance: 300,
            retention_days: 90,
            unverified_alarm_threshold: 100,
            alert_if_quiet: None,
            allow_publishers: Vec::new(),
            max_concurrency: None,
            claim_check_over: 245_760,
            confirm: false,
            dry_run: false,
        }
    }

    fn quiet() -> Printer {
        Printer {
            format: OutputFormat::Json,
            quiet: true,
            verbose: false,
        }
    }

    fn target(cfn: Client) -> Target {
        Target {
            cfn,
            s3: s3(),
            sdk: aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        }
    }

    #[tokio::test]
    async fn a_deploy_that_rolls_back_names_the_first_failure_and_fails() {
        let stacks = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateComplete))
            .output(|| stack(StackStatus::UpdateInProgress))
            .output(|| stack(StackStatus::UpdateRollbackComplete))
            .repeatedly()
            .build();
        let events = mock!(Client::describe_stack_events).then_output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "2",
                    "RelayFunction",
                    "AWS::Lambda::Function",
                    ResourceStatus::UpdateFailed,
                    "Resource update cancelled",
                ))
                .stack_events(event(
                    "1",
                    "RelayRole",
                    "AWS::IAM::Role",
                    ResourceStatus::UpdateFailed,
                    "AccessDenied: iam:PutRolePolicy",
                ))
                .build()
        });
        let mut rules = change_set_rules(ChangeSetType::Update);
        rules.extend([stacks, events]);
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &rules);

        let error = deploy(&target(cfn), "live", &args(), quiet(), Instant::now())
            .await
            .unwrap_err()
            .to_string();

        assert!(
            error.contains("RelayRole (AWS::IAM::Role) failed: AccessDenied: iam:PutRolePolicy"),
            "{error}"
        );
        assert!(error.contains("rolled back"), "{error}");
    }

    #[tokio::test]
    async fn a_stack_left_in_rollback_complete_is_deleted_and_made_again() {
        let stacks = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::RollbackComplete))
            .output(|| stack(StackStatus::DeleteComplete))
            .output(|| stack(StackStatus::CreateComplete))
            .repeatedly()
            .build();
        let delete =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let events = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let mut rules = change_set_rules(ChangeSetType::Create);
        rules.extend([stacks, events]);
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            rules.iter().chain([&delete])
        );

        deploy(&target(cfn), "live", &args(), quiet(), Instant::now())
            .await
            .expect("the deploy recovers");

        assert_eq!(delete.num_calls(), 1);
    }
}
