//! `stripe-bridge template`: print the CloudFormation template.

use anyhow::Result;

use super::ExitStatus;
use crate::build::template;
use crate::cli::{TemplateArgs, TemplateFormat};

pub fn run(args: &TemplateArgs) -> Result<ExitStatus> {
    let rendered = template::render();
    let text = match args.format {
        TemplateFormat::Yaml => template::to_yaml_text(&rendered),
        TemplateFormat::Json => template::to_json_text(&rendered),
    };
    print!("{text}");
    Ok(ExitStatus::Success)
}
