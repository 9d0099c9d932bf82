//! `stripe-bridge template`: print the CloudFormation template.

use crate::cli::{TemplateArgs, TemplateFormat};
use crate::template;

pub fn run(args: &TemplateArgs) -> anyhow::Result<()> {
    let rendered = template::render();
    let text = match args.format {
        TemplateFormat::Yaml => template::to_yaml_text(&rendered),
        TemplateFormat::Json => template::to_json_text(&rendered),
    };
    print!("{text}");
    Ok(())
}
