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
    pub output: OutputSettings,
}
