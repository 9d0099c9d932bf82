//! Plain settings that every layer below the command line takes: resolved once from the
//! arguments and the environment (`cli.rs` does that), so that nothing under `commands/`
//! knows clap's argument structs.

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// What goes where: results on stdout in `format`; progress on stderr unless `quiet`,
/// with more detail when `verbose`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputSettings {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: bool,
}

/// Where AWS calls go, narrowing the SDK's standard chain.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// What every command works with: the bridge, where it lives, and how to talk to people.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    /// The bridge's name: its stack's, and part of every name it makes.
    pub bridge: String,
    pub aws: AwsSettings,
    pub stripe: StripeSettings,
    pub output: OutputSettings,
}

/// Where the Stripe API key comes from, narrowing the order Stripe's own tools read it
/// in (`stripe_api::credentials`).
#[derive(Debug, Clone, Default)]
pub struct StripeSettings {
    /// `--stripe-key-file`: a file holding the key.
    pub key_file: Option<std::path::PathBuf>,
    /// `--stripe-project`: the Stripe CLI project whose stored key to use.
    pub project: Option<String>,
    /// `--stripe-live`: the Stripe CLI's live-mode key instead of its test-mode one.
    pub live: bool,
}
