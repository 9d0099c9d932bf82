//! `stripe-bridge deploy`: from source to a live webhook URL, in one stack.
//!
//! A deploy reads as its phases: settle an existing stack (wait for it, or clear what
//! an interrupted deploy left), work out the settings (each flag not given keeps its
//! deployed value), stage the relay's code in the artifacts bucket, plan the change
//! set, and apply it, following the stack's events to the end. Ctrl-C before the change
//! set runs undoes what the deploy made, as answering no does; after, it says where the
//! stack is.
//!
//! Over 400 lines with its tests: the failure paths the emulator cannot provoke (a
//! rollback, a stack left in ROLLBACK_COMPLETE) are tested here, through SDK test
//! clients, beside the phases they drive.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use anyhow::{Context, Result};
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::StackStatus;
use serde::Serialize;

use super::ExitStatus;
use crate::aws::rules::Rules;
use crate::aws::stack::parameters::{ParameterChange, ParameterPlan, Setting};
use crate::aws::stack::{self, Prepared, StackRequest, StackState};
use crate::aws::{artifacts, concurrency, connect, publishers, relay_code};
use crate::build::package::{self, Architecture, Artifact};
use crate::build::template;
use crate::cli::{BusChoice, DeployArgs};
use crate::hint::hinted;
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::printer::error_lines;
use crate::ui::printer::{ask, can_ask, check_can_ask};
use crate::ui::progress::Progress;
use crate::ui::report;

/// What a deploy did, and the stack's outputs.
#[derive(Debug, Serialize)]
pub struct Deployed {
    pub stack: String,
    pub region: String,
    /// False when the stack was already up to date.
    pub changed: bool,
    /// The settings this deploy changed, before and after (none on a first deploy).
    pub parameters_changed: Vec<ParameterChange>,
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

/// What `deploy --dry-run` found, having changed nothing.
#[derive(Debug, Serialize)]
pub struct DryRun {
    pub stack: String,
    pub region: String,
    /// Whether the stack would be created rather than updated.
    pub create: bool,
    pub resources_changed: Vec<String>,
    pub parameters_changed: Vec<ParameterChange>,
}

impl fmt::Display for DryRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { stack, region, .. } = self;
        if self.resources_changed.is_empty() && self.parameters_changed.is_empty() {
            write!(
                f,
                "Dry run: {stack} in {region} is up to date; nothing to change."
            )
        } else {
            write!(
                f,
                "Dry run: nothing was changed. Deploy without --dry-run to make these changes."
            )
        }
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &DeployArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let started = Instant::now();
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
    let name = &settings.bridge;
    let made = RefCell::new(Made::default());
    tokio::select! {
        result = deploy(&target, name, args, printer, started, &made) => result,
        _ = tokio::signal::ctrl_c() => interrupted(&target, name, &made.take(), printer).await,
    }
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

/// What this deploy has made so far, for Ctrl-C to undo.
#[derive(Debug, Default)]
struct Made {
    /// The artifacts bucket, made for a first deploy.
    bucket: Option<String>,
    /// The change set, and whether it creates the stack (leaving an empty one until run).
    change_set: Option<(String, bool)>,
    /// The change set runs: CloudFormation carries on whatever this command does.
    executing: Option<bool>,
}

/// Ctrl-C: before the change set runs, undoes what the deploy made, as answering no at
/// `--confirm` does; once it runs, says where the stack is and how to go on.
async fn interrupted(
    target: &Target,
    name: &str,
    made: &Made,
    printer: Printer,
) -> Result<ExitStatus> {
    eprintln!();
    if let Some(create) = made.executing {
        let status = stack::describe(&target.cfn, name)
            .await
            .ok()
            .flatten()
            .map_or_else(|| "unknown".to_owned(), |s| s.status.as_str().to_owned());
        let verb = if create { "creating" } else { "updating" };
        printer.warning(format!(
            "interrupted: CloudFormation goes on {verb} stack {name} without this command (now {status})"
        ));
        printer.hint(format!(
            "`{}` shows where it is; `{}` waits for it to finish, then deploys again",
            crate::hint::command(name, "status"),
            crate::hint::command(name, "deploy")
        ));
        return Ok(ExitStatus::Interrupted);
    }
    undo(target, name, made).await?;
    printer.warning("interrupted: nothing deployed, and nothing this deploy made is left");
    Ok(ExitStatus::Interrupted)
}

/// Deletes the change set (and the empty stack a first one leaves) and a bucket made for
/// a first deploy.
async fn undo(target: &Target, name: &str, made: &Made) -> Result<()> {
    if let Some((change_set, create)) = &made.change_set {
        stack::abandon(&target.cfn, name, change_set, *create).await?;
    }
    if let Some(bucket) = &made.bucket {
        artifacts::delete_bucket(&target.s3, bucket).await?;
    }
    Ok(())
}

/// The settings a deploy works with: the flags given, else what the bridge has.
struct Resolved {
    bus: BusChoice,
    arch: Architecture,
    /// None: keep the deployed reserved concurrency.
    cap: Option<i64>,
}

async fn deploy(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    printer: Printer,
    started: Instant,
    made: &RefCell<Made>,
) -> Result<ExitStatus> {
    let existing = settle(target, name, printer).await?;
    let deployed = existing.as_ref().map(|s| s.parameters.as_slice());
    let deployed_value = |key| existing.as_ref().and_then(|s| s.parameter(key));
    let bus = args
        .bus
        .or_else(|| (deployed_value("EventBus") == Some("default")).then_some(BusChoice::Default))
        .unwrap_or(BusChoice::Custom);
    if bus == BusChoice::Default && !args.allow_publishers.is_empty() {
        return Err(hinted(
            "--allow-publisher has nothing to allow on the default bus: its policy is the account's, and the bridge leaves it alone",
            "deploy without --bus default to give the bridge a bus of its own, or leave out --allow-publisher",
        ));
    }
    if let Some(state) = &existing {
        keep_rules_on_their_bus(target, name, bus, state).await?;
    }
    if bus == BusChoice::Default {
        printer.warning(
            "with --bus default, events go on the account's default bus, whose policy the bridge \
             leaves alone: any principal allowed events:PutEvents there can put `source: Stripe` events",
        );
        printer.hint(format!(
            "deploy with --bus custom (`{}`), and only the relay can",
            crate::hint::command(name, "deploy --bus custom")
        ));
    }
    let arch = args
        .arch
        .or_else(|| deployed_value("Architecture").and_then(Architecture::from_lambda_name))
        .unwrap_or(Architecture::X86_64);
    let keeps_cap =
        args.max_concurrency.is_none() && deployed_value("ReservedConcurrency").is_some();
    let cap = if keeps_cap {
        None
    } else {
        Some(relay_cap(target, name, args, printer).await?)
    };
    let resolved = Resolved { bus, arch, cap };
    let mut plan_of_parameters = ParameterPlan::new(settings(args, &resolved), deployed);
    if !args.dry_run {
        check_losses(name, &plan_of_parameters.changes, args, printer).await?;
    }

    let code = stage(target, name, args, arch, printer, made).await?;
    let create = existing.is_none();
    plan_of_parameters.extend(settings_of_code(name, &code), deployed);
    let prepared = plan(target, name, &plan_of_parameters, create, printer).await;
    if prepared.is_err() && create {
        undo(target, name, &made.take()).await.ok();
    }
    let parameters_changed = plan_of_parameters.changes;
    match prepared? {
        Prepared::NoChanges => {
            let state = existing.context("a stack with no changes exists")?;
            if args.dry_run {
                printer.result(&DryRun {
                    stack: name.to_owned(),
                    region: target.region.clone(),
                    create,
                    resources_changed: Vec::new(),
                    parameters_changed: Vec::new(),
                });
                return Ok(ExitStatus::Success);
            }
            printer.status("No changes to deploy");
            finish(target, name, &state.outputs, started, None, false, printer);
            Ok(ExitStatus::Success)
        }
        Prepared::Changes {
            change_set,
            changes,
        } => {
            made.borrow_mut().change_set = Some((change_set.clone(), create));
            printer.status(report::change_table(name, &changes));
            if !parameters_changed.is_empty() {
                printer.status(report::parameter_table(&parameters_changed));
            }
            if args.dry_run {
                undo(target, name, &made.take()).await?;
                printer.result(&DryRun {
                    stack: name.to_owned(),
                    region: target.region.clone(),
                    create,
                    resources_changed: changes.iter().map(|c| c.logical_id.clone()).collect(),
                    parameters_changed,
                });
                return Ok(ExitStatus::Success);
            }
            apply(
                target,
                name,
                args,
                (change_set, changes.len(), parameters_changed),
                create,
                started,
                printer,
                made,
            )
            .await
        }
    }
}

/// Asks before a change that deletes archived events or stops an alert; refuses it
/// without a terminal unless `--yes` was given.
async fn check_losses(
    name: &str,
    changes: &[ParameterChange],
    args: &DeployArgs,
    printer: Printer,
) -> Result<()> {
    let losses = losses(changes);
    if losses.is_empty() || args.yes {
        return Ok(());
    }
    for loss in &losses {
        printer.warning(loss);
    }
    if can_ask() {
        if ask(&format!("Deploy {name} with these changes?")).await? {
            return Ok(());
        }
        return Err(hinted(
            "nothing deployed",
            "leave out the flag to keep the deployed value",
        ));
    }
    Err(hinted(
        format!("this deploy {}", losses.join("; and it ")),
        format!(
            "to do it, run the same deploy with --yes (`{}`); leave out the flag to keep the \
             deployed value",
            crate::hint::command(name, "deploy … --yes")
        ),
    ))
}

/// What the parameter changes lose: archived events, or an alert.
fn losses(changes: &[ParameterChange]) -> Vec<String> {
    let mut losses = Vec::new();
    for change in changes {
        let Some(before) = change.before.as_deref() else {
            continue;
        };
        let after = change.after.as_str();
        match change.key {
            "ArchiveRetentionDays" => {
                let (Ok(old), Ok(new)) = (before.parse::<u32>(), after.parse::<u32>()) else {
                    continue;
                };
                if new != 0 && (old == 0 || new < old) {
                    losses.push(format!(
                        "deletes archived events older than {new} days (the archive keeps them {} now)",
                        report::kept_for(old.into())
                    ));
                }
            }
            "NotifyEmail" if !before.is_empty() && after.is_empty() => {
                losses.push(format!("stops mailing failure notices to {before}"));
            }
            "QuietAlarmSeconds" if before != "0" && after == "0" => {
                losses.push("removes the alarm for a bridge that relays nothing".to_owned());
            }
            _ => {}
        }
    }
    losses
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
    let headroom = concurrency::headroom(&target.sdk, &relay_code::function_name(name))
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
    bus: BusChoice,
    state: &StackState,
) -> Result<()> {
    let (Some(old), new) = (state.output("EventBusName"), bus_name(name, bus)) else {
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

/// Phase 2: the relay's zip, built or given, uploaded by its content hash. A dry run
/// uploads nothing: a change set does not look at the code it names.
async fn stage(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    arch: Architecture,
    printer: Printer,
    made: &RefCell<Made>,
) -> Result<StagedCode> {
    let artifact = artifact(args, arch, printer)?;
    let bucket = artifacts::bucket_name(&target.account_id, &target.region, name);
    if !args.dry_run {
        // Recorded before it is made: Ctrl-C half-way through making it still deletes it.
        if !artifacts::exists(&target.s3, &bucket).await? {
            made.borrow_mut().bucket = Some(bucket.clone());
        }
        artifacts::ensure_bucket(&target.s3, &bucket, &target.region, name).await?;
        if artifacts::upload(&target.s3, &bucket, &artifact).await? {
            printer.detail(format!("Uploaded s3://{bucket}/{}", artifact.key()));
        }
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
    parameters: &ParameterPlan,
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
            parameters: parameters.to_parameters(),
            create,
        },
    )
    .await;
    if prepared.is_err() && create {
        let _ = stack::delete(cfn, name).await;
    }
    prepared
}

/// The parameters every deploy sets: the bridge's name and its code.
fn settings_of_code(name: &str, code: &StagedCode) -> Vec<Setting> {
    vec![
        Setting::given("BridgeName", name),
        Setting::given("CodeBucket", code.bucket.clone()),
        Setting::given("CodeKey", code.key.clone()),
    ]
}

/// The bridge's settings: each one a flag gave, else kept as deployed (or its default).
fn settings(args: &DeployArgs, resolved: &Resolved) -> Vec<Setting> {
    let notify_email = if args.no_notify_email {
        Some(String::new())
    } else {
        args.notify_email.clone()
    };
    let publishers = if args.no_allow_publisher {
        Some(String::new())
    } else if args.allow_publishers.is_empty() {
        None
    } else {
        Some(publishers::parameter_value(&args.allow_publishers))
    };
    let number = |value: Option<u64>| value.map(|v| v.to_string());
    let mut settings = vec![
        Setting::given("Architecture", resolved.arch.lambda_name()),
        Setting::given(
            "EventBus",
            match resolved.bus {
                BusChoice::Custom => "custom",
                BusChoice::Default => "default",
            },
        ),
    ];
    // (parameter, the flag's value if given, the default)
    let optional = [
        ("SignatureToleranceSeconds", number(args.tolerance), "300"),
        ("NotifyEmail", notify_email, ""),
        (
            "ArchiveRetentionDays",
            number(args.retention_days.map(u64::from)),
            "90",
        ),
        (
            "ReservedConcurrency",
            resolved.cap.map(|c| c.to_string()),
            "0",
        ),
        (
            "ClaimCheckOverBytes",
            number(args.claim_check_over),
            "245760",
        ),
        (
            "UnverifiedBurstThreshold",
            number(args.unverified_alarm_threshold.map(u64::from)),
            "100",
        ),
        (publishers::PARAMETER, publishers, ""),
        (
            "QuietAlarmSeconds",
            number(args.alert_if_quiet.map(|q| q.seconds())),
            "0",
        ),
    ];
    settings.extend(
        optional
            .into_iter()
            .map(|(key, value, default)| Setting::optional(key, value, default)),
    );
    settings
}

/// Phase 4: ask if asked to, run the change set and follow the stack to its end.
#[allow(clippy::too_many_arguments)]
async fn apply(
    target: &Target,
    name: &str,
    args: &DeployArgs,
    (change_set, changes, parameters_changed): (String, usize, Vec<ParameterChange>),
    create: bool,
    started: Instant,
    printer: Printer,
    made: &RefCell<Made>,
) -> Result<ExitStatus> {
    let Target { cfn, region, .. } = target;
    let asked = Instant::now();
    if args.confirm && !ask(&format!("Deploy these changes to {name} in {region}?")).await? {
        undo(target, name, &made.take()).await?;
        printer.status("Nothing deployed.");
        return Ok(ExitStatus::Success);
    }
    // The time a person took to answer is not the deploy's.
    let started = started + asked.elapsed();

    let since = now();
    made.borrow_mut().executing = Some(create);
    stack::execute(cfn, name, &change_set).await?;
    let id = stack::describe(cfn, name)
        .await?
        .context("the stack disappeared while deploying")?
        .id;
    let verb = if create { "Creating" } else { "Updating" };
    let progress = Progress::new(&printer, verb, name, changes);
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
    finish(
        target,
        name,
        &state.outputs,
        started,
        Some(parameters_changed),
        create,
        printer,
    );
    Ok(ExitStatus::Success)
}

fn artifact(args: &DeployArgs, arch: Architecture, printer: Printer) -> Result<Artifact> {
    match &args.artifact {
        Some(path) => package::load_prebuilt(path, arch),
        None => super::package::relay(arch, args.build_relay, printer),
    }
}

fn finish(
    target: &Target,
    name: &str,
    outputs: &[(String, String)],
    started: Instant,
    parameters_changed: Option<Vec<ParameterChange>>,
    first: bool,
    printer: Printer,
) {
    let changed = parameters_changed.is_some();
    let url = outputs
        .iter()
        .find(|(k, _)| k == "WebhookUrl")
        .map(|(_, v)| v.as_str())
        .unwrap_or("(not reported)");
    printer.result(&Deployed {
        stack: name.to_owned(),
        region: target.region.clone(),
        changed,
        parameters_changed: parameters_changed.unwrap_or_default(),
        outputs: outputs.iter().cloned().collect(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
    });
    // A bridge deployed before has its endpoint and secret already.
    if first {
        printer.hint(format!(
            "add a rule (`{}`), then `{}` makes the Stripe endpoint for {url} with its secret \
             (STRIPE_API_KEY, or `stripe login`); or add it in Stripe by hand and run `{}`",
            crate::hint::command(name, "add-rule --type invoice.paid --target ARN"),
            crate::hint::command(name, "link"),
            crate::hint::command(name, "set-secret")
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
            arch: None,
            artifact: Some(zip),
            build_relay: false,
            bus: None,
            notify_email: None,
            no_notify_email: false,
            tolerance: None,
            retention_days: None,
            unverified_alarm_threshold: None,
            alert_if_quiet: None,
            allow_publishers: Vec::new(),
            no_allow_publisher: false,
            max_concurrency: None,
            claim_check_over: None,
            confirm: false,
            yes: false,
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

    /// A plain deploy of bridge `live` through `cfn`.
    async fn deploy_live(cfn: Client) -> Result<ExitStatus> {
        deploy(
            &target(cfn),
            "live",
            &args(),
            quiet(),
            Instant::now(),
            &RefCell::default(),
        )
        .await
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

        let error = deploy_live(cfn).await.unwrap_err().to_string();

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

        deploy_live(cfn).await.expect("the deploy recovers");

        assert_eq!(delete.num_calls(), 1);
    }
}
