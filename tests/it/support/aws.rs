//! SDK clients for the emulator, and the AWS resources a relay needs, made through
//! each service's own API. Every name is unique, so tests can run side by side.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::QueueAttributeName;
use relay_function::relay_config::RelayConfig;

use super::emulator;

/// The SDK configuration the production code would load, aimed at the emulator.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(emulator::endpoint()).await
}

pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// The artifacts bucket `deploy` uses for `name` in the emulator's account and region.
pub fn artifacts_bucket_of(name: &str) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(format!(
        "123456789012/us-east-1/{name}"
    )));
    format!("stripe-bridge-artifacts-{}", &digest[..16])
}

pub async fn bucket_exists(sdk: &SdkConfig, bucket: &str) -> bool {
    aws_sdk_s3::Client::new(sdk)
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .is_ok()
}

/// A rule `name` on `bus` sending every Stripe event to `target`, made through the API
/// (as a user's own rule, or with `owner` as an earlier stripe-bridge would have tagged
/// it); its ARN.
pub async fn rule_to(
    sdk: &SdkConfig,
    bus: &str,
    name: &str,
    target: &str,
    owner: Option<&str>,
) -> String {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let tags = owner.map(|owner| {
        aws_sdk_eventbridge::types::Tag::builder()
            .key("stripe-bridge:bridge")
            .value(owner)
            .build()
            .unwrap()
    });
    let arn = events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["Stripe"]}"#)
        .set_tags(tags.map(|t| vec![t]))
        .send()
        .await
        .unwrap()
        .rule_arn
        .unwrap();
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("stripe-bridge-target")
                .arn(target)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    if target.starts_with("arn:aws:sqs:") {
        let queue_name = target.rsplit(':').next().unwrap();
        let url = aws_sdk_sqs::Client::new(sdk)
            .get_queue_url()
            .queue_name(queue_name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        allow_eventbridge(sdk, &url, target, &arn).await;
    }
    emulator::settle();
    arn
}

/// Lets EventBridge send rule `rule_arn`'s events to the queue, as its resource policy
/// must ("Permissions for Amazon SQS", EventBridge User Guide).
pub async fn allow_eventbridge(sdk: &SdkConfig, queue_url: &str, queue_arn: &str, rule_arn: &str) {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
        }]
    });
    aws_sdk_sqs::Client::new(sdk)
        .set_queue_attributes()
        .queue_url(queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .expect("set the queue's policy");
}

/// A role that `service` (e.g. `lambda.amazonaws.com`) may assume; its ARN.
pub async fn role_for(sdk: &SdkConfig, name: &str, service: &str) -> String {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"
    }]});
    aws_sdk_iam::Client::new(sdk)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn
}

/// The bridge's relay function, if it exists.
pub async fn relay_function(
    sdk: &SdkConfig,
    bridge: &str,
) -> Option<aws_sdk_lambda::operation::get_function::GetFunctionOutput> {
    aws_sdk_lambda::Client::new(sdk)
        .get_function()
        .function_name(format!("{bridge}-relay"))
        .send()
        .await
        .ok()
}

pub async fn bus_exists(sdk: &SdkConfig, bus: &str) -> bool {
    aws_sdk_eventbridge::Client::new(sdk)
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .is_ok()
}

pub async fn role_exists(sdk: &SdkConfig, role: &str) -> bool {
    aws_sdk_iam::Client::new(sdk)
        .get_role()
        .role_name(role)
        .send()
        .await
        .is_ok()
}

/// The ARN of rule `rule` on `bus`, which must exist.
pub async fn rule_arn(sdk: &SdkConfig, bus: &str, rule: &str) -> String {
    aws_sdk_eventbridge::Client::new(sdk)
        .describe_rule()
        .name(rule)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no rule {rule} on {bus}: {e}"))
        .arn
        .unwrap()
}

/// The targets of rule `rule` on `bus`, which must exist.
pub async fn rule_targets(
    sdk: &SdkConfig,
    bus: &str,
    rule: &str,
) -> Vec<aws_sdk_eventbridge::types::Target> {
    aws_sdk_eventbridge::Client::new(sdk)
        .list_targets_by_rule()
        .rule(rule)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no rule {rule} on {bus}: {e}"))
        .targets
        .unwrap_or_default()
}

/// The name of the role a target's delivery goes through.
pub fn role_name(target: &aws_sdk_eventbridge::types::Target) -> String {
    let arn = target.role_arn().expect("a delivery role");
    arn.rsplit('/').next().unwrap().to_owned()
}

pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A bridge's AWS side as the stack would make it, plus queues that show what arrived.
pub struct Bridge {
    pub sdk: SdkConfig,
    pub config: RelayConfig,
    /// Receives everything a rule on the bus matches (`source: Stripe`).
    pub events_queue: String,
    /// Subscribed to the failure topic.
    pub notices_queue: String,
    pub secret_arn: String,
    pub bucket: String,
}

impl Bridge {
    /// A bus with a rule to a queue, a secret holding `secret_value`, a failure topic
    /// with a queue subscribed, and a claim-check bucket.
    pub async fn create(secret_value: &str) -> Self {
        let sdk = sdk_config().await;
        let name = unique("bridge");
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);

        events
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .expect("create bus");
        let (events_queue, events_queue_arn) = queue(&sqs, &format!("{name}-events")).await;
        let rule_arn = events
            .put_rule()
            .event_bus_name(&name)
            .name("all-stripe")
            .event_pattern(r#"{"source":["Stripe"]}"#)
            .send()
            .await
            .expect("put rule")
            .rule_arn
            .unwrap();
        events
            .put_targets()
            .event_bus_name(&name)
            .rule("all-stripe")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(&events_queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("put targets");
        allow_eventbridge(&sdk, &events_queue, &events_queue_arn, &rule_arn).await;

        let topic_arn = sns
            .create_topic()
            .name(format!("{name}-failures"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .unwrap();
        let (notices_queue, notices_queue_arn) = queue(&sqs, &format!("{name}-notices")).await;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(notices_queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("subscribe");

        let secret_arn = aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(format!("{name}/signing-secret"))
            .secret_string(secret_value)
            .send()
            .await
            .expect("create secret")
            .arn
            .unwrap();

        let bucket = format!("{name}-claim-checks");
        aws_sdk_s3::Client::new(&sdk)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");

        // The rule and the queue's policy take effect, as they would on AWS in a minute.
        emulator::settle();
        let mut config = RelayConfig::new(&name, &secret_arn);
        config.bridge_name = name.clone();
        config.failure_topic_arn = Some(topic_arn);
        config.claim_check_bucket = Some(bucket.clone());
        config.notice_interval = Duration::from_secs(60);
        Self {
            sdk,
            config,
            events_queue,
            notices_queue,
            secret_arn,
            bucket,
        }
    }

    pub async fn set_secret(&self, value: &str) {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
            .put_secret_value()
            .secret_id(&self.secret_arn)
            .secret_string(value)
            .send()
            .await
            .expect("put secret value");
    }

    /// The EventBridge envelopes that reached the events queue.
    pub async fn delivered_events(&self) -> Vec<serde_json::Value> {
        drain(&self.sdk, &self.events_queue).await
    }

    /// The failure notices that reached the notices queue.
    pub async fn notices(&self) -> Vec<serde_json::Value> {
        drain(&self.sdk, &self.notices_queue).await
    }

    /// The reasons of the notices that reached the notices queue, sorted.
    pub async fn notice_reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self
            .notices()
            .await
            .iter()
            .map(|n| {
                n["reason"]
                    .as_str()
                    .expect("a notice has a reason")
                    .to_owned()
            })
            .collect();
        reasons.sort();
        reasons
    }
}

/// A new queue: its URL and ARN.
pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap();
    (url, arn)
}

/// Every message in the queue now, parsed as JSON. The emulator delivers before
/// PutEvents or Publish returns, so what is not there now never will be.
pub async fn drain(sdk: &SdkConfig, queue_url: &str) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut all = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        let mut batch = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            all.push(serde_json::from_str(message.body().unwrap()).expect("JSON message"));
            batch.push(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(message.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        sqs.delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(batch))
            .send()
            .await
            .expect("delete");
    }
}

/// A user's state machine (a rule target); its ARN.
pub async fn state_machine(sdk: &SdkConfig, name: &str) -> String {
    aws_sdk_sfn::Client::new(sdk)
        .create_state_machine()
        .name(name)
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/sfn-execution")
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn
}

/// The change sets that could still run.
pub async fn pending_change_sets(name: &str) -> usize {
    aws_sdk_cloudformation::Client::new(&sdk_config().await)
        .list_change_sets()
        .stack_name(name)
        .send()
        .await
        .map(|o| {
            o.summaries()
                .iter()
                .filter(|c| {
                    c.execution_status()
                        == Some(&aws_sdk_cloudformation::types::ExecutionStatus::Available)
                })
                .count()
        })
        .unwrap_or(0)
}

/// The status of stack `name`, as CloudFormation reports it.
pub async fn stack_status(name: &str) -> String {
    aws_sdk_cloudformation::Client::new(&sdk_config().await)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .expect("describe the stack")
        .stacks()[0]
        .stack_status()
        .unwrap()
        .as_str()
        .to_owned()
}

/// What the tests' default credentials (`testing`) stand for in the emulator: an IAM
/// user named `moto` (tests/emulator/bus_policies.py).
pub const TEST_CALLER: &str = "arn:aws:iam::123456789012:user/moto";

/// The configuration of the deployed bridge `name`'s relay role, assumed in the
/// emulator as Lambda assumes it for the function: what the relay runs as.
pub async fn as_relay_role(sdk: &SdkConfig, name: &str) -> SdkConfig {
    let role = relay_function(sdk, name)
        .await
        .expect("the bridge's relay function")
        .configuration
        .unwrap()
        .role
        .unwrap();
    as_role(sdk, &role).await
}

/// The configuration of a session of `role`, assumed with STS.
pub async fn as_role(sdk: &SdkConfig, role: &str) -> SdkConfig {
    let (key, secret, token) = role_credentials(sdk, role).await;
    sdk.to_builder()
        .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new(key, secret, Some(token), None, "assumed role"),
        ))
        .build()
}

/// A session of `role`, assumed with STS: its access key, secret key and session token.
pub async fn role_credentials(sdk: &SdkConfig, role: &str) -> (String, String, String) {
    let credentials = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(role)
        .role_session_name("stripe-bridge-test")
        .send()
        .await
        .expect("assume the role")
        .credentials
        .unwrap();
    (
        credentials.access_key_id().to_owned(),
        credentials.secret_access_key().to_owned(),
        credentials.session_token().to_owned(),
    )
}

/// `as_relay_role` for the bridge whose stack outputs these are.
pub async fn relay_sdk_of(outputs: &serde_json::Value) -> SdkConfig {
    let function = outputs["RelayFunctionName"].as_str().unwrap();
    let name = function.strip_suffix("-relay").unwrap();
    as_relay_role(&sdk_config().await, name).await
}
