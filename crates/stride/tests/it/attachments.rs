//! Attachments on customers and leads, on both databases: content-addressed storage, the size
//! limit, content checks, safe download names, scope on every door, audit; and the upload form
//! in a real browser.

use std::path::Path;

use reqwest::Method;
use serde_json::json;
use stride_app::customers::CustomerData;
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    upload_list_download_round_trip,
    same_content_is_stored_once,
    too_large_files_are_refused_and_not_stored,
    files_are_checked_by_their_content,
    attachments_follow_the_scope_of_their_record,
    uploads_and_removals_are_audited,
    browser_uploads_on_the_customer_page,
);

const BOUNDARY: &str = "stride-attachment-test-boundary";

/// A multipart body with text fields and, when given, a file part.
fn multipart(fields: &[(&str, String)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) async fn upload(
    c: &Client,
    kind: &str,
    id: i64,
    file_name: &str,
    bytes: &[u8],
) -> Reply {
    let body = multipart(
        &[
            ("record_kind", kind.to_owned()),
            ("record_id", id.to_string()),
        ],
        Some((file_name, bytes)),
    );
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    c.raw(
        Method::POST,
        "/api/v1/attachments",
        body,
        &[("content-type", &content_type)],
    )
    .await
}

async fn new_customer(c: &Client, name: &str) -> i64 {
    let r = c.post("/api/v1/customers", json!({ "name": name })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json["id"].as_i64().unwrap()
}

/// The regular files under a directory, at any depth.
fn stored_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut files = vec![];
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(stored_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn listed_names(r: &Reply) -> Vec<String> {
    r.json["items"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .filter_map(|a| a["file_name"].as_str().map(str::to_owned))
        .collect()
}

const MINUTES: &str = "客户拜访纪要\n2026-11-20 与采购部确认需求\n";

async fn upload_list_download_round_trip(app: TestApp) {
    let org = app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let customer = new_customer(&rep1, "杭州西湖科技有限公司").await;

    let r = upload(
        &rep1,
        "customer",
        customer,
        "拜访纪要.txt",
        MINUTES.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(r.json["file_name"], "拜访纪要.txt");
    assert_eq!(r.json["content_type"], "text/plain; charset=utf-8");
    assert_eq!(r.json["size_bytes"], MINUTES.len());
    assert_eq!(r.json["record_kind"], "customer");
    assert_eq!(r.json["record_id"], customer);
    assert_eq!(r.json["uploaded_by"], org.rep1);
    assert_eq!(r.json["sha256"].as_str().unwrap().len(), 64);

    let list = rep1
        .get(&format!(
            "/api/v1/attachments?record_kind=customer&record_id={customer}"
        ))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(listed_names(&list), ["拜访纪要.txt"]);
    let meta = rep1.get(&format!("/api/v1/attachments/{id}")).await;
    assert_eq!((meta.status, meta.json["id"].as_i64()), (200, Some(id)));

    let got = rep1.get(&format!("/api/v1/attachments/{id}/content")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, MINUTES.as_bytes());
    assert_eq!(
        got.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert!(got
        .header("content-security-policy")
        .unwrap_or_default()
        .contains("sandbox"));
    let disposition = got.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    // 拜访纪要 in UTF-8, percent-encoded.
    assert!(
        disposition.contains("filename*=UTF-8''%E6%8B%9C%E8%AE%BF%E7%BA%AA%E8%A6%81.txt"),
        "{disposition}"
    );

    // A name with a path keeps only its last segment, on upload and on download.
    let r = upload(
        &rep1,
        "customer",
        customer,
        "../../etc/passwd.txt",
        b"root:x:0:0",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["file_name"], "passwd.txt");
    let got = rep1
        .get(&format!("/api/v1/attachments/{}/content", r.json["id"]))
        .await;
    let disposition = got.header("content-disposition").unwrap_or_default();
    assert!(
        !disposition.contains('/') && !disposition.contains(".."),
        "{disposition}"
    );

    // Leads carry attachments too.
    let lead = rep1
        .post(
            "/api/v1/leads",
            json!({ "company": "苏州工业园区某公司", "phone": "13900001111", "source": "website" }),
        )
        .await;
    assert_eq!(lead.status, 201, "{}", lead.body);
    let lead = lead.json["id"].as_i64().unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let r = upload(&rep1, "lead", lead, "需求说明.pdf", pdf).await;
    assert_eq!(
        (r.status, r.json["content_type"].as_str()),
        (201, Some("application/pdf")),
        "{}",
        r.body
    );
    // The lead's page lists it, with the upload form for its owner.
    let page = rep1.get(&format!("/leads/{lead}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("需求说明.pdf"), "{}", page.body);
    assert!(page.body.contains("id=\"attachment-form\""));
}

async fn same_content_is_stored_once(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let a = new_customer(&rep1, "甲公司").await;
    let b = new_customer(&rep1, "乙公司").await;
    let first = upload(&rep1, "customer", a, "报价.csv", b"item,amount\nCRM,100\n").await;
    let second = upload(&rep1, "customer", b, "quote.csv", b"item,amount\nCRM,100\n").await;
    assert_eq!((first.status, second.status), (201, 201), "{}", second.body);
    assert_eq!(first.json["sha256"], second.json["sha256"]);
    assert_ne!(first.json["id"], second.json["id"]);
    assert_eq!(stored_files(&app.attachments_dir).len(), 1);

    // The content stays while another attachment names it, and goes with the last one.
    let r = rep1
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{}", first.json["id"]),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(stored_files(&app.attachments_dir).len(), 1);
    let got = rep1
        .get(&format!(
            "/api/v1/attachments/{}/content",
            second.json["id"]
        ))
        .await;
    assert_eq!(got.bytes, b"item,amount\nCRM,100\n");
    let r = rep1
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{}", second.json["id"]),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(stored_files(&app.attachments_dir).is_empty());
}

async fn too_large_files_are_refused_and_not_stored(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let customer = new_customer(&rep1, "大文件公司").await;
    let limit = app.app.config().attachment_max_bytes as usize;
    let big = vec![b'a'; limit + 1];
    let r = upload(&rep1, "customer", customer, "big.txt", &big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(stored_files(&app.attachments_dir).is_empty());
    let list = rep1
        .get(&format!(
            "/api/v1/attachments?record_kind=customer&record_id={customer}"
        ))
        .await;
    assert!(listed_names(&list).is_empty(), "{}", list.body);

    // Exactly at the limit is accepted: the 1 MiB JSON limit does not apply here.
    let r = upload(&rep1, "customer", customer, "big.txt", &big[..limit]).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn files_are_checked_by_their_content(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let customer = new_customer(&rep1, "内容检查公司").await;
    for (name, bytes) in [
        ("invoice.pdf", &b"\x7fELF\x02\x01\x01\0\0\0"[..]),
        ("setup.pdf", b"MZ\x90\0\x03\0\0\0"),
        ("setup.exe", b"MZ\x90\0\x03\0\0\0"),
        ("photo.png", b"%PDF-1.4 not a png"),
        ("notes.txt", b"binary\0inside"),
    ] {
        let r = upload(&rep1, "customer", customer, name, bytes).await;
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        assert_eq!(r.error_fields(), ["file"], "{name}");
    }
    assert!(stored_files(&app.attachments_dir).is_empty());

    let r = upload(&rep1, "opportunity", customer, "a.txt", b"text").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["record_kind"]);
    let r = rep1
        .get(&format!(
            "/api/v1/attachments?record_kind=planet&record_id={customer}"
        ))
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["record_kind".to_owned()])
    );

    // A JSON body is not an upload.
    let r = rep1
        .post("/api/v1/attachments", json!({ "file": "x" }))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

async fn attachments_follow_the_scope_of_their_record(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let customer = new_customer(&rep1, "宁波港务有限公司").await;
    let r = upload(
        &rep1,
        "customer",
        customer,
        "合同草案.txt",
        "草案".as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    let list = format!("/api/v1/attachments?record_kind=customer&record_id={customer}");

    // rep2 (South) cannot see Team 1's customer: every door answers 404 like a missing file.
    let missing = rep2.get("/api/v1/attachments/999999").await;
    assert_eq!(missing.status, 404);
    assert_eq!(rep2.get(&list).await.status, 404);
    let meta = rep2.get(&format!("/api/v1/attachments/{id}")).await;
    assert_eq!((meta.status, &meta.json), (404, &missing.json));
    assert_eq!(
        rep2.get(&format!("/api/v1/attachments/{id}/content"))
            .await
            .status,
        404
    );
    let r = rep2
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{id}"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        upload(&rep2, "customer", customer, "x.txt", b"x")
            .await
            .status,
        404
    );

    // The manager of East sees Team 1's customer and its files.
    assert_eq!(listed_names(&manager.get(&list).await), ["合同草案.txt"]);
    let got = manager
        .get(&format!("/api/v1/attachments/{id}/content"))
        .await;
    assert_eq!((got.status, got.bytes.as_slice()), (200, "草案".as_bytes()));

    // Back in the public pool the customer is visible to rep2, but not theirs to change.
    let r = rep1
        .post(&format!("/api/v1/customers/{customer}/release"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(listed_names(&rep2.get(&list).await), ["合同草案.txt"]);
    let r = rep2
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{id}"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        upload(&rep2, "customer", customer, "x.txt", b"x")
            .await
            .status,
        403
    );
    assert_eq!(
        manager
            .get(&format!("/api/v1/attachments/{id}"))
            .await
            .status,
        200
    );
}

async fn uploads_and_removals_are_audited(app: TestApp) {
    let org = app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let customer = new_customer(&rep1, "审计测试公司").await;
    let r = upload(&rep1, "customer", customer, "a.txt", b"audited").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    let r = rep1
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{id}"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        rep1.get(&format!("/api/v1/attachments/{id}")).await.status,
        404
    );

    for (action, side) in [("attach", "after"), ("detach", "before")] {
        let r = admin
            .get(&format!(
                "/api/v1/audit?record_kind=customer&record_id={customer}&action={action}"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.json["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{action}: {}", r.body);
        assert_eq!(items[0]["actor_id"], org.rep1);
        assert_eq!(items[0][side]["id"], id, "{action}: {}", r.body);
        assert_eq!(items[0][side]["file_name"], "a.txt");
    }
}

async fn browser_uploads_on_the_customer_page(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.app.actor_for("rep1").await.unwrap();
    let customer = app
        .app
        .create_customer(
            &rep1,
            CustomerData {
                name: "常州附件测试有限公司".into(),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    let file = app.attachments_dir.with_file_name("需求清单.csv");
    std::fs::write(&file, "产品,数量\nCRM,10\n").unwrap();

    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    b.goto(&app.url("/login")).await.unwrap();
    b.wait_for("#username")
        .await
        .unwrap()
        .send_keys("rep1")
        .await
        .unwrap();
    b.find("#password")
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find("#login").await.unwrap().click().await.unwrap();
    b.wait_for("#welcome").await.unwrap();

    b.goto(&app.url(&format!("/customers/{}", customer.id)))
        .await
        .unwrap();
    b.wait_for_text("#attachments-section h2", "附件")
        .await
        .unwrap();
    b.find("#attachment-file")
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    b.find("#upload-attachment")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_text(".notice", "附件已上传。").await.unwrap();
    let row = b
        .find("#attachments tbody tr")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("需求清单.csv"), "{row}");
    assert!(row.contains("rep1 用户"), "{row}");
    assert!(row.contains("21 B"), "{row}");
    let link = b
        .find("#attachments a.attachment-download")
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(link.starts_with("/api/v1/attachments/"), "{link}");
    b.quit().await.unwrap();
    assert_eq!(stored_files(&app.attachments_dir).len(), 1);
}
