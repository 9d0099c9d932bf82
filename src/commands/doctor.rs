//! `stripe-bridge doctor`: the checks a careful operator makes of a bridge, each passed
//! or failed with its fix: that these credentials reach the bridge, that its stack is
//! healthy and runs this CLI's relay, that it has a signing secret, that someone hears
//! its alarms, that every rule's target is there and lets the rule deliver, that no dead
//! letter waits, that its archive keeps events, and how its concurrency is capped. Exit 1
//! when any fails.

use std::fmt;

use anyhow::Result;
use relay_function::signature::unix_now;
use serde::Serialize;

use super::ExitStatus;
use super::linked::{self, StripeSide};
use super::status::{RelayCode, relay_code};
use crate::aws::bridge::{Bridge, read_secrets};
use crate::aws::dead_letters::DeadLetters;
use crate::aws::replays::Replays;
use crate::aws::rules::Rules;
use crate::aws::stack::StackState;
use crate::aws::{concurrency, connect, failure_topic, relay_code as deployed, stack};
use crate::hint::command;
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::printer::error_lines;
use crate::ui::report::{kept_for, short_sha};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Could not be judged (said why), and so not held against the bridge.
    Unknown,
}

/// One check: what was found, and the fix when it failed.
#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub verdict: Verdict,
    pub found: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn pass(check: &'static str, found: impl Into<String>) -> Self {
        Self {
            check,
            verdict: Verdict::Pass,
            found: found.into(),
            fix: None,
        }
    }

    fn fail(check: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            verdict: Verdict::Fail,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }

    fn unknown(check: &'static str, found: impl Into<String>) -> Self {
        Self {
            check,
            verdict: Verdict::Unknown,
            found: found.into(),
            fix: None,
        }
    }

    /// A check that could not be made because AWS did not answer.
    fn unanswered(check: &'static str, error: &anyhow::Error) -> Self {
        Self::unknown(check, format!("not checked: {}", error_lines(error).0))
    }
}

/// What `doctor` reports.
#[derive(Debug, Serialize)]
pub struct Diagnosis {
    pub bridge: String,
    pub healthy: bool,
    pub checks: Vec<Check>,
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pass = anstyle::AnsiColor::Green.on_default();
        let fail = anstyle::AnsiColor::Red.on_default().bold();
        let unknown = anstyle::AnsiColor::Yellow.on_default();
        for check in &self.checks {
            let (style, mark) = match check.verdict {
                Verdict::Pass => (pass, '✓'),
                Verdict::Fail => (fail, '✗'),
                Verdict::Unknown => (unknown, '?'),
            };
            writeln!(
                f,
                "{style}{mark}{style:#} {:<16}{}",
                check.check, check.found
            )?;
            if let Some(fix) = &check.fix {
                writeln!(f, "  {:<16}fix: {fix}", "")?;
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .count();
        match failed {
            0 => write!(f, "Bridge {} is healthy.", self.bridge),
            1 => write!(f, "Bridge {}: 1 check failed.", self.bridge),
            n => write!(f, "Bridge {}: {n} checks failed.", self.bridge),
        }
    }
}

pub async fn run(settings: &GlobalSettings, printer: Printer) -> Result<ExitStatus> {
    let name = &settings.bridge;
    let checks = checks(settings, printer).await;
    let healthy = checks.iter().all(|c| c.verdict != Verdict::Fail);
    printer.result(&Diagnosis {
        bridge: name.clone(),
        healthy,
        checks,
    });
    Ok(if healthy {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

async fn checks(settings: &GlobalSettings, printer: Printer) -> Vec<Check> {
    let name = &settings.bridge;
    let mut checks = Vec::new();
    let ctx = match connect::connect(&settings.aws).await {
        Ok(ctx) => ctx,
        Err(error) => {
            let (line, hints) = error_lines(&error);
            checks.push(Check::fail(
                "credentials",
                line,
                hints
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "check --profile and --region".to_owned()),
            ));
            return checks;
        }
    };
    checks.push(Check::pass(
        "credentials",
        format!("{} in {}", ctx.caller_arn, ctx.region),
    ));
    let cfn = aws_sdk_cloudformation::Client::new(&ctx.sdk);
    let state = match stack::describe(&cfn, name).await {
        Ok(Some(state)) if !state.never_created() => state,
        Ok(_) => {
            checks.push(Check::fail(
                "stack",
                format!("bridge {name} is not deployed in {}", ctx.region),
                format!(
                    "`{}`, or check --name and --region",
                    command(name, "deploy")
                ),
            ));
            return checks;
        }
        Err(error) => {
            checks.push(Check::unanswered("stack", &error));
            return checks;
        }
    };
    checks.push(stack_check(name, &state));
    let bridge = Bridge {
        ctx,
        name: name.clone(),
        stack: state,
    };
    checks.push(relay_check(&bridge, printer).await);
    checks.push(secret_check(&bridge).await);
    checks.push(alarm_topic_check(&bridge).await);
    checks.push(rules_check(&bridge).await);
    checks.push(stripe_endpoint_check(settings, &bridge).await);
    checks.push(dead_letter_check(&bridge).await);
    checks.push(archive_check(&bridge).await);
    checks.push(concurrency_check(&bridge).await);
    checks
}

fn stack_check(name: &str, state: &StackState) -> Check {
    let status = state.status.as_str();
    let healthy = status.ends_with("_COMPLETE") && !status.contains("ROLLBACK");
    if healthy {
        Check::pass("stack", format!("{name} {status}"))
    } else if state.in_progress() {
        Check::fail(
            "stack",
            format!("{name} {status}: a change is under way"),
            "wait for it to end, then run doctor again",
        )
    } else {
        Check::fail(
            "stack",
            format!("{name} {status}: its last change failed"),
            format!(
                "`{}` (it shows why the last change failed)",
                command(name, "deploy")
            ),
        )
    }
}

async fn relay_check(bridge: &Bridge, printer: Printer) -> Check {
    let RelayCode {
        deployed_sha256,
        this_cli_sha256,
        current,
    } = relay_code(bridge, printer).await;
    match (deployed_sha256, this_cli_sha256, current) {
        (Some(sha), _, Some(true)) => {
            Check::pass("relay", format!("this CLI's (sha256 {}…)", short_sha(&sha)))
        }
        (Some(sha), Some(ours), _) => Check::fail(
            "relay",
            format!(
                "not this CLI's: sha256 {}… deployed, {}… here",
                short_sha(&sha),
                short_sha(&ours)
            ),
            format!("`{}` deploys this CLI's", command(&bridge.name, "deploy")),
        ),
        (Some(sha), None, _) => Check::unknown(
            "relay",
            format!(
                "sha256 {}…; this CLI has not built its relay to compare (`stripe-bridge package`)",
                short_sha(&sha)
            ),
        ),
        (None, _, _) => Check::unknown(
            "relay",
            format!(
                "function {} could not be read",
                deployed::function_name(&bridge.name)
            ),
        ),
    }
}

async fn secret_check(bridge: &Bridge) -> Check {
    let set_secret = format!("`{}`", command(&bridge.name, "set-secret"));
    let arn = match bridge.output("SigningSecretArn") {
        Ok(arn) => arn,
        Err(error) => return Check::unanswered("signing secret", &error),
    };
    let client = aws_sdk_secretsmanager::Client::new(&bridge.ctx.sdk);
    let secrets = match read_secrets(&client, &bridge.name, arn).await {
        Ok(secrets) => secrets,
        Err(error) => return Check::unanswered("signing secret", &error),
    };
    let active = secrets.active_at(unix_now());
    if active.is_empty() {
        return Check::fail(
            "signing secret",
            "none: every delivery gets 500 secret_not_configured until one is set",
            set_secret,
        );
    }
    if let Some(problem) = active.iter().find_map(|s| s.problem()) {
        return Check::fail(
            "signing secret",
            format!("one of the secrets is no signing secret: {problem}"),
            format!("{set_secret} with the endpoint's whsec_… secret"),
        );
    }
    Check::pass(
        "signing secret",
        match active.len() {
            1 => "1 in force".to_owned(),
            n => format!("{n} in force"),
        },
    )
}

async fn alarm_topic_check(bridge: &Bridge) -> Check {
    let topic = match bridge.output("FailureTopicArn") {
        Ok(topic) => topic,
        Err(error) => return Check::unanswered("alarm topic", &error),
    };
    let subscriptions = match failure_topic::subscriptions(&bridge.ctx.sdk, topic).await {
        Ok(subscriptions) => subscriptions,
        Err(error) => return Check::unanswered("alarm topic", &error),
    };
    let confirmed = subscriptions.iter().filter(|s| s.confirmed).count();
    let pending = subscriptions.len() - confirmed;
    let notify = command(&bridge.name, "deploy --notify-email you@example.com");
    match (confirmed, pending) {
        (0, 0) => Check::fail(
            "alarm topic",
            "no subscription: the alarms and failure notices reach nobody",
            format!(
                "`{notify}`, then confirm the mail AWS sends, or subscribe your own endpoint to {topic}"
            ),
        ),
        (0, pending) => Check::fail(
            "alarm topic",
            format!(
                "{pending} subscription(s) waiting for confirmation: the alarms reach nobody yet"
            ),
            "confirm the subscription (the link in the mail from AWS Notifications)",
        ),
        (confirmed, _) => Check::pass(
            "alarm topic",
            format!("{confirmed} confirmed subscription(s)"),
        ),
    }
}

/// The Stripe endpoints feeding the bridge: enabled, sending to its URL, every type the
/// rules route.
async fn stripe_endpoint_check(settings: &GlobalSettings, bridge: &Bridge) -> Check {
    const CHECK: &str = "Stripe endpoint";
    let side = match StripeSide::open_if_keyed(settings, &bridge.ctx.account_id, &bridge.ctx.region)
        .await
    {
        Ok(Some(side)) => side,
        Ok(None) => {
            return Check::unknown(
                CHECK,
                "not checked: no Stripe API key (STRIPE_API_KEY, --stripe-key-file, or `stripe login`)",
            );
        }
        Err(error) => return Check::unanswered(CHECK, &error),
    };
    if !side.linked() {
        return Check::unknown(
            CHECK,
            format!(
                "no endpoint linked, so what Stripe sends is not known: `{}` makes one, or `{}` takes over yours",
                command(&bridge.name, "link"),
                command(&bridge.name, "link --adopt we_…")
            ),
        );
    }
    let reported = async { side.report(bridge, &linked::rules_of(bridge).await?).await };
    let report = match reported.await {
        Ok(report) => report,
        Err(error) => return Check::unanswered(CHECK, &error),
    };
    let problems: Vec<(String, String)> = report
        .endpoints
        .iter()
        .flat_map(|e| e.problems(&bridge.name))
        .collect();
    if let Some((found, fix)) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(
                " (and {} more: see `{}`)",
                n - 1,
                command(&bridge.name, "status")
            ),
        };
        return Check::fail(CHECK, format!("{found}{more}"), fix.clone());
    }
    let ids: Vec<String> = report
        .endpoints
        .iter()
        .map(|e| format!("{} ({})", e.id, e.role))
        .collect();
    let undelivered: usize = report.endpoints.iter().map(|e| e.undelivered_3d).sum();
    let tail = if undelivered > 0 {
        format!("; {undelivered} event(s) of its types not delivered everywhere in 3 days")
    } else {
        String::new()
    };
    Check::pass(
        CHECK,
        format!(
            "{} enabled, at the bridge's URL, sending every type the rules route ({} mode){tail}",
            ids.join(", "),
            report.mode
        ),
    )
}

async fn rules_check(bridge: &Bridge) -> Check {
    let bus = match bridge.output("EventBusName") {
        Ok(bus) => bus,
        Err(error) => return Check::unanswered("rules", &error),
    };
    let rules = Rules::new(&bridge.ctx.sdk, bus, &bridge.name);
    let listed = match rules.list().await {
        Ok(listed) => listed,
        Err(error) => return Check::unanswered("rules", &error),
    };
    let mut problems = Vec::new();
    for rule in listed.iter().filter(|r| !r.leftover_probe) {
        match rules.target_problems(rule).await {
            Ok(found) => problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("rule {}: {p}", rule.name)),
            ),
            Err(error) => return Check::unanswered("rules", &error),
        }
    }
    let count = listed.iter().filter(|r| !r.leftover_probe).count();
    if problems.is_empty() {
        return Check::pass(
            "rules",
            match count {
                0 => "none yet: no event goes anywhere but the archive".to_owned(),
                n => format!("{n}, each target there and granted"),
            },
        );
    }
    Check::fail(
        "rules",
        problems.join("; "),
        format!(
            "run that rule's add-rule again (`{}` shows its types): it restores the grant; or `{}`",
            command(&bridge.name, "list-rules"),
            command(&bridge.name, "remove-rule NAME")
        ),
    )
}

async fn dead_letter_check(bridge: &Bridge) -> Check {
    let Some(url) = bridge.stack.output("DeadLetterQueueUrl") else {
        return Check::fail(
            "dead letters",
            "the stack has no dead-letter queue (deployed by an older version)",
            format!("`{}`", command(&bridge.name, "deploy")),
        );
    };
    match DeadLetters::new(&bridge.ctx.sdk, url).waiting().await {
        Ok(0) => Check::pass("dead letters", "none waiting"),
        Ok(waiting) => Check::fail(
            "dead letters",
            format!("{waiting} waiting: events a rule could not deliver"),
            format!(
                "`{}` shows them; `{}` sends them again",
                command(&bridge.name, "dead-letters"),
                command(&bridge.name, "dead-letters --redeliver")
            ),
        ),
        Err(error) => Check::unanswered("dead letters", &error),
    }
}

async fn archive_check(bridge: &Bridge) -> Check {
    let Some(name) = bridge.stack.output("ArchiveName") else {
        return Check::fail(
            "archive",
            "the bridge keeps no archive, so nothing can be replayed",
            format!("`{}`", command(&bridge.name, "deploy")),
        );
    };
    match Replays::new(&bridge.ctx.sdk)
        .archive(&bridge.name, name)
        .await
    {
        Ok(archive) if archive.state == "ENABLED" => Check::pass(
            "archive",
            format!(
                "{}: {} events, kept {}",
                archive.name,
                archive.event_count,
                kept_for(archive.retention_days.into())
            ),
        ),
        Ok(archive) => Check::fail(
            "archive",
            format!("{} is {}", archive.name, archive.state),
            format!("`{}`", command(&bridge.name, "deploy")),
        ),
        Err(error) => Check::unanswered("archive", &error),
    }
}

async fn concurrency_check(bridge: &Bridge) -> Check {
    let function = deployed::function_name(&bridge.name);
    match concurrency::headroom(&bridge.ctx.sdk, &function).await {
        Ok(headroom) => {
            let cap = bridge
                .stack
                .parameter("ReservedConcurrency")
                .and_then(|c| c.parse::<i64>().ok())
                .unwrap_or(0);
            if cap > 0 {
                Check::pass(
                    "concurrency",
                    format!("capped at {cap} of the account's {}", headroom.limit),
                )
            } else if headroom.available - concurrency::DEFAULT_CAP >= concurrency::MIN_UNRESERVED {
                Check::fail(
                    "concurrency",
                    format!(
                        "no cap, although the account ({} in all) could spare one: a burst could take the concurrency its other functions need",
                        headroom.limit
                    ),
                    format!(
                        "`{}`",
                        command(
                            &bridge.name,
                            &format!("deploy --max-concurrency {}", concurrency::DEFAULT_CAP)
                        )
                    ),
                )
            } else {
                Check::pass(
                    "concurrency",
                    format!(
                        "no cap: the account's limit, {}, is too small to reserve from",
                        headroom.limit
                    ),
                )
            }
        }
        Err(error) => Check::unanswered("concurrency", &error),
    }
}
