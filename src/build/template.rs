//! The bridge's CloudFormation template: `templates/bridge.yaml`, embedded in the CLI,
//! rendered to plain JSON or YAML with every short-form intrinsic (`!Ref`, `!Sub`, …)
//! written out in long form, and stamped with the stripe-bridge version that made it.
//!
//! The template takes the bridge's settings as stack parameters, so one template serves
//! every bridge, and a pipeline can deploy what `stripe-bridge template` prints.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value as Json, json};
use serde_yaml::Value as Yaml;

/// The template as written, with CloudFormation's short forms.
pub const SOURCE: &str = include_str!("../../templates/bridge.yaml");

/// The template as CloudFormation will receive it.
pub fn render() -> Json {
    let yaml: Yaml = serde_yaml::from_str(SOURCE).expect("templates/bridge.yaml is YAML");
    let mut template = to_json(yaml).expect("templates/bridge.yaml uses known intrinsics");
    template["Metadata"] = json!({
        "stripe-bridge": {"version": env!("CARGO_PKG_VERSION")}
    });
    template
}

pub fn to_json_text(template: &Json) -> String {
    serde_json::to_string_pretty(template).expect("a template serialises") + "\n"
}

pub fn to_yaml_text(template: &Json) -> String {
    serde_yaml::to_string(template).expect("a template serialises")
}

/// YAML to JSON, turning each CloudFormation tag into its long form.
fn to_json(yaml: Yaml) -> Result<Json> {
    Ok(match yaml {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(b),
        Yaml::Number(n) => serde_json::to_value(n)?,
        Yaml::String(s) => Json::String(s),
        Yaml::Sequence(items) => {
            Json::Array(items.into_iter().map(to_json).collect::<Result<_>>()?)
        }
        Yaml::Mapping(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let Yaml::String(key) = key else {
                    bail!("a template key is not a string: {key:?}");
                };
                map.insert(key, to_json(value)?);
            }
            Json::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let value = to_json(tagged.value).with_context(|| format!("in !{name}"))?;
            long_form(name, value)?
        }
    })
}

fn long_form(tag: &str, value: Json) -> Result<Json> {
    Ok(match (tag, value) {
        ("Ref", value) => json!({ "Ref": value }),
        ("Condition", value) => json!({ "Condition": value }),
        ("GetAtt", Json::String(path)) => {
            let Some((resource, attribute)) = path.split_once('.') else {
                bail!("!GetAtt {path} names no attribute");
            };
            json!({ "Fn::GetAtt": [resource, attribute] })
        }
        (
            "Base64" | "Cidr" | "Equals" | "FindInMap" | "GetAtt" | "GetAZs" | "If" | "ImportValue"
            | "Join" | "Length" | "Not" | "And" | "Or" | "Select" | "Split" | "Sub"
            | "ToJsonString" | "Transform",
            value,
        ) => json!({ format!("Fn::{tag}"): value }),
        (other, _) => bail!("unknown CloudFormation tag !{other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms() {
        let yaml: Yaml = serde_yaml::from_str(
            "a: !Ref X\nb: !GetAtt Bus.Arn\nc: !Sub '${X}-y'\nd: !If [C, !Ref A, no]\ne: !Not [!Equals [!Ref E, x]]",
        )
        .unwrap();
        assert_eq!(
            to_json(yaml).unwrap(),
            json!({
                "a": {"Ref": "X"},
                "b": {"Fn::GetAtt": ["Bus", "Arn"]},
                "c": {"Fn::Sub": "${X}-y"},
                "d": {"Fn::If": ["C", {"Ref": "A"}, "no"]},
                "e": {"Fn::Not": [{"Fn::Equals": [{"Ref": "E"}, "x"]}]},
            })
        );
    }

    #[test]
    fn unknown_tags_are_refused() {
        let yaml: Yaml = serde_yaml::from_str("a: !Nonsense x").unwrap();
        assert!(to_json(yaml).unwrap_err().to_string().contains("!Nonsense"));
    }

    #[test]
    fn the_rendered_template_has_no_tags_left_and_says_who_made_it() {
        let template = render();
        let yaml = to_yaml_text(&template);
        assert!(!yaml.contains("!Ref") && !yaml.contains("!Sub"), "{yaml}");
        assert_eq!(
            template["Metadata"]["stripe-bridge"]["version"],
            env!("CARGO_PKG_VERSION")
        );
        let reparsed: Json = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(reparsed, template);
    }

    #[test]
    fn the_rendered_template_is_as_reviewed() {
        insta::with_settings!({ snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("bridge-template", render());
        });
    }
}
