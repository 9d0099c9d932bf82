//! Requests as Stripe sends them through API Gateway: signed events in the HTTP API's
//! payload format 2.0.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Context, LambdaEvent};
use relay_function::signature;
use relay_function::signing_secrets::SigningSecret;

pub const SECRET: &str = "whsec_integrationTestSecret000000000000";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("read fixture {path}: {e}"))
}

/// A small Stripe event of `event_type` with the given id.
pub fn event(id: &str, event_type: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"event","api_version":"2025-01-27.acacia","created":{},"data":{{"object":{{"id":"in_1","object":"invoice"}}}},"livemode":false,"pending_webhooks":1,"request":{{"id":null,"idempotency_key":null}},"type":"{event_type}"}}"#,
        now() - 2
    )
}

/// The `Stripe-Signature` header Stripe would send for `body` now.
pub fn sign(secret: &str, body: &[u8]) -> String {
    signature::sign(&SigningSecret::new(secret), now(), body)
}

/// An API Gateway request carrying `body`, with these extra headers.
pub fn request(body: &[u8], headers: &[(&str, &str)]) -> ApiGatewayV2httpRequest {
    let mut json: serde_json::Value =
        serde_json::from_slice(&fixture("apigw/webhook-request.json")).unwrap();
    json["body"] = String::from_utf8(body.to_vec()).expect("text body").into();
    json["headers"]["content-length"] = body.len().to_string().into();
    for (name, value) in headers {
        json["headers"][name.to_ascii_lowercase()] = (*value).into();
    }
    serde_json::from_value(json).unwrap()
}

/// A signed request for `body`, as Stripe sends it.
pub fn signed_request(secret: &str, body: &str) -> ApiGatewayV2httpRequest {
    request(
        body.as_bytes(),
        &[("Stripe-Signature", &sign(secret, body.as_bytes()))],
    )
}

/// The Lambda invocation around a request, with `budget` left before its deadline.
pub fn invocation(
    request: ApiGatewayV2httpRequest,
    budget: Duration,
) -> LambdaEvent<ApiGatewayV2httpRequest> {
    let mut context = Context::default();
    context.request_id = "lambda-request-1".into();
    context.deadline = (SystemTime::now() + budget)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    LambdaEvent::new(request, context)
}

/// The signature cases Stripe's official library decided (tests/fixtures/signatures.json,
/// made by tests/oracle/generate-signature-fixtures.mjs).
#[derive(serde::Deserialize)]
pub struct SignatureFixtures {
    pub library: String,
    pub cases: Vec<SignatureCase>,
}

#[derive(serde::Deserialize)]
pub struct SignatureCase {
    pub name: String,
    pub payload_base64: String,
    pub header: String,
    pub secrets: Vec<String>,
    pub now: i64,
    pub tolerance: u64,
    /// The library's verdict.
    pub oracle: bool,
    /// The relay's verdict: the library's, but where the relay is stricter on purpose.
    pub expect: bool,
    pub stricter: Option<String>,
}

pub fn signature_fixtures() -> SignatureFixtures {
    serde_json::from_slice(&fixture("signatures.json")).unwrap()
}
