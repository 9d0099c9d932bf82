//! `stripe-bridge dev`: the relay on this machine, for `stripe listen --forward-to`. It
//! is the Lambda's relay code, verifying with the given secret (or the deployed
//! bridge's) and putting events on the bridge's bus (or `--bus`), wherever the AWS
//! configuration points: real AWS, or any endpoint from `--endpoint-url`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use metrics_cloudwatch_embedded::Collector;
use relay_function::outcome::Outcome;
use relay_function::relay::Relay;
use relay_function::relay_config::RelayConfig;
use relay_function::relay_metrics;
use relay_function::secret_store::SecretStore;
use relay_function::signature::unix_now;
use relay_function::signing_secrets::SigningSecrets;
use relay_function::webhook::WebhookRequest;
use serde::Serialize;
use tokio::net::TcpListener;

use super::ExitStatus;
use crate::aws::bridge::read_secrets;
use crate::aws::relay_logs::{LOCAL_RELAY_DIMENSION, LogShipper, RelayLogs, RequestLine, now_ms};
use crate::aws::stack::StackState;
use crate::aws::{connect, event_bus, publishers, stack};
use crate::cli::DevArgs;
use crate::hint::hinted;
use crate::local::dev_server::{self, Report};
use crate::settings::GlobalSettings;
use crate::ui::printer::error_lines;
use crate::ui::report::{RequestLineText, rfc3339};
use crate::ui::{Printer, secret_input};

/// The first record `dev` prints: where it listens, and what it verifies and relays with.
#[derive(Debug, Serialize)]
pub struct Listening {
    pub listening: String,
    pub bus: String,
    pub secret: String,
}

impl fmt::Display for Listening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Listening on {}", self.listening)
    }
}

/// One record per request answered.
#[derive(Debug, Serialize)]
pub struct Answered<'a> {
    pub time: String,
    pub request_id: &'a str,
    pub outcome: &'a Outcome,
    /// The line the relay logs for it, as written to the log group.
    #[serde(skip)]
    line: &'a RequestLine,
}

impl fmt::Display for Answered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        RequestLineText {
            time: &self.time,
            line: self.line,
            local: false,
        }
        .fmt(f)
    }
}

/// As long as the Lambda has: its 15 s timeout, less the margin it keeps for answering.
const ANSWER_WITHIN: Duration = Duration::from_millis(12_500);

pub async fn run(
    settings: &GlobalSettings,
    args: &DevArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let name = settings.bridge.as_str();
    let given = secret_input::gather(
        &args.secrets.secrets,
        args.secrets.secret_file.as_deref(),
        false,
    )?
    .iter()
    .map(|s| s.check())
    .collect::<Result<Vec<_>>>()?;
    let ctx = connect::connect(&settings.aws).await?;
    let cfn = aws_sdk_cloudformation::Client::new(&ctx.sdk);
    let deployed = stack::describe(&cfn, name).await?;
    if let Some(state) = &deployed {
        stack::check_owner(state, name, &ctx.region)?;
    }
    let output = |key| deployed.as_ref().and_then(|s| s.output(key));
    let region = &ctx.region;

    let bus = args.bus.as_deref().or(output("EventBusName")).with_context(|| {
        format!(
            "no bus to put events on: bridge {name} is not deployed in {region}; deploy it, or pass --bus (e.g. --bus default)"
        )
    })?;
    // A bus that is not there would only show as a 500 on every event: say so now.
    if args.bus.is_some() && !event_bus::exists(&ctx.sdk, bus).await? {
        return Err(hinted(
            format!("there is no event bus {bus} in {region}"),
            "create it, pass --bus default, or leave out --bus to use the deployed bridge's",
        ));
    }
    if args.bus.is_none()
        && let Some(state) = &deployed
    {
        may_publish(state, name, &ctx.caller_arn)?;
    }
    let secret_arn = output("SigningSecretArn");
    if given.is_empty() && secret_arn.is_none() {
        bail!(
            "no signing secret to verify with: pass --secret whsec_… (`stripe listen` prints the one it signs with), \
             or deploy bridge {name} and run set-secret"
        );
    }
    if given.is_empty()
        && let Some(arn) = secret_arn
    {
        let client = aws_sdk_secretsmanager::Client::new(&ctx.sdk);
        if read_secrets(&client, name, arn)
            .await?
            .active_at(unix_now())
            .is_empty()
        {
            printer.warning(format!(
                "bridge {name} has no signing secret yet: every request will get 500 secret_not_configured"
            ));
            printer.hint(format!(
                "run `{}` first, or pass --secret whsec_… (`stripe listen` prints the one it signs with)",
                crate::hint::command(name, "set-secret")
            ));
        }
    }
    let mut config = RelayConfig::new(bus, secret_arn.unwrap_or_default());
    config.bridge_name = name.to_owned();
    config.claim_check_bucket = output("ClaimCheckBucketName").map(str::to_owned);
    config.tolerance = Duration::from_secs(args.tolerance);
    // No failure notices: the person running `dev` sees every failure as it happens,
    // and the bridge's subscribers should not hear of a laptop's test requests.
    config.failure_topic_arn = None;
    let mut relay = Relay::from_sdk_config(&ctx.sdk, config);
    let secret_source = if given.is_empty() {
        "the bridge's secret in Secrets Manager".to_owned()
    } else {
        let masked: Vec<String> = given.iter().map(|s| s.masked()).collect();
        relay.secrets = SecretStore::fixed(SigningSecrets::permanent(given));
        masked.join(", ")
    };

    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{}: is another `stripe-bridge dev` running? Pick another port with --port",
                args.port
            )
        })?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}/webhook");
    printer.record(&Listening {
        listening: url,
        bus: bus.to_owned(),
        secret: secret_source.clone(),
    });
    printer.status(format!(
        "Verifying with {secret_source}; relaying to bus {bus} in {region}.\n\
         Forward Stripe's events here with: stripe listen --forward-to localhost:{}/webhook\n\
         Stop with Ctrl-C.",
        address.port()
    ));

    let shipper = match (&deployed, args.no_cloud_logs) {
        (Some(_), false) => ship_logs(&ctx.sdk, name, printer).await.map(Arc::new),
        _ => None,
    };
    let metrics = shipper.as_ref().and_then(|_| local_metrics(name));
    let report: Report = {
        let shipper = shipper.clone();
        Arc::new(
            move |request: &WebhookRequest, outcome: &Outcome, took: Duration| {
                let now_ms = now_ms();
                let line = RequestLine::new(&request.request_id, outcome, took.as_millis() as u64);
                if let Some(shipper) = &shipper {
                    shipper.send(now_ms, &line);
                    if let Some(metrics) = metrics {
                        ship_metrics(shipper, metrics, now_ms);
                    }
                }
                printer.record(&Answered {
                    time: rfc3339(now_ms / 1000),
                    request_id: &request.request_id,
                    outcome,
                    line: &line,
                });
            },
        )
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    dev_server::serve(listener, Arc::new(relay), ANSWER_WITHIN, report, shutdown)
        .await
        .context("the local relay stopped")?;
    if let Some(shipper) = &shipper {
        shipper.finish().await;
    }
    printer.status("Stopped.");
    Ok(ExitStatus::Success)
}

/// Starts writing the session's request lines to the bridge's log group, so that `tail`
/// sees a local relay as it sees the Lambda. A refusal is a warning: the local relay
/// works without it.
async fn ship_logs(
    sdk: &aws_config::SdkConfig,
    name: &str,
    printer: Printer,
) -> Option<LogShipper> {
    let logs = RelayLogs::new(sdk, name);
    let group = logs.group().to_owned();
    let host = hostname();
    let warn = move |error: anyhow::Error| {
        printer.warning(format!(
            "{}; `tail` will not see this session",
            error_lines(&error).0
        ));
        printer.hint("pass --no-cloud-logs to keep the request lines on this machine only");
    };
    match LogShipper::start(logs, &host, now_ms(), warn).await {
        Ok(shipper) => {
            printer.detail(format!("Writing the request lines to {group} too."));
            Some(shipper)
        }
        Err(error) => {
            warn(error);
            None
        }
    }
}

/// The relay's metrics recorder, the one the Lambda installs, with the local relay's
/// dimension besides the bridge's: what it counts goes to the log group as EMF.
fn local_metrics(name: &str) -> Option<&'static Collector> {
    let (dimension, value) = LOCAL_RELAY_DIMENSION;
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(relay_metrics::NAMESPACE)
        .with_dimension(relay_metrics::BRIDGE_DIMENSION, name.to_owned())
        .with_dimension(dimension, value)
        .init()
        .ok()?;
    relay_metrics::describe();
    Some(collector)
}

/// What the recorder counted since the last request, as EMF lines for the log group.
fn ship_metrics(shipper: &LogShipper, metrics: &Collector, now_ms: i64) {
    let mut emf = Vec::new();
    if metrics.flush(&mut emf).is_ok() {
        for line in String::from_utf8_lossy(&emf)
            .lines()
            .filter(|l| !l.is_empty())
        {
            shipper.send_text(now_ms, line.to_owned());
        }
    }
}

/// This machine's name for the log stream, as the kernel has it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace([':', '*'], "-"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Refuses at start, rather than answering 5xx for every event, a caller whom the
/// bridge's bus policy would refuse each `source: Stripe` event (`aws::publishers`).
fn may_publish(state: &StackState, name: &str, caller_arn: &str) -> Result<()> {
    if state.parameter("EventBus") != Some("custom") {
        return Ok(());
    }
    let caller = publishers::principal_arn(caller_arn);
    let allowed = publishers::from_parameter(state.parameter(publishers::PARAMETER).unwrap_or(""));
    if allowed.contains(&caller) {
        return Ok(());
    }
    Err(hinted(
        format!(
            "{caller} may not put Stripe events on bridge {name}'s bus: its policy allows only the relay and the publishers given with --allow-publisher"
        ),
        format!(
            "allow yourself with `stripe-bridge --name {name} deploy --allow-publisher {caller}`, or relay to another bus with `stripe-bridge --name {name} dev --bus default`"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_function::reason::Reason;

    /// What `dev` prints for `outcome` at 2026-01-01T00:00:00Z, without its colours.
    fn printed(outcome: &Outcome) -> String {
        let line = RequestLine::new("dev-1", outcome, 12);
        let answered = Answered {
            time: rfc3339(1_767_225_600),
            request_id: "dev-1",
            outcome,
            line: &line,
        };
        anstream::adapter::strip_str(&answered.to_string()).to_string()
    }

    #[test]
    fn a_request_line_says_when_what_and_how_it_went() {
        let relayed = Outcome {
            status: 200,
            reason: None,
            event_id: Some("evt_1".into()),
            event_type: Some("invoice.paid".into()),
            attempts: 1,
            claim_check: false,
            detail: None,
        };
        assert_eq!(
            printed(&relayed),
            "2026-01-01T00:00:00Z  200  invoice.paid  evt_1  relayed"
        );
        let refused = Outcome {
            status: 400,
            reason: Some(Reason::SignatureMismatch),
            event_id: None,
            event_type: None,
            attempts: 0,
            claim_check: false,
            detail: Some("no v1 signature matches any active signing secret".into()),
        };
        assert_eq!(
            printed(&refused),
            "2026-01-01T00:00:00Z  400  -  -  signature_mismatch: no v1 signature matches any active signing secret"
        );
    }
}
