//! `stripe-bridge template`: print the CloudFormation template.

use anyhow::Result;

use super::ExitStatus;
use crate::build::template;
use crate::cli::{TemplateArgs, TemplateFormat};
use crate::settings::OutputFormat;

pub fn run(args: &TemplateArgs, output: OutputFormat) -> Result<ExitStatus> {
    print!("{}", text(args.format, output));
    Ok(ExitStatus::Success)
}

/// The rendered template in `format`, or as `--output` asks when no format is given.
pub fn text(format: Option<TemplateFormat>, output: OutputFormat) -> String {
    let rendered = template::render();
    match format.unwrap_or(match output {
        OutputFormat::Json => TemplateFormat::Json,
        OutputFormat::Text => TemplateFormat::Yaml,
    }) {
        TemplateFormat::Yaml => template::to_yaml_text(&rendered),
        TemplateFormat::Json => template::to_json_text(&rendered),
    }
}
