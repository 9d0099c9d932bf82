//! The payloads the benches measure: Stripe's `invoice.paid` as it sends it (3 KB), and
//! the same invoice with line items repeated to a given size.

pub fn invoice_paid() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/events/invoice.paid.json"
    );
    std::fs::read_to_string(path).expect("the 3 KB invoice.paid fixture")
}

/// The same invoice with line items repeated until the event is about `bytes` long,
/// pretty-printed as Stripe sends it.
pub fn large_invoice(bytes: usize) -> String {
    let mut event: serde_json::Value = serde_json::from_str(&invoice_paid()).unwrap();
    let line = event["data"]["object"]["lines"]["data"][0].clone();
    let lines = event["data"]["object"]["lines"]["data"]
        .as_array_mut()
        .unwrap();
    let per_line = serde_json::to_string_pretty(&line).unwrap().len();
    for i in 0..bytes / per_line {
        let mut next = line.clone();
        next["id"] = format!("il_{i:024}").into();
        lines.push(next);
    }
    serde_json::to_string_pretty(&event).unwrap()
}
