//! The stack's parameters on a deploy: what each one is sent as, and which ones change.
//!
//! A setting whose flag was not given keeps its deployed value: it is sent with
//! CloudFormation's `UsePreviousValue`, so a plain `deploy` (to upgrade the relay, say)
//! never resets what an earlier one set. A parameter the deployed stack does not have
//! yet (a template that gained one) takes its default.

use aws_sdk_cloudformation::types::Parameter;
use serde::Serialize;

use super::lookup;

/// One of the stack's parameters, as a deploy asks for it.
pub struct Setting {
    pub key: &'static str,
    /// The value a flag gave, if any.
    pub given: Option<String>,
    /// What a new stack, or one without this parameter yet, gets when no flag gave one.
    pub default: String,
}

impl Setting {
    pub fn given(key: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            key,
            given: Some(value.clone()),
            default: value,
        }
    }

    pub fn optional(key: &'static str, given: Option<String>, default: impl Into<String>) -> Self {
        Self {
            key,
            given,
            default: default.into(),
        }
    }
}

/// A parameter whose value a deploy changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterChange {
    pub key: &'static str,
    /// The deployed value; none on a stack that did not have the parameter.
    pub before: Option<String>,
    pub after: String,
}

/// What a deploy sends, and what that changes.
pub struct ParameterPlan {
    sent: Vec<(&'static str, Option<String>)>,
    pub changes: Vec<ParameterChange>,
}

impl ParameterPlan {
    /// `deployed` is the stack's parameters now, or `None` for a new stack.
    pub fn new(settings: Vec<Setting>, deployed: Option<&[(String, String)]>) -> Self {
        let mut plan = Self {
            sent: Vec::new(),
            changes: Vec::new(),
        };
        plan.extend(settings, deployed);
        plan
    }

    /// Adds `settings` to the plan, against the same `deployed` parameters.
    pub fn extend(&mut self, settings: Vec<Setting>, deployed: Option<&[(String, String)]>) {
        for Setting {
            key,
            given,
            default,
        } in settings
        {
            let before = deployed
                .and_then(|pairs| lookup(pairs, key))
                .map(str::to_owned);
            let after = match (given, &before) {
                (None, Some(_)) => None,
                (Some(value), _) => Some(value),
                (None, None) => Some(default),
            };
            if let (Some(after), Some(_)) = (&after, deployed)
                && before.as_ref() != Some(after)
            {
                self.changes.push(ParameterChange {
                    key,
                    before,
                    after: after.clone(),
                });
            }
            self.sent.push((key, after));
        }
    }

    /// The parameters as CreateChangeSet takes them.
    pub fn to_parameters(&self) -> Vec<Parameter> {
        self.sent
            .iter()
            .map(|(key, value)| {
                let parameter = Parameter::builder().parameter_key(*key);
                match value {
                    Some(value) => parameter.parameter_value(value),
                    None => parameter.use_previous_value(true),
                }
                .build()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> Vec<(String, String)> {
        [
            ("NotifyEmail", "ops@example.com"),
            ("ArchiveRetentionDays", "0"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    }

    fn settings(email: Option<&str>) -> Vec<Setting> {
        vec![
            Setting::optional("NotifyEmail", email.map(str::to_owned), ""),
            Setting::optional("ArchiveRetentionDays", None, "90"),
            Setting::optional("QuietAlarmSeconds", None, "0"),
        ]
    }

    #[test]
    fn a_setting_not_given_keeps_its_deployed_value() {
        let deployed = deployed();
        let plan = ParameterPlan::new(settings(None), Some(&deployed));
        let sent = plan.to_parameters();
        assert_eq!(sent[0].use_previous_value(), Some(true));
        assert_eq!(sent[0].parameter_value(), None);
        assert_eq!(sent[1].use_previous_value(), Some(true));
        // A parameter the stack does not have yet takes its default, and says so.
        assert_eq!(sent[2].parameter_value(), Some("0"));
        assert_eq!(
            plan.changes,
            [ParameterChange {
                key: "QuietAlarmSeconds",
                before: None,
                after: "0".into()
            }]
        );
    }

    #[test]
    fn a_given_setting_is_sent_and_shown_before_and_after() {
        let deployed = deployed();
        let plan = ParameterPlan::new(settings(Some("")), Some(&deployed));
        assert_eq!(plan.to_parameters()[0].parameter_value(), Some(""));
        assert_eq!(
            plan.changes[0],
            ParameterChange {
                key: "NotifyEmail",
                before: Some("ops@example.com".into()),
                after: String::new()
            }
        );
        // The same value again is no change.
        let plan = ParameterPlan::new(settings(Some("ops@example.com")), Some(&deployed));
        assert!(plan.changes.iter().all(|c| c.key != "NotifyEmail"));
    }

    #[test]
    fn a_new_stack_gets_the_given_values_or_the_defaults_and_lists_no_changes() {
        let plan = ParameterPlan::new(settings(None), None);
        let values: Vec<_> = plan
            .to_parameters()
            .iter()
            .map(|p| p.parameter_value().unwrap().to_owned())
            .collect();
        assert_eq!(values, ["", "90", "0"]);
        assert!(plan.changes.is_empty());
    }
}
