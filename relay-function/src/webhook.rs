//! The webhook request and answer, apart from how they arrive: API Gateway's HTTP API
//! payload (format 2.0) for the Lambda, or a plain HTTP request for a local relay.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::http::header::{CONTENT_TYPE, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::reason::Reason;

/// What the relay needs from an incoming request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub method: String,
    pub path: String,
    /// API Gateway's route key (`POST /webhook`): which route matched. The path alone
    /// is not enough behind a custom domain, whose API mapping key prefixes it.
    pub route: Option<String>,
    /// Every `Stripe-Signature` value, joined with `,` as API Gateway joins repeats.
    pub signature: Option<String>,
    /// The body exactly as the sender sent it, or why it could not be read.
    pub body: Result<Vec<u8>, Reason>,
    pub request_id: String,
}

/// The relay's answer: a status and a short JSON body that echoes nothing of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body: String,
}

impl WebhookResponse {
    pub fn received() -> Self {
        Self {
            status: 200,
            body: r#"{"received":true}"#.into(),
        }
    }

    pub fn refused(reason: Reason) -> Self {
        Self {
            status: reason.status(),
            body: format!(r#"{{"error":"{}"}}"#, reason.code()),
        }
    }
}

impl WebhookRequest {
    /// Reads an API Gateway HTTP API request. A body larger than `max_body_bytes` is not
    /// decoded at all.
    pub fn from_api_gateway(
        request: ApiGatewayV2httpRequest,
        lambda_request_id: &str,
        max_body_bytes: usize,
    ) -> Self {
        let context = request.request_context;
        let signature = signature_header(&request.headers);
        let body = match request.body {
            None => Ok(Vec::new()),
            Some(text) if request.is_base64_encoded => {
                // Base64 is 4 characters for every 3 bytes.
                if text.len() / 4 * 3 > max_body_bytes + 3 {
                    Err(Reason::PayloadTooLarge)
                } else {
                    BASE64.decode(text).map_err(|_| Reason::InvalidBody)
                }
            }
            Some(text) => Ok(text.into_bytes()),
        };
        Self {
            method: context.http.method.to_string(),
            route: request.route_key.or(context.route_key),
            path: strip_stage(context.http.path.or(request.raw_path), context.stage),
            signature,
            body,
            request_id: context
                .request_id
                .unwrap_or_else(|| lambda_request_id.to_owned()),
        }
    }

    /// Reads a plain HTTP request, as the local relay (`stripe-bridge dev`) receives it:
    /// the body is already read, or was refused while reading.
    pub fn from_http(
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: Result<Vec<u8>, Reason>,
        request_id: String,
    ) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            route: None,
            signature: signature_header(headers),
            body,
            request_id,
        }
    }
}

/// Every `Stripe-Signature` value (header names are case-insensitive), joined with `,`
/// as API Gateway joins a repeated header.
fn signature_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("stripe-signature")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .reduce(|joined, next| joined + "," + &next)
}

/// API Gateway puts a named stage in front of the route's path; the `$default` stage
/// puts nothing.
fn strip_stage(path: Option<String>, stage: Option<String>) -> String {
    let path = path.unwrap_or_default();
    match stage.as_deref() {
        Some(stage) if stage != "$default" => path
            .strip_prefix(&format!("/{stage}"))
            .filter(|rest| rest.starts_with('/'))
            .map(str::to_owned)
            .unwrap_or(path),
        _ => path,
    }
}

impl From<WebhookResponse> for ApiGatewayV2httpResponse {
    fn from(response: WebhookResponse) -> Self {
        let mut answer = ApiGatewayV2httpResponse::default();
        answer.status_code = i64::from(response.status);
        answer
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        answer.body = Some(Body::Text(response.body));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apigw(json: serde_json::Value) -> ApiGatewayV2httpRequest {
        serde_json::from_value(json).unwrap()
    }

    fn base(body: &str, base64: bool) -> serde_json::Value {
        serde_json::json!({
            "version": "2.0",
            "routeKey": "POST /webhook",
            "rawPath": "/webhook",
            "headers": {"stripe-signature": "t=1,v1=ab", "content-type": "application/json"},
            "requestContext": {
                "requestId": "req-1",
                "stage": "$default",
                "http": {"method": "POST", "path": "/webhook"}
            },
            "body": body,
            "isBase64Encoded": base64
        })
    }

    #[test]
    fn reads_a_text_body_and_the_signature() {
        let request = WebhookRequest::from_api_gateway(apigw(base("{}", false)), "lambda-1", 100);
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/webhook");
        assert_eq!(request.signature.as_deref(), Some("t=1,v1=ab"));
        assert_eq!(request.body, Ok(b"{}".to_vec()));
        assert_eq!(request.request_id, "req-1");
    }

    #[test]
    fn decodes_a_base64_body_to_the_bytes_sent() {
        let request = WebhookRequest::from_api_gateway(apigw(base("e30K", true)), "l", 100);
        assert_eq!(request.body, Ok(b"{}\n".to_vec()));
        let bad = WebhookRequest::from_api_gateway(apigw(base("e3*K", true)), "l", 100);
        assert_eq!(bad.body, Err(Reason::InvalidBody));
        let big = WebhookRequest::from_api_gateway(apigw(base(&"A".repeat(400), true)), "l", 100);
        assert_eq!(big.body, Err(Reason::PayloadTooLarge));
    }

    #[test]
    fn a_named_stage_is_not_part_of_the_path() {
        assert_eq!(
            strip_stage(Some("/live/webhook".into()), Some("live".into())),
            "/webhook"
        );
        assert_eq!(
            strip_stage(Some("/webhook".into()), Some("$default".into())),
            "/webhook"
        );
        assert_eq!(
            strip_stage(Some("/livewebhook".into()), Some("live".into())),
            "/livewebhook"
        );
    }

    #[test]
    fn refusals_say_only_the_reason() {
        let response = WebhookResponse::refused(Reason::SignatureMismatch);
        assert_eq!(response.status, 400);
        assert_eq!(response.body, r#"{"error":"signature_mismatch"}"#);
        let answer = ApiGatewayV2httpResponse::from(response);
        assert_eq!(answer.status_code, 400);
    }
}
