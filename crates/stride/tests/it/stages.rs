//! The pipeline's stage configuration, as tests about something else set it up.

use serde_json::{json, Value};
use stride_testkit::Client;

/// Changes every stage of the configuration with `edit` and saves it (as an admin).
pub async fn edit_stages(admin: &Client, edit: impl Fn(&mut Value)) {
    let stages = admin.get("/api/v1/opportunity-stages").await;
    let mut config = stages.json["stages"].clone();
    for s in config.as_array_mut().unwrap() {
        edit(s);
    }
    let saved = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/opportunity-stages",
            Some(json!({ "stages": config })),
            &[("if-match", &stages.etag())],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
}

/// Switches every stage gate off, so a deal may skip stages or be won from first contact.
pub async fn open_gates(admin: &Client) {
    edit_stages(admin, |s| s["requires"] = json!([])).await;
}
