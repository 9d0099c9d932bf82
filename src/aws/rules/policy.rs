//! The IAM and resource-policy documents that let EventBridge deliver a rule's events:
//! a delivery role's trust and permissions, and the statement merged into a queue's or
//! topic's policy. Pure: documents in, documents out.

use anyhow::Result;
use serde_json::{Value, json};

use super::naming::statement_id;

/// The trust policy of a delivery role: EventBridge may assume it, for this rule only.
/// `aws:SourceAccount` is the account that owns the rule, the one EventBridge acts for
/// ("Preventing the confused deputy problem", EventBridge User Guide), not the target's:
/// a bus or stream in another account is still delivered to by the bridge's rule.
pub fn delivery_trust_policy(rule_arn: &str) -> Value {
    let account = rule_arn.split(':').nth(4).unwrap_or_default();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnEquals": { "aws:SourceArn": rule_arn },
                "StringEquals": { "aws:SourceAccount": account }
            }
        }]
    })
}

/// What a delivery role may do: the one action, on the one target.
pub fn delivery_permissions(action: &str, target_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": action, "Resource": target_arn }]
    })
}

/// The queue or topic policy statement that lets the rule `rule_arn` send to `target_arn`.
pub fn policy_statement(rule: &str, rule_arn: &str, target_arn: &str, action: &str) -> Value {
    json!({
        "Sid": statement_id(rule),
        "Effect": "Allow",
        "Principal": { "Service": "events.amazonaws.com" },
        "Action": action,
        "Resource": target_arn,
        "Condition": { "ArnEquals": { "aws:SourceArn": rule_arn } }
    })
}

/// `policy` (a resource policy document, or none) with `statement` put in, replacing a
/// statement of the same Sid and keeping every other statement as it was.
pub fn merge_statement(policy: Option<&str>, statement: Value) -> Result<String> {
    let mut document: Value = match policy.filter(|p| !p.trim().is_empty()) {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "the existing resource policy is not JSON ({e}); fix it, then run add-rule again"
            )
        })?,
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
    };
    let sid = statement["Sid"].clone();
    let statements = statements_mut(&mut document)?;
    statements.retain(|s| s["Sid"] != sid);
    statements.push(statement);
    Ok(document.to_string())
}

/// `policy` without the statement `sid`; `None` if nothing else is left in it.
pub fn without_statement(policy: &str, sid: &str) -> Result<Option<String>> {
    let mut document: Value = serde_json::from_str(policy)?;
    let statements = statements_mut(&mut document)?;
    statements.retain(|s| s["Sid"] != sid);
    Ok((!statements.is_empty()).then(|| document.to_string()))
}

/// Whether `policy` holds `statement` exactly as it is.
pub fn holds_statement(policy: Option<&str>, statement: &Value) -> bool {
    policy
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .is_some_and(|document| match &document["Statement"] {
            Value::Array(statements) => statements.contains(statement),
            single => single == statement,
        })
}

/// Whether `policy` holds the statement `sid`.
pub fn has_statement(policy: &str, sid: &str) -> bool {
    serde_json::from_str::<Value>(policy).is_ok_and(|document| match &document["Statement"] {
        Value::Array(statements) => statements.iter().any(|s| s["Sid"] == sid),
        single => single["Sid"] == sid,
    })
}

/// The policy SNS gives a new topic: only the topic's own account may use it
/// (`__default_policy_ID`, "Example cases for Amazon SNS access control", SNS Developer
/// Guide). A topic always has a policy, so taking back the last statement
/// stripe-bridge added puts this one back.
pub fn default_topic_policy(topic_arn: &str) -> String {
    let account = topic_arn.split(':').nth(4).unwrap_or_default();
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": { "AWS": "*" },
            "Action": [
                "SNS:GetTopicAttributes",
                "SNS:SetTopicAttributes",
                "SNS:AddPermission",
                "SNS:RemovePermission",
                "SNS:DeleteTopic",
                "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic",
                "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": { "StringEquals": { "AWS:SourceOwner": account } }
        }]
    })
    .to_string()
}

fn statements_mut(document: &mut Value) -> Result<&mut Vec<Value>> {
    // A policy may hold one statement as an object rather than a list.
    if document["Statement"].is_object() {
        let single = document["Statement"].take();
        document["Statement"] = json!([single]);
    }
    if document["Statement"].is_null() {
        document["Statement"] = json!([]);
    }
    document["Statement"]
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("the existing resource policy's Statement is not a list"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_statement_taken_from_a_topic_leaves_snss_default_policy() {
        let topic = "arn:aws:sns:us-east-1:123456789012:billing";
        let ours = policy_statement("r", "arn:rule", topic, "sns:Publish");
        let sid = ours["Sid"].as_str().unwrap().to_owned();
        let policy = merge_statement(None, ours).unwrap();
        assert!(has_statement(&policy, &sid));
        assert_eq!(without_statement(&policy, &sid).unwrap(), None);
        let default = default_topic_policy(topic);
        assert!(!has_statement(&default, &sid));
        assert!(
            default.contains(r#""AWS:SourceOwner":"123456789012""#),
            "{default}"
        );
    }

    #[test]
    fn a_delivery_role_trusts_the_rules_account_not_the_targets() {
        let rule = "arn:aws:events:us-east-1:111111111111:rule/shop/shop-to-partner";
        let trust = delivery_trust_policy(rule);
        let condition = &trust["Statement"][0]["Condition"];
        assert_eq!(
            condition["StringEquals"]["aws:SourceAccount"],
            "111111111111"
        );
        assert_eq!(condition["ArnEquals"]["aws:SourceArn"], rule);
    }

    #[test]
    fn a_delivery_role_may_do_one_thing_to_one_target() {
        let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/events";
        let permissions = delivery_permissions("kinesis:PutRecord", stream);
        assert_eq!(permissions["Statement"][0]["Resource"], stream);
        assert_eq!(permissions["Statement"][0]["Action"], "kinesis:PutRecord");
    }

    #[test]
    fn merging_keeps_the_users_statements_and_replaces_only_ours() {
        let user = r#"{"Version":"2012-10-17","Statement":{"Sid":"Mine","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"q"}}"#;
        let ours = policy_statement("r1", "arn:rule/r1", "arn:q", "sqs:SendMessage");
        let merged = merge_statement(Some(user), ours.clone()).unwrap();
        let again = merge_statement(Some(&merged), ours).unwrap();
        let document: Value = serde_json::from_str(&again).unwrap();
        let sids: Vec<&str> = document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["Mine", "stripe-bridge-r1"]);

        let removed = without_statement(&again, "stripe-bridge-r1")
            .unwrap()
            .unwrap();
        assert!(!removed.contains("stripe-bridge-r1") && removed.contains("Mine"));
        let only_ours =
            merge_statement(None, policy_statement("r1", "a", "b", "sns:Publish")).unwrap();
        assert_eq!(
            without_statement(&only_ours, "stripe-bridge-r1").unwrap(),
            None
        );
    }
}
