//! The deploy policy (`templates/deployer-policy.json`), derived rather than guessed.
//!
//! What a deploy needs comes from three places, and each is checked here:
//! - **What CloudFormation calls.** A stack is created, read, updated and deleted with the
//!   deploying identity's permissions, by each resource type's handlers; cfn-lint ships
//!   CloudFormation's resource provider schemas, which list every handler's permissions.
//!   Every read and delete permission of every type in the rendered template must be
//!   allowed (reads follow every write; deletes run on `remove` and on rollback), and
//!   every create and update permission but those of properties the bridge does not set
//!   (`NOT_SET`, each naming its property).
//! - **Tags at creation.** A resource being created has no tags yet, so a statement
//!   conditioned on `aws:ResourceTag` cannot allow tagging it; creating a tagged KMS key
//!   needs `kms:TagResource` "that isn't restricted to particular KMS keys" ("Controlling
//!   access to tags", AWS KMS Developer Guide), conditioned on `aws:RequestTag` at most.
//! - **What the CLI calls.** The emulator records each action the CLI sends during the
//!   whole integration suite (tests/emulator/call_log.py); tests/run.sh then runs
//!   `every_call_of_the_suite_is_allowed_and_every_statement_is_needed` over the record.
//!
//! Actions are matched as IAM matches them (case-insensitive, `*` and `?` wildcards).
//! Resources are checked only where a requirement names one: the rest of the policy's
//! resource scoping is parliament's to lint (deployer_policy.rs) and the IAM-enforcing
//! run's to prove.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::cli::{cli_offline, stderr};
use crate::support::emulator;

const POLICY: &str = include_str!("../../templates/deployer-policy.json");

/// Create and update permissions the bridge's template never makes CloudFormation use:
/// (resource type, permission pattern, the property that would need it and is not set).
const NOT_SET: &[(&str, &str, &str)] = &[
    ("AWS::ApiGatewayV2::Api", "s3:getObject", "BodyS3Location"),
    (
        "AWS::ApiGatewayV2::Integration",
        "iam:PassRole",
        "CredentialsArn",
    ),
    ("AWS::ApiGatewayV2::Stage", "apigateway:TagResource", "Tags"),
    (
        "AWS::ApiGatewayV2::Stage",
        "apigateway:UntagResource",
        "Tags",
    ),
    ("AWS::Events::Archive", "kms:*", "KmsKeyIdentifier"),
    ("AWS::Events::EventBus", "kms:*", "KmsKeyIdentifier"),
    (
        "AWS::IAM::Role",
        "iam:AttachRolePolicy",
        "ManagedPolicyArns",
    ),
    (
        "AWS::IAM::Role",
        "iam:*RolePermissionsBoundary",
        "PermissionsBoundary",
    ),
    ("AWS::KMS::Key", "kms:DisableKey", "Enabled (always true)"),
    ("AWS::KMS::Key", "kms:EnableKey", "Enabled (always true)"),
    (
        "AWS::KMS::Key",
        "kms:DisableKeyRotation",
        "EnableKeyRotation (always true)",
    ),
    (
        "AWS::Lambda::Function",
        "s3:GetObjectVersion",
        "Code.S3ObjectVersion",
    ),
    ("AWS::Lambda::Function", "ec2:*", "VpcConfig"),
    (
        "AWS::Lambda::Function",
        "elasticfilesystem:*",
        "FileSystemConfigs",
    ),
    ("AWS::Lambda::Function", "s3files:*", "FileSystemConfigs"),
    ("AWS::Lambda::Function", "kms:CreateGrant", "KmsKeyArn"),
    ("AWS::Lambda::Function", "kms:Encrypt", "KmsKeyArn"),
    ("AWS::Lambda::Function", "kms:GenerateDataKey", "KmsKeyArn"),
    ("AWS::Lambda::Function", "kms:DescribeKey", "KmsKeyArn"),
    (
        "AWS::Lambda::Function",
        "lambda:GetCodeSigningConfig",
        "CodeSigningConfigArn",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:*FunctionCodeSigningConfig",
        "CodeSigningConfigArn",
    ),
    ("AWS::Lambda::Function", "lambda:GetLayerVersion", "Layers"),
    (
        "AWS::Lambda::Function",
        "lambda:PutRuntimeManagementConfig",
        "RuntimeManagementConfig",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutFunctionRecursionConfig",
        "RecursiveLoop",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutFunctionScalingConfig",
        "FunctionScalingConfig",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PassCapacityProvider",
        "CapacityProviderConfig",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutDataProtectionPolicy",
        "DataProtectionPolicy",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:*IndexPolicy",
        "FieldIndexPolicies",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutBearerTokenAuthentication",
        "BearerTokenAuthenticationEnabled",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutLogGroupDeletionProtection",
        "DeletionProtectionEnabled",
    ),
    ("AWS::Logs::LogGroup", "logs:*KmsKey", "KmsKeyId"),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteRetentionPolicy",
        "RetentionInDays (always set)",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteResourcePolicy",
        "ResourcePolicyDocument",
    ),
    (
        "AWS::Logs::LogGroup",
        "s3:REST.PUT.OBJECT",
        "a delivery to S3 (not an IAM action: S3's REST operation name)",
    ),
    (
        "AWS::Logs::LogGroup",
        "firehose:TagDeliveryStream",
        "a delivery to Firehose",
    ),
    ("AWS::S3::Bucket", "s3tables:*", "MetadataConfiguration"),
    (
        "AWS::S3::Bucket",
        "s3:*BucketMetadata*",
        "MetadataConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:*AnalyticsConfiguration",
        "AnalyticsConfigurations",
    ),
    ("AWS::S3::Bucket", "s3:PutBucketCORS", "CorsConfiguration"),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketCors",
        "CorsConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutInventoryConfiguration",
        "InventoryConfigurations",
    ),
    (
        "AWS::S3::Bucket",
        "s3:*MetricsConfiguration",
        "MetricsConfigurations",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutBucketNotification",
        "NotificationConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:*Replication*",
        "ReplicationConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "iam:PassRole",
        "ReplicationConfiguration.Role",
    ),
    (
        "AWS::S3::Bucket",
        "s3:*BucketWebsite",
        "WebsiteConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutAccelerateConfiguration",
        "AccelerateConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:Put*ObjectLockConfiguration",
        "ObjectLockConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutBucketLogging",
        "LoggingConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutBucketVersioning",
        "VersioningConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutIntelligentTieringConfiguration",
        "IntelligentTieringConfigurations",
    ),
    ("AWS::S3::Bucket", "s3:PutBucketAcl", "AccessControl"),
    ("AWS::S3::Bucket", "s3:PutObjectAcl", "AccessControl"),
    ("AWS::S3::Bucket", "s3:PutBucketAbac", "AbacStatus"),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketEncryption",
        "BucketEncryption (always set)",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketLifecycle",
        "LifecycleConfiguration removed (not an IAM action: S3 authorises DeleteBucketLifecycle as s3:PutLifecycleConfiguration, which is allowed)",
    ),
    (
        "AWS::SecretsManager::Secret",
        "secretsmanager:GetRandomPassword",
        "GenerateSecretString",
    ),
    (
        "AWS::SecretsManager::Secret",
        "secretsmanager:ReplicateSecretToRegions",
        "ReplicaRegions",
    ),
    (
        "AWS::SNS::Topic",
        "sns:PutDataProtectionPolicy",
        "DataProtectionPolicy",
    ),
    ("AWS::SNS::Topic", "iam:*", "DeliveryStatusLogging"),
    ("AWS::SNS::Subscription", "iam:*", "SubscriptionRoleArn"),
];

/// Needs no schema names, each with where AWS documents it: (action, resource if the
/// need is for one resource in particular, why).
const DOCUMENTED: &[(&str, Option<&str>, &str)] = &[
    // "Controlling access to aliases", AWS KMS Developer Guide: an alias's
    // operations are authorised on the alias and on its key, each on its own.
    (
        "kms:CreateAlias",
        Some("arn:aws:kms:us-east-1:123456789012:alias/stripe-bridge/stripe-x"),
        "an alias's operations are authorised on the alias",
    ),
    (
        "kms:CreateAlias",
        Some("arn:aws:kms:us-east-1:123456789012:key/0000"),
        "and on its key",
    ),
    (
        "kms:DeleteAlias",
        Some("arn:aws:kms:us-east-1:123456789012:alias/stripe-bridge/stripe-x"),
        "an alias's operations are authorised on the alias",
    ),
    (
        "kms:DeleteAlias",
        Some("arn:aws:kms:us-east-1:123456789012:key/0000"),
        "and on its key",
    ),
    // "Configuring logging for an HTTP API", API Gateway Developer Guide: the
    // permissions a caller needs to turn on access logging.
    ("logs:CreateLogDelivery", None, "the stage's access logs"),
    ("logs:GetLogDelivery", None, "the stage's access logs"),
    ("logs:UpdateLogDelivery", None, "the stage's access logs"),
    ("logs:DeleteLogDelivery", None, "the stage's access logs"),
    ("logs:ListLogDeliveries", None, "the stage's access logs"),
    ("logs:PutResourcePolicy", None, "the stage's access logs"),
    (
        "logs:DescribeResourcePolicies",
        None,
        "the stage's access logs",
    ),
    ("logs:DescribeLogGroups", None, "the stage's access logs"),
];

/// One permission the deploying identity needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Need {
    action: String,
    /// A resource the permission must reach, where that matters.
    resource: Option<String>,
    /// Tagging a resource CloudFormation is creating: no `aws:ResourceTag` condition.
    at_creation: bool,
    why: String,
}

fn policy() -> Value {
    serde_json::from_str(POLICY).expect("the deploy policy is JSON")
}

fn list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one, case as given.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// Whether one Allow statement grants `need`.
fn grants(statement: &Value, need: &Need) -> bool {
    if statement["Effect"] != "Allow"
        || !list(&statement["Action"])
            .iter()
            .any(|a| action_matches(a, &need.action))
    {
        return false;
    }
    if let Some(resource) = &need.resource
        && !list(&statement["Resource"])
            .iter()
            .any(|r| wildcard(r, resource))
    {
        return false;
    }
    !(need.at_creation
        && statement["Condition"]
            .to_string()
            .contains("aws:ResourceTag"))
}

fn allowed(statements: &[Value], need: &Need) -> bool {
    statements.iter().any(|s| grants(s, need))
}

/// The resource types in the template `stripe-bridge template` prints.
fn template_types() -> BTreeSet<String> {
    let output = cli_offline(&["template", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let template: Value = serde_json::from_slice(&output.stdout).unwrap();
    template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap().to_owned())
        .collect()
}

/// cfn-lint's copy of CloudFormation's resource provider schemas.
fn schemas_dir() -> PathBuf {
    let output = Command::new(emulator::python())
        .args([
            "-c",
            "import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), 'data', 'schemas'))",
        ])
        .output()
        .expect("run the emulator's Python");
    assert!(output.status.success(), "{}", stderr(&output));
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// Each handler's permissions, by resource type and handler.
fn handler_permissions(types: &BTreeSet<String>) -> BTreeMap<(String, String), Vec<String>> {
    let dir = schemas_dir();
    let read = |path: PathBuf| -> Value {
        serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
        )
        .unwrap()
    };
    let index = read(dir.join("providers/us-east-1.json"));
    let mut permissions = BTreeMap::new();
    for type_name in types {
        let hash = index[type_name.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("cfn-lint has no schema for {type_name}"));
        let schema = read(dir.join(format!("resources/{hash}.json")));
        assert_eq!(schema["typeName"], type_name.as_str());
        for handler in ["create", "read", "update", "delete"] {
            let listed = list(&schema["handlers"][handler]["permissions"])
                .into_iter()
                .map(str::to_owned)
                .collect();
            permissions.insert((type_name.clone(), handler.to_owned()), listed);
        }
    }
    permissions
}

/// Everything CloudFormation needs of the deploying identity for the bridge's stack.
fn stack_needs() -> Vec<Need> {
    let mut needs = Vec::new();
    for ((type_name, handler), permissions) in handler_permissions(&template_types()) {
        for permission in permissions {
            let writes = handler == "create" || handler == "update";
            if writes
                && NOT_SET
                    .iter()
                    .any(|(t, p, _)| *t == type_name && action_matches(p, &permission))
            {
                continue;
            }
            let tags = ["Tag", "PutBucketTagging"]
                .iter()
                .any(|t| permission.contains(t))
                && !permission.contains("Untag")
                && !permission.contains("List");
            needs.push(Need {
                at_creation: handler == "create" && tags,
                action: permission,
                resource: None,
                why: format!("{type_name}'s {handler} handler"),
            });
        }
    }
    needs.extend(DOCUMENTED.iter().map(|(action, resource, why)| Need {
        action: (*action).to_owned(),
        resource: resource.map(str::to_owned),
        at_creation: false,
        why: (*why).to_owned(),
    }));
    needs
}

fn refused<'a>(statements: &[Value], needs: &'a [Need]) -> Vec<&'a Need> {
    needs.iter().filter(|n| !allowed(statements, n)).collect()
}

#[test]
fn the_policy_allows_what_cloudformation_calls_for_the_template() {
    let policy = policy();
    let statements = policy["Statement"].as_array().unwrap();
    let needs = stack_needs();
    let refused = refused(statements, &needs);
    assert!(
        refused.is_empty(),
        "the deploy policy does not allow what CloudFormation calls: {refused:#?}"
    );
}

#[test]
fn tagging_a_resource_being_created_is_not_conditioned_on_its_tags() {
    let needs: Vec<Need> = stack_needs()
        .into_iter()
        .filter(|n| n.at_creation)
        .collect();
    assert!(
        needs
            .iter()
            .any(|n| n.action == "kms:TagResource" && n.why.starts_with("AWS::KMS::Key")),
        "{needs:#?}"
    );
    // The mistake this guards against, made on purpose: KMS's tagging only under the
    // key's own tag.
    let mut policy = policy();
    for statement in policy["Statement"].as_array_mut().unwrap() {
        if statement["Sid"] == "CreateTheFailureTopicsKeyTaggedAsTheBridges" {
            statement["Action"] = serde_json::json!(["kms:CreateKey"]);
        }
    }
    let refused = refused(policy["Statement"].as_array().unwrap(), &needs);
    assert_eq!(
        refused
            .iter()
            .map(|n| n.action.as_str())
            .collect::<Vec<_>>(),
        ["kms:TagResource"]
    );
}

#[test]
fn the_matcher_matches_as_iam_does() {
    assert!(action_matches("s3:Get*", "s3:GetBucketTagging"));
    assert!(action_matches("S3:getobject", "s3:GetObject"));
    assert!(!action_matches("s3:Get*", "s3:PutObject"));
    assert!(wildcard(
        "arn:aws:sns:*:*:stripe-*",
        "arn:aws:sns:us-east-1:1:stripe-a:uuid"
    ));
    assert!(!wildcard(
        "arn:aws:kms:*:*:alias/stripe-bridge/*",
        "arn:aws:kms:us-east-1:1:key/0000"
    ));
    assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));
}

/// The record tests/emulator/call_log.py kept of the suite's calls, as needs.
fn recorded_calls() -> Vec<Need> {
    let path = std::env::var_os("STRIPE_BRIDGE_CALL_LOG").expect(
        "STRIPE_BRIDGE_CALL_LOG names no record of the suite's calls: tests/run.sh runs \
         this test after the suite, over what the emulator recorded",
    );
    let record = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", PathBuf::from(&path).display()));
    let actions: BTreeSet<&str> = record.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        actions.contains("cloudformation:CreateChangeSet"),
        "the record holds no deploy: {actions:?}"
    );
    actions
        .into_iter()
        .map(|action| Need {
            action: action.to_owned(),
            resource: None,
            at_creation: false,
            why: "the CLI called it in the integration suite".to_owned(),
        })
        .collect()
}

#[test]
#[ignore = "tests/run.sh runs it after the suite, over the calls the emulator recorded"]
fn every_call_of_the_suite_is_allowed_and_every_statement_is_needed() {
    let policy = policy();
    let statements = policy["Statement"].as_array().unwrap().clone();
    let mut needs = stack_needs();
    needs.extend(recorded_calls());
    let refused_now = refused(&statements, &needs);
    assert!(
        refused_now.is_empty(),
        "the deploy policy does not allow: {refused_now:#?}"
    );
    // Without any one statement, something needed is refused: no statement is there
    // for nothing, and deleting one fails this test.
    for (index, statement) in statements.iter().enumerate() {
        let mut fewer = statements.clone();
        fewer.remove(index);
        assert!(
            !refused(&fewer, &needs).is_empty(),
            "statement {} allows nothing the deploy needs",
            statement["Sid"]
        );
    }
}
