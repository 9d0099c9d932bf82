//! The payloads the benches measure: Stripe's `invoice.paid` as it sends it (3 KB), and
//! the same invoice with line items repeated to a given size.

use serde_json::Value;

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
    fn lines(event: &mut Value) -> &mut Vec<Value> {
        event["data"]["object"]["lines"]["data"]
            .as_array_mut()
            .unwrap()
    }
    let size = |event: &Value| serde_json::to_string_pretty(event).unwrap().len();
    let mut event: Value = serde_json::from_str(&invoice_paid()).unwrap();
    let line = lines(&mut event)[0].clone();
    // What one more line adds, measured where it goes: nested, a line is indented deeper
    // than it is alone.
    let before = size(&event);
    lines(&mut event).push(line.clone());
    let per_line = size(&event) - before;
    lines(&mut event).pop();
    for i in 0..bytes.saturating_sub(before) / per_line {
        let mut next = line.clone();
        next["id"] = format!("il_{i:024}").into();
        lines(&mut event).push(next);
    }
    serde_json::to_string_pretty(&event).unwrap()
}
