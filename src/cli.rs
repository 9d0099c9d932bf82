//! The command line: global options, and one argument struct per command. The clap
//! structs live here only: `GlobalArgs::resolve` turns the global ones into the plain
//! settings that everything below takes.

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::build::package::Architecture;
use crate::settings::{AwsSettings, GlobalSettings, OutputFormat, OutputSettings, StripeSettings};
use crate::stripe::event_types::Livemode;

/// Stand up, in your own AWS account, a verified Stripe webhook → Amazon EventBridge
/// relay, and run it.
#[derive(Debug, Parser)]
#[command(name = "stripe-bridge", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The bridge's name: several bridges (test and live, several Stripe accounts) can
    /// live side by side in one account and region.
    #[arg(long, global = true, default_value = "stripe-bridge", value_parser = parse_bridge_name)]
    pub name: String,
    /// The AWS region (default: from the AWS profile or AWS_REGION).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// The AWS profile to use.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (also read from AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_parser = parse_endpoint_url)]
    pub endpoint_url: Option<String>,
    /// A file holding the Stripe API key (default: STRIPE_API_KEY, else the key
    /// `stripe login` stored).
    #[arg(long, global = true, value_name = "FILE")]
    pub stripe_key_file: Option<std::path::PathBuf>,
    /// The Stripe CLI project whose stored key to use (as `stripe --project-name`).
    #[arg(
        long,
        global = true,
        env = "STRIPE_PROJECT_NAME",
        value_name = "PROJECT"
    )]
    pub stripe_project: Option<String>,
    /// Use the live-mode key the Stripe CLI stored, not its test-mode one.
    #[arg(long, global = true)]
    pub stripe_live: bool,
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Print no progress and no hints: only results, warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl GlobalArgs {
    /// The settings every command takes, resolved once.
    pub fn resolve(&self) -> GlobalSettings {
        GlobalSettings {
            bridge: self.name.clone(),
            aws: AwsSettings {
                profile: self.profile.clone(),
                region: self.region.clone(),
                endpoint_url: self.endpoint_url.clone(),
            },
            stripe: StripeSettings {
                key_file: self.stripe_key_file.clone(),
                project: self.stripe_project.clone(),
                live: self.stripe_live,
            },
            output: OutputSettings {
                format: self.output,
                quiet: self.quiet,
                verbose: self.verbose,
            },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the relay and deploy the bridge's stack; prints the webhook URL.
    #[command(
        after_help = "Examples:\n  stripe-bridge deploy\n  stripe-bridge --name stripe-live --region eu-west-1 deploy --notify-email ops@example.com --confirm"
    )]
    Deploy(DeployArgs),
    /// Set the Stripe webhook signing secret (whsec_…); the relay uses it within seconds.
    #[command(
        after_help = "Examples:\n  stripe-bridge set-secret                      # asks, without echo\n  stripe-bridge set-secret - < secret.txt\n  stripe-bridge set-secret --keep-previous 24h  # after Stripe's \"roll secret\"\n  stripe-bridge set-secret --add --endpoint connect  # a Connect endpoint's secret too\n  stripe-bridge set-secret --show"
    )]
    SetSecret(SetSecretArgs),
    /// Route Stripe events of some types to a target (Lambda, SQS, SNS, Step Functions, event bus, Kinesis).
    #[command(
        after_help = "Examples:\n  stripe-bridge add-rule --type invoice.paid --target arn:aws:sqs:us-east-1:123456789012:invoices\n  stripe-bridge add-rule --type 'invoice.*' --type customer.created --target arn:aws:lambda:us-east-1:123456789012:function:billing --dlq arn:aws:sqs:us-east-1:123456789012:billing-dlq --max-retries 10"
    )]
    AddRule(AddRuleArgs),
    /// List the bridge's rules and their targets.
    #[command(after_help = "Example:\n  stripe-bridge list-rules --output json")]
    ListRules,
    /// Remove one of the bridge's rules, with the permissions add-rule gave its target.
    #[command(after_help = "Example:\n  stripe-bridge remove-rule stripe-bridge-invoice-paid")]
    RemoveRule(RemoveRuleArgs),
    /// Deliver archived events again, to the bridge's rules (or the ones named).
    #[command(
        after_help = "Examples:\n  stripe-bridge replay --from 3d --rule stripe-bridge-invoice-paid\n  stripe-bridge replay --from 2026-11-24T09:00:00Z --to 2026-11-24T12:00:00Z\n  stripe-bridge replay --list\n\nReplayed events carry `replay-name`; consumers de-duplicate on `detail.id`."
    )]
    Replay(ReplayArgs),
    /// List the events the bridge's rules could not deliver; --redeliver sends them again.
    #[command(
        after_help = "Examples:\n  stripe-bridge dead-letters\n  stripe-bridge dead-letters --output json\n  stripe-bridge dead-letters --redeliver"
    )]
    DeadLetters(DeadLettersArgs),
    /// Delete everything the bridge made.
    #[command(after_help = "Example:\n  stripe-bridge --name stripe-live remove --yes")]
    Remove(RemoveArgs),
    /// Run the relay on this machine (127.0.0.1), for `stripe listen --forward-to`.
    #[command(
        after_help = "Examples:\n  stripe-bridge dev --secret whsec_…    # the secret `stripe listen` prints\n  stripe listen --forward-to localhost:8787/webhook\n  stripe-bridge dev --port 9000         # the deployed bridge's secret, bus and topic"
    )]
    Dev(DevArgs),
    /// Print each request the relay handles, as it happens (the Lambda's, and dev's).
    #[command(
        after_help = "Examples:\n  stripe-bridge tail\n  stripe-bridge tail --failures\n  stripe-bridge tail --type 'invoice.*' --since 1h --output json\n\nCtrl-C ends it."
    )]
    Tail(TailArgs),
    /// Show what became of one Stripe event: each request for it, the bus, the rules, dead letters.
    #[command(
        after_help = "Examples:\n  stripe-bridge trace evt_1QxYzAbCdEfGh\n  stripe-bridge trace evt_1QxYzAbCdEfGh --since 7d --output json\n\nExit status: 1 if the relay's log holds no request for it."
    )]
    Trace(TraceArgs),
    /// Send a signed sample Stripe event to the bridge and report the answer.
    #[command(
        after_help = "Examples:\n  stripe-bridge test\n  stripe-bridge test --type customer.subscription.updated --expect-delivery\n  stripe-bridge test --url http://127.0.0.1:8787/webhook --secret whsec_…"
    )]
    Test(TestArgs),
    /// Check a Stripe-Signature header offline, and say why it does or does not verify.
    #[command(
        after_help = "Examples:\n  stripe-bridge verify --secret whsec_… --header 't=1700000000,v1=5257a8…' --payload body.json\n  pbpaste | stripe-bridge verify --secret whsec_… --header \"$SIG\" --payload - --at 1700000000\n\nExit status: 0 if the signature verifies, 1 if not."
    )]
    Verify(VerifyArgs),
    /// Show the bridge: its stack, webhook URL, bus, topic, signing secrets and rules.
    #[command(
        after_help = "Examples:\n  stripe-bridge status\n  stripe-bridge --name stripe-live status --output json"
    )]
    Status,
    /// Check the bridge as a careful operator would, each check passed or failed with its fix.
    #[command(
        after_help = "Examples:\n  stripe-bridge doctor\n  stripe-bridge --name stripe-live doctor --output json\n\nExit status: 0 if every check passes, 1 if any fails."
    )]
    Doctor,
    /// Make (or adopt) the Stripe webhook endpoint that feeds the bridge, sending the types its rules route.
    #[command(
        after_help = "Examples:\n  stripe-bridge link\n  stripe-bridge link --all-events\n  stripe-bridge link --adopt we_1QxYzAbCdEfGh\n\nThe Stripe API key: STRIPE_API_KEY, --stripe-key-file, or the Stripe CLI's (`stripe login`).\nA restricted key needs Webhook Endpoints write and Events read."
    )]
    Link(LinkArgs),
    /// Replace the Stripe endpoint with a new one and a new secret, with no gap in deliveries.
    #[command(
        after_help = "Examples:\n  stripe-bridge rotate-secret\n  stripe-bridge rotate-secret --endpoint connect --wait 10m\n\nInterrupted, run it again: it finishes what it started."
    )]
    RotateSecret(RotateSecretArgs),
    /// Ask Stripe to resend the events it failed to deliver to the bridge.
    #[command(
        after_help = "Examples:\n  stripe-bridge reconcile --since 3d\n  stripe-bridge reconcile --since 7d --yes --output json\n\nEvents Stripe is still retrying are resent too: consumers de-duplicate on `detail.id`.\nExit status: 1 if any resend failed."
    )]
    Reconcile(ReconcileArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  stripe-bridge completions bash > ~/.local/share/bash-completion/completions/stripe-bridge\n  stripe-bridge completions zsh > \"${fpath[1]}/_stripe-bridge\"\n  stripe-bridge completions fish > ~/.config/fish/completions/stripe-bridge.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the CloudFormation template, for deploying through your own pipeline.
    #[command(after_help = "Example:\n  stripe-bridge template --format json > bridge.json")]
    Template(TemplateArgs),
    /// Build the relay and write its Lambda zip, for deploying through your own pipeline.
    #[command(after_help = "Example:\n  stripe-bridge package --arch arm64 --out relay.zip")]
    Package(PackageArgs),
}

#[derive(Debug, Args)]
pub struct DeadLettersArgs {
    /// Deliver each dead letter again, to its own rule only (a replay from the archive),
    /// then delete exactly the messages that were.
    #[arg(long)]
    pub redeliver: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Where the window starts: RFC 3339 (2026-11-24T09:00:00Z) or that long ago (90m, 3d).
    #[arg(long, value_parser = parse_time, required_unless_present = "list", conflicts_with = "list")]
    pub from: Option<TimeArg>,
    /// Where the window ends (default: now).
    #[arg(long, value_parser = parse_time, conflicts_with = "list")]
    pub to: Option<TimeArg>,
    /// Replay to this rule of the bridge only; repeatable (default: every rule).
    #[arg(long = "rule", conflicts_with = "list")]
    pub rules: Vec<String>,
    /// Start the replay and return; follow it with `replay --list`.
    #[arg(long, conflicts_with = "list")]
    pub no_wait: bool,
    /// Show the bridge's past and running replays.
    #[arg(long)]
    pub list: bool,
}

/// A point in time as given: a time, or how long ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    At(std::time::SystemTime),
    Ago(std::time::Duration),
}

impl TimeArg {
    pub fn resolve(self, now: std::time::SystemTime) -> std::time::SystemTime {
        match self {
            Self::At(time) => time,
            Self::Ago(ago) => now - ago,
        }
    }
}

fn parse_time(text: &str) -> Result<TimeArg, String> {
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(TimeArg::Ago(ago));
    }
    aws_smithy_types::DateTime::from_str(
        text,
        aws_smithy_types::date_time::Format::DateTimeWithOffset,
    )
    .ok()
    .and_then(|t| std::time::SystemTime::try_from(t).ok())
    .map(TimeArg::At)
    .ok_or_else(|| {
        format!(
            "`{text}` is neither an RFC 3339 time (2026-11-24T09:00:00Z) nor a time ago (90m, 3d)"
        )
    })
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// The port on 127.0.0.1 to listen on (0: any free port).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// The signing secret to verify with (default: STRIPE_WEBHOOK_SECRET, or the
    /// deployed bridge's).
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// The bus to put events on. Default: the deployed bridge's.
    #[arg(long)]
    pub bus: Option<String>,
    /// How old (or far ahead) a Stripe signature may be, in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub tolerance: u64,
    /// Keep the request lines on this machine: do not also write them to the bridge's
    /// log group, where `tail` reads them.
    #[arg(long)]
    pub no_cloud_logs: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The Stripe event's id (evt_…).
    pub event_id: String,
    /// How far back to look in the relay's log (e.g. 3d), as far as the log group keeps it.
    #[arg(long, default_value = "30d", value_parser = parse_since)]
    pub since: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only requests for events of this type (repeatable; `invoice.*` for a prefix).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only requests that were not relayed (status 300 and over).
    #[arg(long)]
    pub failures: bool,
    /// Start with the requests of this long ago (e.g. 10m, 1h); default: from now on.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The Stripe event type of the sample event.
    #[arg(long = "type", default_value = "invoice.paid")]
    pub event_type: String,
    /// Where to send it. Default: the deployed bridge's webhook URL.
    #[arg(long)]
    pub url: Option<String>,
    /// Sign with this secret instead of the bridge's (default: STRIPE_WEBHOOK_SECRET, or
    /// the bridge's).
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// Also prove the event reached the bridge's bus, through a temporary rule and queue
    /// that are removed afterwards.
    #[arg(long)]
    pub expect_delivery: bool,
    /// Send without asking, although rules of the bridge would deliver the event to
    /// their targets.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for the answer, and for the delivery.
    #[arg(long, default_value = "30s", value_parser = parse_timeout)]
    pub timeout: humantime::Duration,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signing secret(s) to verify with (else STRIPE_WEBHOOK_SECRET, or a prompt).
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// The Stripe-Signature header's value (a leading `Stripe-Signature:` is ignored).
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub header: String,
    /// The request body exactly as it arrived: a file, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub payload: std::path::PathBuf,
    /// Check as of this Unix time instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<i64>,
    /// How old (or far ahead) a signature may be, in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub tolerance: u64,
}

/// Signing secrets for `verify`, `dev` and `test`: from a file, or (for scripts) the
/// command line; else STRIPE_WEBHOOK_SECRET, which `ui::secret_input` reads (not clap,
/// whose help would print the variable's value).
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// A signing secret, repeatable (as during a rotation). It stays in your shell
    /// history: prefer --secret-file, STRIPE_WEBHOOK_SECRET or the prompt.
    #[arg(long = "secret", value_name = "WHSEC")]
    pub secrets: Vec<String>,
    /// A file holding the signing secret(s), one a line.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// `deploy`'s settings. Each one a flag does not give keeps the value the bridge was
/// deployed with (its default on a first deploy), so a plain `deploy` only upgrades.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The Lambda architecture (arm64 is Graviton). Default: x86_64.
    #[arg(long, value_enum)]
    pub arch: Option<Architecture>,
    /// Deploy this prebuilt zip (from `stripe-bridge package`) instead of building.
    #[arg(long)]
    pub artifact: Option<std::path::PathBuf>,
    /// Build the relay from the source this CLI carries, even where a release carries
    /// the zip itself.
    #[arg(long, conflicts_with = "artifact")]
    pub build_relay: bool,
    /// `custom`: a bus of the bridge's own (the default); `default`: the account's
    /// default bus.
    #[arg(long, value_enum)]
    pub bus: Option<BusChoice>,
    /// Subscribe this address to failure notices (AWS mails a confirmation link first).
    #[arg(long, value_parser = parse_email)]
    pub notify_email: Option<String>,
    /// Stop mailing failure notices to the address an earlier deploy subscribed.
    #[arg(long, conflicts_with = "notify_email")]
    pub no_notify_email: bool,
    /// How old (or far ahead) a Stripe signature may be, in seconds. Default: 300.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub tolerance: Option<u64>,
    /// Days the archive keeps every event for `replay`; 0 keeps them forever. Default: 90.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retention_days: Option<u32>,
    /// The burst alarm mails once when more requests than this without a valid Stripe
    /// signature arrive in 5 minutes. Default: 100.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub unverified_alarm_threshold: Option<u32>,
    /// The most relay invocations at once (reserved concurrency); 0 for no cap. Default:
    /// 25, where the account can spare it while keeping 100 unreserved; else no cap.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=10_000))]
    pub max_concurrency: Option<i64>,
    /// Events larger than this go on the bus as a claim check (in S3, with a reference on
    /// the bus). The default, 240KiB, fits every target kind: SNS and Step Functions take
    /// 256 KiB with EventBridge's envelope. At most 1MiB, the bus's own limit.
    #[arg(long, value_name = "SIZE", value_parser = parse_claim_check_over)]
    pub claim_check_over: Option<u64>,
    /// Also alarm when no event is relayed for this long (whole hours, 1h to 7d); `off`
    /// removes that alarm.
    #[arg(long, value_name = "PERIOD", value_parser = parse_quiet_period)]
    pub alert_if_quiet: Option<QuietAlarm>,
    /// Let this IAM user or role put `source: Stripe` events on the bridge's bus too, as
    /// `stripe-bridge dev` run as it does (repeatable; none by default: only the relay).
    /// Replaces the publishers an earlier deploy allowed.
    #[arg(long = "allow-publisher", value_name = "ARN", value_parser = crate::aws::publishers::parse)]
    pub allow_publishers: Vec<String>,
    /// Allow no publisher but the relay again.
    #[arg(long, conflicts_with = "allow_publishers")]
    pub no_allow_publisher: bool,
    /// Show the changes and ask before making them.
    #[arg(long)]
    pub confirm: bool,
    /// Make changes that delete archived events or stop an alert (a shorter
    /// --retention-days, --no-notify-email, --alert-if-quiet off) without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what a deploy would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `--alert-if-quiet`: an alarm after this long without an event, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietAlarm {
    After(std::time::Duration),
    Off,
}

impl QuietAlarm {
    /// The stack's `QuietAlarmSeconds`: 0 for no alarm.
    pub fn seconds(self) -> u64 {
        match self {
            Self::After(period) => period.as_secs(),
            Self::Off => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BusChoice {
    Custom,
    Default,
}

#[derive(Debug, Args)]
pub struct SetSecretArgs {
    /// The signing secret, or `-` to read it from standard input. Without it, a prompt
    /// asks (and the secret stays out of your shell history).
    #[arg(conflicts_with = "show")]
    pub secret: Option<String>,
    /// Keep the current secret valid this long beside the new one (at most 24h), as
    /// Stripe does when you roll a secret.
    #[arg(long, conflicts_with = "show", value_parser = parse_keep_previous)]
    pub keep_previous: Option<humantime::Duration>,
    /// Which Stripe endpoint the secret is for (default: the bridge's main one). Each
    /// endpoint's secret is rolled on its own; the relay accepts all of them.
    #[arg(long, value_name = "NAME", value_parser = parse_endpoint_name)]
    pub endpoint: Option<String>,
    /// Add the secret of a second Stripe endpoint (e.g. a Connect endpoint's) beside the
    /// current ones, both permanent.
    #[arg(long, requires = "endpoint", conflicts_with_all = ["show", "keep_previous"])]
    pub add: bool,
    /// Forget the secrets of --endpoint NAME (after deleting that endpoint in Stripe).
    #[arg(long, requires = "endpoint", conflicts_with_all = ["show", "keep_previous", "add", "secret"])]
    pub remove: bool,
    /// Show the active secrets, masked, with their endpoint and expiry.
    #[arg(long)]
    pub show: bool,
}

/// An endpoint's name in the bridge's secret: short, lower case, readable in `--show`.
fn parse_endpoint_name(name: &str) -> Result<String, String> {
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok && name != "main" {
        Ok(name.to_owned())
    } else if name == "main" {
        Err("`main` is the default endpoint's name: leave out --endpoint for it (its secret can be replaced, or rolled with --keep-previous, but not removed: the relay needs one)".to_owned())
    } else {
        Err(format!(
            "`{name}` is not an endpoint name: use 1 to 32 lower-case letters, digits or -, such as connect"
        ))
    }
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Have Stripe send every event type (`*`), not only the rules' types; add-rule and
    /// remove-rule then leave the types alone.
    #[arg(long)]
    pub all_events: bool,
    /// Also make a Connect endpoint (connected accounts' events), even though no rule
    /// names an --account yet.
    #[arg(long)]
    pub connect: bool,
    /// The API version Stripe writes the events in (default: the account's).
    #[arg(long, value_name = "VERSION")]
    pub api_version: Option<String>,
    /// Take over this endpoint, made by hand, instead of making one (its secret is then
    /// given once with set-secret). With --connect, as the Connect endpoint.
    #[arg(long, value_name = "WE_ID", value_parser = parse_webhook_endpoint_id)]
    pub adopt: Option<String>,
}

#[derive(Debug, Args)]
pub struct RotateSecretArgs {
    /// Which endpoint: main (default) or connect.
    #[arg(long, value_name = "NAME", default_value = "main", value_parser = ["main", "connect"])]
    pub endpoint: String,
    /// Instead of waiting for a delivery to the new endpoint to verify, wait this long
    /// (e.g. 10m, for an account with few events), then finish.
    #[arg(long, value_parser = parse_since)]
    pub wait: Option<std::time::Duration>,
    /// How long to wait for a verified delivery to the new endpoint before stopping
    /// (both secrets stay valid; run it again to finish).
    #[arg(long, default_value = "15m", value_parser = parse_since)]
    pub timeout: std::time::Duration,
    /// The new endpoint's API version (default: the old endpoint's).
    #[arg(long, value_name = "VERSION")]
    pub api_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// How far back to look (e.g. 3d; Stripe keeps 30 days of events).
    #[arg(long, default_value = "3d", value_parser = parse_since)]
    pub since: std::time::Duration,
    /// Resend without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// A connected account whose events the Connect endpoint missed (repeatable;
    /// default: the accounts the rules name).
    #[arg(long = "account", value_name = "ACCT", value_parser = parse_account_id)]
    pub accounts: Vec<String>,
}

fn parse_webhook_endpoint_id(id: &str) -> Result<String, String> {
    match id.strip_prefix("we_") {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(id.to_owned())
        }
        _ => Err(format!(
            "`{id}` is not a webhook endpoint's id (we_ and letters or digits, as the Dashboard shows it)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct AddRuleArgs {
    /// A Stripe event type (invoice.paid), a prefix (invoice.*), or * for all; repeatable.
    #[arg(long = "type", required = true)]
    pub types: Vec<String>,
    /// Only live events, only test events, or both (Stripe's `livemode`): give a live
    /// consumer `live`, and it never acts on a test event.
    #[arg(long, value_enum, default_value_t = Livemode::Any)]
    pub livemode: Livemode,
    /// Only events of this connected account (Connect: `account` of a snapshot event,
    /// `context` of a thin one); repeatable.
    #[arg(long = "account", value_name = "ACCT", value_parser = parse_account_id)]
    pub accounts: Vec<String>,
    /// The ARN of a Lambda function, SQS queue, SNS topic, Step Functions state machine,
    /// event bus or Kinesis stream in the bridge's region.
    #[arg(long)]
    pub target: String,
    /// For state machines, buses and streams: the role EventBridge assumes to deliver
    /// (default: one made for the rule, allowed only that delivery).
    #[arg(long, value_parser = parse_role_arn)]
    pub role_arn: Option<String>,
    /// The rule's name (default: the bridge's name and the types; with `-to-TARGET` when
    /// another target already gets those types).
    #[arg(long, value_parser = parse_rule_name)]
    pub rule_name: Option<String>,
    /// Your own SQS queue for events the target could not take after its retries
    /// (default: the bridge's dead-letter queue, which `dead-letters` reads).
    #[arg(long, conflicts_with = "no_dlq")]
    pub dlq: Option<String>,
    /// No dead-letter queue: an event the target cannot take after its retries is lost.
    #[arg(long)]
    pub no_dlq: bool,
    /// How many times EventBridge retries a failed delivery (0 to 185).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=185))]
    pub max_retries: Option<i32>,
    /// How long EventBridge keeps retrying (60s to 24h).
    #[arg(long, value_parser = parse_max_age)]
    pub max_age: Option<std::time::Duration>,
    /// Let the consumer read the bridge's claim-checked events (s3:GetObject on its
    /// claim-check/ prefix): a Lambda target's own role, or the role given.
    #[arg(long, value_name = "ROLE_ARN", num_args = 0..=1, default_missing_value = "")]
    pub grant_claim_check: Option<String>,
    /// Where the target or --dlq is encrypted with a customer managed KMS key whose policy
    /// does not let EventBridge use it, add the statement it needs (else add-rule stops
    /// and prints it).
    #[arg(long)]
    pub grant_kms: bool,
    /// Then replay this much of the archive (e.g. 7d) to the new rule only, so that a new
    /// consumer starts from the past.
    #[arg(long, value_name = "LENGTH", value_parser = parse_backfill)]
    pub backfill: Option<std::time::Duration>,
}

/// `test --timeout`: at least a second.
fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a length of time: give one such as 10m, 1h or 3d"))
}

fn parse_timeout(text: &str) -> Result<humantime::Duration, String> {
    match text.parse::<humantime::Duration>() {
        Ok(timeout) if timeout.as_secs() >= 1 => Ok(timeout),
        Ok(_) => Err(format!(
            "`{text}` leaves no time for an answer: give at least 1s (the default is 30s)"
        )),
        Err(_) => Err(format!("`{text}` is not a length of time (e.g. 30s, 2m)")),
    }
}

/// `--backfill`: how much of the archive, at least a second of it.
fn parse_backfill(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(length) if length.as_secs() >= 1 => Ok(length),
        Ok(_) => Err(format!(
            "`{text}` is no time at all: give how much of the archive to replay, e.g. 7d"
        )),
        Err(_) => Err(format!("`{text}` is not a length of time (e.g. 7d, 12h)")),
    }
}

fn parse_account_id(id: &str) -> Result<String, String> {
    crate::stripe::event_types::check_account_id(id)
        .map(|()| id.to_owned())
        .map_err(|e| e.to_string())
}

fn parse_rule_name(name: &str) -> Result<String, String> {
    crate::aws::rules::naming::check_rule_name(name).map(|()| name.to_owned())
}

fn parse_role_arn(arn: &str) -> Result<String, String> {
    crate::aws::rules::target::role_name(arn)
        .map(|_| arn.to_owned())
        .map_err(|e| e.to_string())
}

/// Stripe keeps a rolled secret valid for at most 24 hours.
fn parse_keep_previous(text: &str) -> Result<humantime::Duration, String> {
    let duration: humantime::Duration = text
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 24h, 90m)"))?;
    if duration.as_secs() > 24 * 60 * 60 {
        return Err(format!(
            "`{text}` is longer than 24h: Stripe stops signing with a rolled secret by then"
        ));
    }
    Ok(duration)
}

/// A size such as `240KiB`, `1MiB` or `200000` (bytes), from 1 KiB to EventBridge's 1 MiB.
fn parse_claim_check_over(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 240KiB, 1MiB, 200000)"))?;
    let bytes = size.as_u64();
    if (1024..=1024 * 1024).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!(
            "`{text}` is {bytes} bytes: give 1KiB to 1MiB, since nothing over EventBridge's 1 MiB goes on the bus as it is"
        ))
    }
}

/// A CloudWatch alarm period of an hour or more must be whole hours, and one period may
/// last at most 7 days (PutMetricAlarm: "Period multiplied by EvaluationPeriods can't be
/// more than 604,800 seconds").
fn parse_quiet_period(text: &str) -> Result<QuietAlarm, String> {
    if text == "off" {
        return Ok(QuietAlarm::Off);
    }
    let duration = humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a duration (e.g. 24h, 3d)"))?;
    let seconds = duration.as_secs();
    if (3_600..=604_800).contains(&seconds) && seconds % 3_600 == 0 && duration.subsec_nanos() == 0
    {
        Ok(QuietAlarm::After(duration))
    } else {
        Err(format!(
            "`{text}` is not a whole number of hours from 1h to 7d, which a CloudWatch alarm needs, or off"
        ))
    }
}

fn parse_max_age(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a duration (e.g. 1h, 90m)"))?;
    if (60..=86_400).contains(&duration.as_secs()) {
        Ok(duration)
    } else {
        Err(format!(
            "`{text}` is outside what EventBridge allows: 60s to 24h"
        ))
    }
}

#[derive(Debug, Args)]
pub struct RemoveRuleArgs {
    /// The rule's name, as list-rules shows it.
    pub rule: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The Lambda architecture to build for.
    #[arg(long, value_enum, default_value_t = Architecture::X86_64)]
    pub arch: Architecture,
    /// Build the relay from the source this CLI carries, even where a release carries
    /// the zip itself.
    #[arg(long)]
    pub build_relay: bool,
    /// Where to write the zip.
    #[arg(long, default_value = "stripe-bridge-relay.zip")]
    pub out: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The template's format (default: JSON with `--output json`, YAML otherwise).
    #[arg(long, value_enum)]
    pub format: Option<TemplateFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    Yaml,
    Json,
}

/// A bridge name becomes part of the stack's, the bus's and the function's names, so it
/// must fit all of them.
fn parse_bridge_name(name: &str) -> Result<String, String> {
    let valid = (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` is not a bridge name: use 1 to 40 lowercase letters, digits and hyphens, \
             starting with a letter and not ending with a hyphen (e.g. `stripe-live`)"
        ))
    }
}

/// An endpoint that is not a URL would only fail later, inside the SDK, with its
/// connector's words: say so now, as a usage error.
fn parse_endpoint_url(url: &str) -> Result<String, String> {
    let parsed: Result<hyper::Uri, _> = url.parse();
    match parsed {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            Ok(url.to_owned())
        }
        _ => Err(format!(
            "`{url}` is not an endpoint URL: give its scheme and host (e.g. http://127.0.0.1:5000)"
        )),
    }
}

/// Catches what is plainly not an address; SNS's confirmation mail checks the rest.
fn parse_email(address: &str) -> Result<String, String> {
    let plausible = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    }) && !address.chars().any(char::is_whitespace);
    if plausible {
        Ok(address.to_owned())
    } else {
        Err(format!(
            "`{address}` is not an e-mail address (e.g. ops@example.com)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn e_mail_addresses_are_checked_for_the_obvious() {
        assert!(parse_email("ops@example.com").is_ok());
        for bad in [
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claim_check_sizes_are_read_in_binary_units_within_the_bus_limit() {
        assert_eq!(parse_claim_check_over("240KiB"), Ok(245_760));
        assert_eq!(parse_claim_check_over("1MiB"), Ok(1_048_576));
        assert_eq!(parse_claim_check_over("200000"), Ok(200_000));
        for bad in ["2MiB", "512", "big", ""] {
            assert!(parse_claim_check_over(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoint_names_are_short_and_readable() {
        assert!(parse_endpoint_name("connect").is_ok());
        for bad in ["", "main", "Connect", "a b", &"a".repeat(33)] {
            assert!(parse_endpoint_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bridge_names_fit_every_aws_name_they_become_part_of() {
        for good in ["stripe-bridge", "live", "acme-test-2"] {
            assert_eq!(parse_bridge_name(good).as_deref(), Ok(good));
        }
        for bad in ["", "Live", "2live", "live-", "a_b", &"a".repeat(41)] {
            assert!(parse_bridge_name(bad).is_err(), "{bad}");
        }
    }
}
