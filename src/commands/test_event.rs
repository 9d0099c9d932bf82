//! `stripe-bridge test`: a sample Stripe event, signed with the bridge's current secret
//! as Stripe signs it, sent to the bridge's webhook URL (or any `--url`), and the answer
//! reported. With `--expect-delivery` it also proves the event reached the bus.

use std::fmt;
use std::time::Duration;

use anyhow::{Result, bail};
use relay_function::signature::{sign_with_each, unix_now};
use relay_function::signing_secrets::SigningSecret;
use serde::Serialize;
use serde_json::Value;

use super::ExitStatus;
use crate::aws::bridge::Bridge;
use crate::aws::delivery_probe::DeliveryProbe;
use crate::aws::propagation;
use crate::aws::rules::Rules;
use crate::cli::TestArgs;
use crate::hint::{self, hinted};
use crate::local::webhook_client::{self, Answer};
use crate::settings::{GlobalSettings, OutputFormat};
use crate::stripe::sample_event::sample_event;
use crate::ui::printer::error_lines;
use crate::ui::{Printer, secret_input};

/// What `test` sent, what the relay answered, and whether the event reached the bus.
#[derive(Debug, Serialize)]
pub struct TestResult {
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub status: u16,
    /// The relay's answer: JSON when it is, text otherwise.
    pub answer: Value,
    pub elapsed_ms: u64,
    /// With `--expect-delivery`: whether a rule on the bus matched the event.
    pub delivered: Option<bool>,
    #[serde(skip)]
    answer_text: String,
    #[serde(skip)]
    delivered_after: Option<Duration>,
    #[serde(skip)]
    timeout: Duration,
}

impl fmt::Display for TestResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered {} {} in {} ms.",
            self.url,
            self.status,
            self.answer_text.trim(),
            self.elapsed_ms
        )?;
        match (self.delivered, self.delivered_after) {
            (Some(true), Some(took)) => write!(
                f,
                "\nThe event reached the bus: a rule matched it {} ms after sending.",
                took.as_millis() as u64 + self.elapsed_ms
            ),
            (Some(_), _) => write!(
                f,
                "\nThe event did not reach a rule on the bus within {}.",
                humantime::format_duration(self.timeout)
            ),
            (None, _) => Ok(()),
        }
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &TestArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let timeout: Duration = args.timeout.into();
    let now = unix_now();
    // Everything that can be checked without AWS is checked first.
    let sample = sample_event(&args.event_type, now)?;
    let given = secret_input::gather(
        &args.secrets.secrets,
        args.secrets.secret_file.as_deref(),
        false,
    )?
    .iter()
    .map(|s| s.check())
    .collect::<Result<Vec<_>>>()?;
    let url = args
        .url
        .as_deref()
        .map(webhook_client::parse_url)
        .transpose()?;

    let needs_bridge = url.is_none() || given.is_empty() || args.expect_delivery;
    let bridge = match needs_bridge {
        true => Some(Bridge::find(settings).await?),
        false => None,
    };
    let url = match (url, &bridge) {
        (Some(url), _) => url,
        (None, Some(bridge)) => webhook_client::parse_url(bridge.output("WebhookUrl")?)?,
        (None, None) => unreachable!("a bridge is looked up when no --url is given"),
    };
    let secrets: Vec<SigningSecret> = match (&bridge, given.is_empty()) {
        (Some(bridge), true) => bridge
            .signing_secrets()
            .await?
            .active_at(now)
            .into_iter()
            .cloned()
            .collect(),
        _ => given,
    };
    if secrets.is_empty() {
        bail!(
            "bridge {} has no signing secret yet, so the relay refuses every event (500 secret_not_configured): \
             run `{}` first",
            settings.bridge,
            hint::command(&settings.bridge, "set-secret")
        );
    }
    // Stripe signs with every secret that is active for the endpoint: both of them
    // while a rolled secret is still valid.
    let signature = sign_with_each(&secrets, now, sample.body.as_bytes());
    let signed_with: Vec<String> = secrets.iter().map(SigningSecret::masked).collect();

    // A consumer would act on the sample as on a real event: say who gets it, and ask,
    // whether or not a probe also catches it.
    if let Some(bridge) = &bridge
        && !args.yes
        && !confirm_consumers(bridge, &sample, now, printer).await?
    {
        printer.status("Nothing sent.");
        return Ok(ExitStatus::Success);
    }

    let probe = match (&bridge, args.expect_delivery) {
        (Some(bridge), true) => {
            printer.status("Setting up a temporary rule and queue to catch the event…");
            Some(
                DeliveryProbe::create(
                    &bridge.ctx.sdk,
                    &bridge.ctx.region,
                    bridge.output("EventBusName")?,
                    &bridge.name,
                    &sample.id,
                )
                .await?,
            )
        }
        _ => None,
    };
    let sending = format!(
        "Sending {} {} to {url} (signed with {})…",
        sample.event_type,
        sample.id,
        signed_with.join(", ")
    );
    let exchange = async {
        if let Some(probe) = &probe {
            // On AWS, up to a minute; a few seconds' more for the warm-ups to travel.
            let within = propagation::rules_and_policies() + Duration::from_secs(10);
            printer.status(format!(
                "Waiting for the temporary rule to take effect (AWS takes up to {})…",
                humantime::format_duration(propagation::RULES_AND_POLICIES)
            ));
            if !probe.ready(within).await? {
                return Err(hinted(
                    format!(
                        "the temporary rule did not start taking events within {}, so nothing was sent",
                        humantime::format_duration(within)
                    ),
                    format!(
                        "EventBridge may still be applying it: run `stripe-bridge --name {} test --expect-delivery` again in a minute",
                        settings.bridge
                    ),
                ));
            }
        }
        printer.status(&sending);
        let answer = webhook_client::post(&url, &signature, sample.body.clone(), timeout)
            .await
            .map_err(|error| unanswered(error, &url, &settings.bridge))?;
        let delivery = match &probe {
            Some(probe) if (200..300).contains(&answer.status) => {
                Some(probe.wait(&sample.id, timeout).await?)
            }
            _ => None,
        };
        Ok::<_, anyhow::Error>((answer, delivery))
    };
    let result = tokio::select! {
        result = exchange => Some(result),
        _ = tokio::signal::ctrl_c() => None,
    };
    if let Some(probe) = probe {
        let rule = probe.rule.clone();
        if let Err(error) = probe.remove().await {
            printer.warning(format!(
                "the temporary rule and queue {rule} are left over ({})",
                error_lines(&error).0
            ));
            printer.hint(format!(
                "`stripe-bridge --name {} remove` deletes them",
                settings.bridge
            ));
        }
    }
    let (answer, delivery) = match result {
        None => {
            printer.warning("interrupted: no answer awaited");
            return Ok(ExitStatus::Interrupted);
        }
        Some(Ok(exchanged)) => exchanged,
        Some(Err(error)) => {
            if printer.format == OutputFormat::Json {
                printer.result(&NotSent {
                    event_id: sample.id,
                    event_type: sample.event_type,
                    url: url.to_string(),
                    error: error_lines(&error).0,
                });
            }
            return Err(error);
        }
    };

    let accepted = (200..300).contains(&answer.status);
    let delivered = delivery.as_ref().map(Option::is_some);
    printer.result(&TestResult {
        event_id: sample.id,
        event_type: sample.event_type,
        url: url.to_string(),
        status: answer.status,
        answer: serde_json::from_str::<Value>(&answer.body)
            .unwrap_or(Value::String(answer.body.clone())),
        elapsed_ms: answer.elapsed.as_millis() as u64,
        delivered,
        answer_text: answer.body.clone(),
        delivered_after: delivery.flatten().map(|(_, took)| took),
        timeout,
    });
    if !accepted {
        bail!("{}", refusal_hint(&answer, &settings.bridge));
    }
    if delivered == Some(false) {
        bail!(
            "the relay took the event but it did not arrive on the bus: check the relay's logs \
             (CloudWatch log group /aws/lambda/{}) and the failure topic",
            crate::aws::relay_code::function_name(&settings.bridge)
        );
    }
    Ok(ExitStatus::Success)
}

/// Names the rules (and targets) of the bridge that would deliver the sample event, and
/// asks before it is sent; with no terminal to ask on, refuses unless `--yes`. Returns
/// whether to send it.
async fn confirm_consumers(
    bridge: &Bridge,
    sample: &crate::stripe::sample_event::SampleEvent,
    now: i64,
    printer: Printer,
) -> Result<bool> {
    let rules = Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &bridge.name,
    );
    let envelope = crate::aws::rules::envelope(
        &sample.event_type,
        serde_json::from_str::<Value>(&sample.body)?,
        &bridge.ctx.account_id,
        &bridge.ctx.region,
        &crate::ui::report::rfc3339(now),
    );
    let matching = rules.matching(&envelope).await?;
    if matching.is_empty() {
        return Ok(true);
    }
    let consumers: Vec<String> = matching
        .iter()
        .map(|r| format!("  {} -> {}", r.name, r.targets.join(", ")))
        .collect();
    printer.warning(format!(
        "this test {} (livemode false) would reach {} rule(s), whose targets would act on it as on a real event:\n{}",
        sample.event_type,
        matching.len(),
        consumers.join("\n")
    ));
    if !crate::ui::printer::can_ask() {
        return Err(crate::hint::hinted(
            "not sending a test event to live consumers without asking, and there is no terminal to ask on",
            format!(
                "run it at a terminal to be asked, or make those rules take live events only (`{}`), \
                 which no test event reaches",
                hint::command(
                    &bridge.name,
                    "add-rule --type TYPE --target ARN --livemode live"
                )
            ),
        ));
    }
    crate::ui::printer::ask("Send it?").await
}

/// What `test --output json` prints when no answer came.
#[derive(Debug, Serialize)]
pub struct NotSent {
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub error: String,
}

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} did not answer: {}", self.url, self.error)
    }
}

/// The error when the URL gave no answer, with what to check: a local URL is most often
/// a `stripe-bridge dev` that is not running.
fn unanswered(error: anyhow::Error, url: &hyper::Uri, bridge: &str) -> anyhow::Error {
    let local = matches!(
        url.host(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    let hint = if local {
        "is `stripe-bridge dev` running? It prints the URL it listens on".to_owned()
    } else {
        format!(
            "check the URL (`{}` shows the bridge's), and this machine's network",
            hint::command(bridge, "status")
        )
    };
    error.context(crate::hint::Hinted {
        message: format!("no answer from {url}"),
        hint,
    })
}

/// What to do about a refusal, by the relay's reason code.
fn refusal_hint(answer: &Answer, bridge: &str) -> String {
    let code = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned));
    let hint = match code.as_deref() {
        Some("secret_not_configured") => &format!(
            "the bridge has no signing secret: run `{}`",
            hint::command(bridge, "set-secret")
        ),
        Some("signature_mismatch") => &format!(
            "the relay verifies with a different secret than the one signed with: compare `{}` with --secret",
            hint::command(bridge, "set-secret --show")
        ),
        Some("timestamp_outside_tolerance") => {
            "this machine's clock, or the relay's, is off: check it"
        }
        Some("secret_unavailable") => {
            "the relay cannot read its secret from Secrets Manager: see its logs and the failure topic"
        }
        Some("relay_failed" | "claim_check_failed" | "entry_too_large") => {
            "the relay could not put the event on the bus: see its logs and the failure topic"
        }
        Some("not_found") => "the URL's path is not the relay's: it serves /webhook",
        Some(_) => "see the reason codes in the README",
        None => "that is not the relay's answer: is the URL the bridge's webhook URL?",
    };
    format!(
        "the relay refused the event ({} {}): {hint}",
        answer.status,
        answer.body.trim()
    )
}
