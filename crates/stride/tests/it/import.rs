//! Importing leads from CSV: whole or nothing, row-level reports, hostile files refused.

use serde_json::json;
use sqlx::Connection;
use stride_testkit::{backend_tests, Backend, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    csv_imports_whole_or_not_at_all,
    hostile_files_are_refused_clearly,
    credit_codes_import_and_flag_duplicates,
    each_imported_lead_keeps_its_own_id_grade_and_audit_row,
    a_problem_after_leads_were_written_leaves_none,
    a_database_failure_mid_import_leaves_nothing,
    imports_at_once_all_land,
    keys_and_bigrams_are_indexed_bytewise,
    imported_text_is_stored_as_written
);

async fn import(c: &Client, query: &str, body: &[u8]) -> Reply {
    c.raw(
        reqwest::Method::POST,
        &format!("/api/v1/leads/import{query}"),
        body.to_vec(),
        &[("content-type", "text/csv")],
    )
    .await
}

/// Rows of `table` matching `filter` (`""` or ` WHERE …`), read past the API.
async fn rows_in(app: &TestApp, table: &str, filter: &str) -> i64 {
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}{filter}"))
        .fetch_one(&mut db)
        .await
        .unwrap();
    n
}

/// The import answered 200 with `rows` leads imported.
fn assert_imported(done: &Reply, rows: u64) {
    assert_eq!(
        (done.status, done.json["imported"].as_u64()),
        (200, Some(rows)),
        "{}",
        done.body
    );
}

async fn lead_count(c: &Client) -> usize {
    c.get("/api/v1/leads?limit=200").await.json["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn csv_imports_whole_or_not_at_all(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    rep.post("/api/v1/customers", json!({"name": "已有客户股份有限公司"}))
        .await;
    let good = "\u{feff}公司名称,联系人,电话,邮箱,来源,需求\n\
        华润万家有限公司,张三,13800001111,zhang@crv.example,展会,门店管理\n\
        \"Stark Industries, Inc.\",Pepper Potts,+1 212 555 0100,pepper@stark.example,referral,\n\
        美团点评,王五,,,官网,\n";
    let dry = import(&rep, "?dry_run=true", good.as_bytes()).await;
    assert_eq!(
        (
            dry.status,
            dry.json["rows"].as_u64(),
            dry.json["imported"].as_u64()
        ),
        (200, Some(3), Some(0)),
        "{}",
        dry.body
    );
    assert_eq!(lead_count(&rep).await, 0);

    let done = import(&rep, "", good.as_bytes()).await;
    assert_imported(&done, 3);
    let leads = rep.get("/api/v1/leads").await;
    let first = &leads.json["items"][0];
    assert_eq!(
        (
            first["company"].as_str(),
            first["source"].as_str(),
            first["grade"].as_str()
        ),
        (Some("华润万家有限公司"), Some("exhibition"), Some("B"))
    );
    assert_eq!(leads.json["items"][1]["company"], "Stark Industries, Inc.");

    // One bad row and two duplicates: nothing is imported, each row is named.
    let mixed = "company,contact,email,source\n\
        Good Row Ltd,A,a@good.example,website\n\
        Bad Mail Co,B,not-an-email,website\n\
        已有客户,C,,partner\n\
        Good Row Limited,D,,website\n";
    let refused = import(&rep, "", mixed.as_bytes()).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let problems: Vec<(u64, String)> = refused.json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            (3, "email".into()),
            (4, "company".into()),
            (5, "company".into())
        ]
    );
    assert_eq!(lead_count(&rep).await, 3, "nothing half-imported");

    // A header and no rows: accepted, nothing to write.
    let headers_only = import(&rep, "", "公司名称,联系人\n".as_bytes()).await;
    assert_eq!(
        (
            headers_only.status,
            headers_only.json["imported"].as_u64(),
            headers_only.json["dry_run"].as_bool()
        ),
        (200, Some(0), Some(false)),
        "{}",
        headers_only.body
    );

    // Other headers through a mapping.
    let custom = "客户,手机号\n字节跳动,13900002222\n";
    let unmapped = import(&rep, "", custom.as_bytes()).await;
    assert_eq!(unmapped.json["errors"][0]["code"], "no_company");
    let mapped = import(
        &rep,
        "?map=%E5%AE%A2%E6%88%B7%3Dcompany,%E6%89%8B%E6%9C%BA%E5%8F%B7%3Dphone",
        custom.as_bytes(),
    )
    .await;
    assert_eq!(mapped.json["imported"].as_u64(), Some(1), "{}", mapped.body);
    let admin = app.login("admin", PASSWORD).await;
    let audit = admin
        .get("/api/v1/audit?record_kind=lead&action=import")
        .await;
    assert_eq!(audit.json["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.login("rep2", PASSWORD)
            .await
            .get("/api/v1/leads")
            .await
            .json["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Look-alikes of a stored lead and of an earlier row (by phone): refused, or let in and listed.
    let lookalikes = "company,phone\n华润万家,13700003333\nNew Venture Co,137-0000-3333\n";
    let rows_and_fields = |list: &serde_json::Value| -> Vec<(u64, String)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["row"].as_u64().unwrap(),
                    p["field"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let refused = import(&rep, "", lookalikes.as_bytes()).await;
    assert_eq!(
        rows_and_fields(&refused.json["problems"]),
        vec![(2, "company".into()), (3, "phone".into())],
        "{}",
        refused.body
    );
    let allowed = import(&rep, "?allow_duplicates=true", lookalikes.as_bytes()).await;
    assert_eq!(
        (allowed.status, allowed.json["imported"].as_u64()),
        (200, Some(2)),
        "{}",
        allowed.body
    );
    assert_eq!(
        rows_and_fields(&allowed.json["duplicates"]),
        vec![(2, "company".into()), (3, "phone".into())]
    );
}

async fn hostile_files_are_refused_clearly(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let code = |r: &Reply| {
        r.json["errors"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    let latin1 = b"company,contact\nCaf\xe9 GmbH,Jos\xe9\n";
    let r = import(&rep, "", latin1).await;
    assert_eq!((r.status, code(&r)), (422, "encoding".into()), "{}", r.body);
    assert!(r.body.contains("row 2"));

    let unclosed = "company,contact\n\"Open Quote Ltd,Ann\nNext Co,Bob\n";
    let r = import(&rep, "", unclosed.as_bytes()).await;
    assert_eq!(
        (r.status, code(&r)),
        (422, "malformed".into()),
        "{}",
        r.body
    );

    let wide = format!(
        "{}\n",
        (0..1_000_000)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = import(&rep, "", wide.as_bytes()).await;
    assert_eq!(
        (r.status, code(&r)),
        (422, "too_many_columns".into()),
        "a million columns"
    );
    let huge = vec![b'x'; stride_app::import::MAX_IMPORT_BYTES + 1];
    assert_eq!(import(&rep, "", &huge).await.status, 413);
    let wide = format!(
        "company,{}\nx\n",
        (0..500)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = import(&rep, "", wide.as_bytes()).await;
    assert_eq!((r.status, code(&r)), (422, "too_many_columns".into()));

    assert_eq!(code(&import(&rep, "", b"").await), "empty");
    assert_eq!(
        import(&rep, "?map=nonsense", b"company\nx\n")
            .await
            .error_fields(),
        vec!["map"]
    );
    assert_eq!(lead_count(&rep).await, 0);
    let viewer = app.login("manager", PASSWORD).await;
    assert_eq!(
        import(&viewer, "", b"company,phone\nx,13800000000\n")
            .await
            .status,
        200,
        "managers may create leads"
    );
}

backend_tests!(xlsx_imports_and_hostile_workbooks_are_refused);

fn workbook(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

/// Rewrites one member of a zip archive.
fn rezip(bytes: &[u8], member: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..source.len() {
        let mut file = source.by_index(i).unwrap();
        let name = file.name().to_owned();
        let mut text = Vec::new();
        file.read_to_end(&mut text).unwrap();
        if name == member {
            text = edit(String::from_utf8(text).unwrap()).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&text).unwrap();
    }
    out.finish().unwrap().into_inner()
}

async fn xlsx_imports_and_hostile_workbooks_are_refused(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let good = workbook(&[
        &["公司名称", "联系人", "电话", "来源"],
        &["青岛啤酒股份有限公司", "黄先生", "0532-85713831", "展会"],
        &["Contoso Beverages", "Dana", "+1 425 555 0100", "referral"],
    ]);
    let r = import(&rep, "", &good).await;
    assert_eq!(
        (r.status, r.json["imported"].as_u64()),
        (200, Some(2)),
        "{}",
        r.body
    );
    assert_eq!(lead_count(&rep).await, 2);

    // External entities are not read.
    let xxe = rezip(&good, "xl/sharedStrings.xml", |xml| {
        xml.replacen(
            "<sst",
            "<!DOCTYPE sst [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><sst",
            1,
        )
        .replace("青岛啤酒股份有限公司", "&xxe;青岛啤酒二厂")
    });
    let r = import(&rep, "?dry_run=true&allow_duplicates=true", &xxe).await;
    assert!(!r.body.contains("root:"), "{}", r.body);

    // A zip bomb: a tiny file that would unpack to 200 MiB.
    let bomb = {
        use std::io::Write;
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        out.start_file(
            "xl/worksheets/sheet1.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..200 {
            out.write_all(&zeros).unwrap();
        }
        out.finish().unwrap().into_inner()
    };
    assert!(
        bomb.len() < 2 * 1024 * 1024,
        "the bomb is small: {}",
        bomb.len()
    );
    let r = import(&rep, "", &bomb).await;
    assert_eq!(
        (r.status, r.json["errors"][0]["code"].as_str()),
        (422, Some("too_large")),
        "{}",
        r.body
    );
    let r = import(&rep, "", b"PK\x03\x04 this is not a zip").await;
    assert_eq!(r.json["errors"][0]["code"], "malformed");
    assert_eq!(lead_count(&rep).await, 2, "nothing changed");
}

async fn credit_codes_import_and_flag_duplicates(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = rep
        .post(
            "/api/v1/customers",
            json!({"name": "苏州精密制造有限公司", "credit_code": "91320505MA1MX0003B"}),
        )
        .await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer = customer.json["id"].as_i64().unwrap();
    let lead = rep
        .post("/api/v1/leads", json!({"company": "深圳华强电子有限公司", "contact_name": "黄经理", "source": "partner", "credit_code": "91440300MA5FT0004W"}))
        .await;
    assert_eq!(lead.status, 201, "{}", lead.body);
    let lead = lead.json["id"].as_i64().unwrap();

    // The header maps itself in either language; a bad code is refused on its row.
    for header in ["统一社会信用代码", "Credit Code", "credit_code"] {
        let file = format!("公司名称,联系人,{header}\n宁德时代,曾先生,91350900MA2XN0001K\n");
        let r = import(&rep, "?dry_run=true", file.as_bytes()).await;
        assert_eq!(r.status, 422, "{header}: {}", r.body);
        assert_eq!(
            (
                r.json["problems"][0]["row"].as_u64(),
                r.json["problems"][0]["field"].as_str()
            ),
            (Some(2), Some("credit_code")),
            "{header}: {}",
            r.body
        );
    }

    // Codes of a customer, of an open lead and of an earlier row make duplicates, whatever the
    // company is called.
    let file = "公司名称,联系人,统一社会信用代码\n\
        Suzhou Precision,吴工,91320505ma1mx0003b\n\
        Huaqiang,黄经理,91440300MA5FT0004W\n\
        宁德时代,曾先生,91350900MA2XN0001J\n\
        CATL,Zeng,91350900MA2XN0001J\n";
    let refused = import(&rep, "", file.as_bytes()).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let fields: Vec<_> = refused.json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        vec![(2, "credit_code"), (3, "credit_code"), (5, "credit_code")]
    );
    let allowed = import(&rep, "?allow_duplicates=true", file.as_bytes()).await;
    assert_eq!(
        (allowed.status, allowed.json["imported"].as_u64()),
        (200, Some(4)),
        "{}",
        allowed.body
    );
    let dups = &allowed.json["duplicates"];
    assert_eq!(
        (dups[0]["row"].as_u64(), dups[0]["customer_id"].as_i64()),
        (Some(2), Some(customer))
    );
    assert_eq!(
        (dups[1]["row"].as_u64(), dups[1]["lead_id"].as_i64()),
        (Some(3), Some(lead))
    );
    assert_eq!(
        (dups[2]["row"].as_u64(), dups[2]["same_as_row"].as_u64()),
        (Some(5), Some(4))
    );
    let leads = rep.get("/api/v1/leads?limit=200").await;
    assert!(
        leads.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["credit_code"] == "91320505MA1MX0003B"),
        "stored uppercase: {}",
        leads.body
    );

    // The import page lists the rows let in as duplicates, with what matched and which record.
    let csrf = rep.csrf.clone().unwrap();
    let page_import = |lang: &'static str, csv: &'static str| {
        let rep = rep.clone();
        let csrf = csrf.clone();
        async move {
            let body = format!(
                "_csrf={csrf}&allow_duplicates=1&mapping=&csv={}",
                csv.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
            );
            rep.raw(
                reqwest::Method::POST,
                "/leads/import",
                body.into_bytes(),
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("accept-language", lang),
                ],
            )
            .await
        }
    };
    let csv = "company,credit code,phone,contact\n\
        Suzhou Precision Two,91320505MA1MX0003B,,吴工\n\
        Fresh Co,,13900001234,\n\
        Fresh Co Two,,139 0000 1234,\n";
    let page = page_import("zh-CN", csv).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let table = page
        .body
        .split("id=\"import-duplicates\"")
        .nth(1)
        .expect("a duplicates table")
        .split("</table>")
        .next()
        .unwrap()
        .to_owned();
    assert!(
        table.contains("data-row=\"2\"")
            && table.contains(&format!("href=\"/customers/{customer}\""))
            && table.contains(&format!("客户 #{customer}"))
            && table.contains("统一社会信用代码"),
        "{table}"
    );
    assert!(
        table.contains("data-row=\"4\"")
            && table.contains("本文件第 3 行")
            && table.contains("电话"),
        "{table}"
    );
    let page = page_import(
        "en",
        "company,credit_code,contact\nSuzhou Precision Three,91320505MA1MX0003B,Wu\n",
    )
    .await;
    assert!(
        page.body.contains("id=\"import-duplicates\"")
            && page.body.contains(&format!("customer #{customer}"))
            && page.body.contains("Unified social credit code"),
        "{}",
        page.body
    );
}

/// Ids are reserved before the multi-row inserts, which return nothing: across batch and
/// statement boundaries, each row of the file must get its own fresh id, and its audit row and
/// grade must name that lead.
async fn each_imported_lead_keeps_its_own_id_grade_and_audit_row(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let by_hand = rep
        .post(
            "/api/v1/leads",
            json!({"company": "手工录入有限公司", "contact_name": "李雷", "source": "website"}),
        )
        .await;
    assert_eq!(by_hand.status, 201, "{}", by_hand.body);
    let hand_id = by_hand.json["id"].as_i64().unwrap();

    // More rows than two checked chunks (4,000 each), than one write batch (2,000) and than one
    // insert statement (500); every third row states a budget and a need, so the rules grade
    // rows differently.
    let rows = 8_501;
    let mut file = String::from("company,phone,source,need,budget\n");
    for i in 0..rows {
        let (need, budget) = if i % 3 == 0 {
            ("ERP", "500万")
        } else {
            ("", "")
        };
        file.push_str(&format!(
            "导入测试{i:04}科技有限公司,1390000{i:04},website,{need},{budget}\n"
        ));
    }
    let done = import(&rep, "", file.as_bytes()).await;
    assert_imported(&done, rows);

    // Every lead the rep sees, by company, read page by page.
    let mut id_of = std::collections::HashMap::new();
    for lead in rep.every_item("/api/v1/leads?limit=200").await {
        let company = lead["company"].as_str().unwrap().to_owned();
        assert!(
            id_of
                .insert(company, lead["id"].as_i64().unwrap())
                .is_none(),
            "two leads share a company"
        );
    }
    assert_eq!(id_of.len(), rows as usize + 1);

    let admin = app.login("admin", PASSWORD).await;
    let mut ids = Vec::new();
    for row in [0, 1, 499, 500, 1_999, 2_000, 3_999, 4_000, 8_000, 8_500] {
        let company = format!("导入测试{row:04}科技有限公司");
        let id = id_of[&company];
        assert!(id > hand_id, "row {row} got id {id}, not after {hand_id}");
        let lead = rep.get(&format!("/api/v1/leads/{id}")).await;
        assert_eq!(lead.json["company"], company.as_str(), "row {row}");
        let expected_grade = lead.json["grade"].clone();
        let audit = admin
            .get(&format!(
                "/api/v1/audit?record_kind=lead&record_id={id}&action=create"
            ))
            .await;
        let entries = audit.json["items"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "row {row}: {}", audit.body);
        assert_eq!(
            entries[0]["after"]["company"],
            company.as_str(),
            "row {row}"
        );
        assert_eq!(entries[0]["after"]["id"], id, "row {row}");
        assert_eq!(entries[0]["after"]["grade"], expected_grade, "row {row}");
        ids.push(id);
    }
    // Ids follow the file's order, each row its own.
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let graded_apart = rep.get(&format!("/api/v1/leads/{}", ids[0])).await.json["grade"].clone();
    let other = rep.get(&format!("/api/v1/leads/{}", ids[1])).await.json["grade"].clone();
    assert_ne!(
        graded_apart, other,
        "rows 0 and 1 were meant to grade differently"
    );
}

/// The file is checked chunk by chunk while the clean chunks before are written: a problem found
/// after thousands of leads were written still leaves none of them, refuses the file with the
/// row at fault, and frees the write for the next import.
async fn a_problem_after_leads_were_written_leaves_none(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let file_with_last_row = |last: &str| {
        let mut file = String::from("company,phone,email,source\n");
        for i in 0..9_000 {
            file.push_str(&format!(
                "分块测试{i:04}贸易有限公司,1360000{i:04},,website\n"
            ));
        }
        file.push_str(last);
        file
    };
    for (last, field) in [
        ("迟到的重复公司,1360000-0010,,website\n", "phone"),
        ("迟到的错误公司,,not-an-email,website\n", "email"),
    ] {
        let refused = import(&rep, "", file_with_last_row(last).as_bytes()).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let problems: Vec<(u64, &str)> = refused.json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["row"].as_u64().unwrap(), p["field"].as_str().unwrap()))
            .collect();
        assert_eq!(problems, vec![(9_002, field)], "{}", refused.body);
        assert_eq!(refused.json["imported"].as_u64(), Some(0));
        assert_eq!(lead_count(&rep).await, 0, "nothing half-imported");
        // On PostgreSQL the names' bigrams were written in a transaction of their own.
        assert_eq!(rows_in(&app, "lead_name_bigrams", "").await, 0, "{field}");
    }
    // A row that cannot be read at all, last in the file: the whole file is refused before any
    // row is used, naming that row.
    let mut unreadable = file_with_last_row("").into_bytes();
    unreadable.extend_from_slice(b"Caf\xe9 GmbH,13600009999,,website\n");
    let refused = import(&rep, "", &unreadable).await;
    assert_eq!(
        (refused.status, refused.json["errors"][0]["code"].as_str()),
        (422, Some("encoding")),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("row 9002"), "{}", refused.body);
    assert_eq!(lead_count(&rep).await, 0, "nothing half-imported");

    let audit = admin.get("/api/v1/audit?record_kind=lead").await;
    assert_eq!(
        audit.json["items"].as_array().unwrap().len(),
        0,
        "{}",
        audit.body
    );

    // The write was given up with the file: the next import goes through.
    let next = import(
        &rep,
        "",
        "company,phone,source\n后来公司,13500001234,website\n".as_bytes(),
    )
    .await;
    assert_eq!(
        (next.status, next.json["imported"].as_u64()),
        (200, Some(1)),
        "{}",
        next.body
    );
    assert_eq!(lead_count(&rep).await, 1);
}

/// The database itself refuses a lead thousands of rows in, after earlier batches went to be
/// written (here a trigger stands for a full disk or a lost connection): the import fails as a
/// whole, leaving no lead, bigram, grade or audit row, and the write is free for the next one.
async fn a_database_failure_mid_import_leaves_nothing(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let mut file = String::from("company,phone,email,source\n");
    for i in 0..9_000 {
        let company = if i == 6_500 {
            "数据库拒绝的公司".to_owned()
        } else {
            format!("写入测试{i:04}科技有限公司")
        };
        file.push_str(&format!("{company},1370000{i:04},,website\n"));
    }
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let postgres = app.database_url.starts_with("postgres");
    // On PostgreSQL a constraint, not a trigger: the import's copy may skip triggers.
    let refuse = if postgres {
        vec![
            "ALTER TABLE leads ADD CONSTRAINT refuse_one_lead \
             CHECK (company <> '数据库拒绝的公司')",
        ]
    } else {
        vec![
            "CREATE TRIGGER refuse_one_lead BEFORE INSERT ON leads \
             WHEN NEW.company = '数据库拒绝的公司' \
             BEGIN SELECT RAISE(ABORT, 'refused by the database'); END",
        ]
    };
    for statement in refuse {
        sqlx::query(statement).execute(&mut db).await.unwrap();
    }

    let failed = import(&rep, "", file.as_bytes()).await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    for table in ["leads", "lead_name_bigrams", "lead_grades", "audit_log"] {
        let filter = if table == "audit_log" {
            " WHERE record_kind = 'lead'"
        } else {
            ""
        };
        assert_eq!(
            rows_in(&app, table, filter).await,
            0,
            "{table}: nothing half-imported"
        );
    }

    let drop = if postgres {
        "ALTER TABLE leads DROP CONSTRAINT refuse_one_lead"
    } else {
        "DROP TRIGGER refuse_one_lead"
    };
    sqlx::query(drop).execute(&mut db).await.unwrap();
    let next = import(&rep, "", file.as_bytes()).await;
    assert_eq!(
        (next.status, next.json["imported"].as_u64()),
        (200, Some(9_000)),
        "{}",
        next.body
    );
}

/// Imports at once, more of them than may write their bigrams beside (a quarter of the pool:
/// one of the tests' five connections). Each file is more than two checked chunks, so its
/// lookups run while its leads are written: had every import taken a connection beside its own,
/// the lookups would have waited for a free one until they failed. Each lands whole, and every
/// name is found.
async fn imports_at_once_all_land(app: TestApp) {
    app.seed_org().await;
    let rows = 9_000;
    let mut files = Vec::new();
    for (user, word) in [("rep1", "甲骨"), ("rep2", "乙醇"), ("manager", "丙烯")] {
        let mut file = String::from("company,contact,source\n");
        for i in 0..rows {
            file.push_str(&format!("{word}{i:04}化工有限公司,王经理,website\n"));
        }
        files.push((app.login(user, PASSWORD).await, word, file));
    }
    let [a, b, c] = &files[..] else {
        unreachable!()
    };
    let (ra, rb, rc) = tokio::join!(
        import(&a.0, "", a.2.as_bytes()),
        import(&b.0, "", b.2.as_bytes()),
        import(&c.0, "", c.2.as_bytes()),
    );
    for (reply, (_, word, _)) in [ra, rb, rc].iter().zip(&files) {
        assert_eq!(
            (reply.status, reply.json["imported"].as_u64()),
            (200, Some(rows)),
            "{word}: {}",
            reply.body
        );
    }
    assert_eq!(rows_in(&app, "leads", "").await, 3 * rows as i64);
    let admin = app.login("admin", PASSWORD).await;
    for (_, word, _) in &files {
        let titles = crate::search::shown(&admin, word).await;
        assert!(
            !titles.is_empty()
                && titles
                    .iter()
                    .all(|t| t.starts_with(&format!("lead:{word}"))),
            "{word}: {titles:?}"
        );
    }
}

/// The indexes duplicate detection and the search box read: normalised keys and name bigrams,
/// found by equality, never shown in order.
const KEY_INDEXES: [(&str, &str); 13] = [
    ("customers", "name_key"),
    ("customers", "phone_key"),
    ("customers", "email_key"),
    ("customers", "credit_code"),
    ("contacts", "phone_key"),
    ("contacts", "email_key"),
    ("leads", "company_key"),
    ("leads", "phone_key"),
    ("leads", "email_key"),
    ("leads", "credit_code"),
    ("customer_name_bigrams", "gram"),
    ("contact_name_bigrams", "gram"),
    ("lead_name_bigrams", "gram"),
];

/// Keys and bigrams are compared byte by byte whatever the database's own collation (migration
/// 0028): a linguistic collation would cost a call on every comparison of every insert and probe.
async fn keys_and_bigrams_are_indexed_bytewise(app: TestApp) {
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let postgres = app.database_url.starts_with("postgres");
    for (table, column) in KEY_INDEXES {
        let query = if postgres {
            // The collation of the first column of every index that starts with this column.
            format!(
                "SELECT CAST(coll.collname AS TEXT) AS collation FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                 JOIN pg_collation coll ON coll.oid = i.indcollation[0] \
                 WHERE i.indrelid = '{table}'::regclass AND a.attname = '{column}'"
            )
        } else {
            format!(
                "SELECT x.coll AS collation FROM pragma_index_list('{table}') l, \
                 pragma_index_xinfo(l.name) x WHERE x.seqno = 0 AND x.name = '{column}'"
            )
        };
        let collations: Vec<(String,)> = sqlx::query_as(&query).fetch_all(&mut db).await.unwrap();
        let bytewise = if postgres { "C" } else { "BINARY" };
        assert!(!collations.is_empty(), "{table}.{column} has an index");
        for (collation,) in collations {
            assert_eq!(collation, bytewise, "{table}.{column}");
        }
    }
}

/// Text that a bulk format could take for markup — backslashes, tabs, line breaks, `\N`, quotes —
/// is stored exactly as the file holds it, in the lead, its audit row and its bigrams.
async fn imported_text_is_stored_as_written(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let company = "反斜杠\\N\\t公司 \"Quoted\" \\";
    let contact = "第一行\n第二行\r\n第三行";
    let notes = "a\tb\\nc \\N";
    let file = format!(
        "company,contact,notes,source\n\"{}\",\"{contact}\",\"{notes}\",website\n",
        company.replace('"', "\"\"")
    );
    let done = import(&rep, "", file.as_bytes()).await;
    assert_imported(&done, 1);
    let leads = rep.every_item("/api/v1/leads?limit=200").await;
    let lead = leads
        .iter()
        .find(|l| l["company"] == company)
        .unwrap_or_else(|| panic!("no lead named {company:?} in {leads:?}"));
    assert_eq!(lead["contact_name"], contact);
    assert_eq!(lead["notes"], notes);
    let id = lead["id"].as_i64().unwrap();
    let audit = admin
        .get(&format!(
            "/api/v1/audit?record_kind=lead&record_id={id}&action=create"
        ))
        .await;
    let after = &audit.json["items"][0]["after"];
    assert_eq!(
        (&after["company"], &after["contact_name"], &after["notes"]),
        (&json!(company), &json!(contact), &json!(notes)),
        "{}",
        audit.body
    );
    assert_eq!(
        crate::search::shown(&rep, "反斜").await,
        vec![format!("lead:{company}")]
    );
}

/// The command line's import on PostgreSQL, with the pool of a real run (16 connections): the
/// leads, their grades and audit rows go by `COPY` on a connection of their own while the bigrams
/// go beside, and all of it lands. Twice: as a superuser, whose copy skips the foreign keys'
/// triggers and holds the rows referred to itself, and as a role that may not skip them, whose
/// rows the database checks one by one. Bounded in time, so a writer left waiting fails the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_import_on_postgres_copies_every_row() {
    stride_testkit::run(command_line_import_copies_every_row, Backend::Postgres).await
}

async fn command_line_import_copies_every_row(app: TestApp) {
    app.seed_org().await;
    command_line_import_lands(&app, &app.database_url, "复制测试", "1380000").await;
    let limited = role_without_replica_mode(&app).await;
    command_line_import_lands(&app, &limited, "受限角色", "1390000").await;
    assert_eq!(
        rows_in(
            &app,
            "audit_log",
            " WHERE record_kind = 'lead' AND action = 'import'"
        )
        .await,
        2
    );
    drop_role(&app, &limited_role(&limited)).await;
}

/// The role a URL of [`role_without_replica_mode`] connects as.
fn limited_role(url: &str) -> String {
    let (_, rest) = url.split_once("://").unwrap();
    rest.split_once(':').unwrap().0.to_owned()
}

/// Roles belong to the server, not to the test's database: each test drops its own.
async fn drop_role(app: &TestApp, role: &str) {
    let mut db = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    for statement in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        sqlx::query(&statement).execute(&mut db).await.unwrap();
    }
}

/// A role of its own for this test's database, with every right on its tables but without the
/// right to set `session_replication_role`: the URL to connect as it.
async fn role_without_replica_mode(app: &TestApp) -> String {
    let mut db = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    let (database,): (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let role = format!("{database}_limited");
    for statement in [
        format!("DROP ROLE IF EXISTS {role}"),
        format!("CREATE ROLE {role} LOGIN PASSWORD 'limited' NOSUPERUSER"),
        format!("GRANT USAGE, CREATE ON SCHEMA public TO {role}"),
        format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ] {
        sqlx::query(&statement).execute(&mut db).await.unwrap();
    }
    let (may,): (bool,) = sqlx::query_as(&format!(
        "SELECT has_parameter_privilege('{role}', 'session_replication_role', 'SET')"
    ))
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert!(!may, "{role} may set session_replication_role");
    let (scheme, rest) = app.database_url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}:limited@{host}")
}

/// `stride import leads` of 5,000 rows named from `prefix`, with phones from `phones`, run
/// against `url`: every lead lands with its grade, its audit row and its bigrams.
async fn command_line_import_lands(app: &TestApp, url: &str, prefix: &str, phones: &str) {
    let rows = 5_000;
    let mut file = String::from("company,phone,need\n");
    for i in 0..rows {
        file.push_str(&format!("{prefix}{i:04}工业有限公司,{phones}{i:04},MES\n"));
    }
    let csv = std::env::temp_dir().join(format!("stride-copy-{}-{prefix}.csv", std::process::id()));
    std::fs::write(&csv, file).unwrap();
    let mut import = std::process::Command::new(env!("CARGO_BIN_EXE_stride"))
        .args(["--database-url", url, "import", "leads"])
        .arg(&csv)
        .args(["--as", "rep1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while import.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = import.kill();
            panic!("the import did not end within two minutes");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = import.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&csv);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains(&format!("imported {rows} leads")),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = format!("(SELECT id FROM leads WHERE company LIKE '{prefix}%')");
    assert_eq!(
        rows_in(app, "leads", &format!(" WHERE id IN {ours}")).await,
        rows
    );
    assert_eq!(
        rows_in(
            app,
            "lead_grades",
            &format!(" WHERE lead_id IN {ours} AND grade = 'B'")
        )
        .await,
        rows
    );
    assert_eq!(
        rows_in(
            app,
            "audit_log",
            &format!(" WHERE record_kind = 'lead' AND action = 'create' AND record_id IN {ours}")
        )
        .await,
        rows
    );
    let gram: String = prefix.chars().take(2).collect();
    assert_eq!(
        rows_in(app, "lead_name_bigrams", &format!(" WHERE gram = '{gram}'")).await,
        rows
    );
}

/// Where the import's copy skips the foreign keys' triggers, it holds the rows its leads refer
/// to as their checks would: a department a lead being written joins cannot be deleted until
/// the import ends, and a lead whose owner does not exist is refused, with nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_holds_the_rows_its_leads_refer_to() {
    stride_testkit::run(copy_holds_the_rows_its_leads_refer_to, Backend::Postgres).await
}

async fn copy_holds_the_rows_its_leads_refer_to(app: TestApp) {
    use stride_app::ports::LeadBatch;
    app.seed_org().await;
    let now = app.app.now_ms();
    let mut db = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    let (department,): (i64,) = sqlx::query_as(
        "INSERT INTO departments (name, created_at_ms, updated_at_ms) \
         VALUES ('新展会组', 0, 0) RETURNING id",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let write = |owner_id: Option<i64>, ids: Vec<i64>| {
        let (batch, batches) = tokio::sync::mpsc::channel(1);
        let lead = stride_app::leads::LeadData {
            company: "引用测试科技有限公司".into(),
            source: "exhibition".into(),
            ..Default::default()
        };
        let state = stride_app::leads::LeadState {
            grade: stride_domain::leads::LeadGrade::C,
            status: stride_domain::leads::LeadStatus::Nurturing,
            owner_id,
            department_id: Some(department),
            assigned_at_ms: None,
            response_due_at_ms: None,
            first_contact_at_ms: None,
            next_nurture_at_ms: None,
            disqualify_reason: None,
            customer_id: None,
        };
        batch
            .try_send(LeadBatch {
                ids,
                leads: vec![(lead, state)],
                audit: Vec::new(),
            })
            .unwrap();
        batches
    };

    let mut tx = app.app.store().begin().await.unwrap();
    let ids = tx.reserve_lead_ids(1).await.unwrap();
    let written = tx
        .insert_lead_batches(write(None, ids), None, now, &|_| {})
        .await;
    assert_eq!(written.unwrap(), 1);
    sqlx::query("SET lock_timeout = '300ms'")
        .execute(&mut db)
        .await
        .unwrap();
    let deleted = sqlx::query("DELETE FROM departments WHERE id = $1")
        .bind(department)
        .execute(&mut db)
        .await;
    let code = deleted
        .as_ref()
        .err()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .map(|code| code.into_owned());
    assert_eq!(
        code.as_deref(),
        Some("55P03"),
        "the department was not held: {deleted:?}"
    );
    drop(tx);

    let mut tx = app.app.store().begin().await.unwrap();
    let ids = tx.reserve_lead_ids(1).await.unwrap();
    let refused = tx
        .insert_lead_batches(write(Some(i64::MAX), ids), None, now, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("users {}", i64::MAX)),
        "{refused}"
    );
    drop(tx);
    assert_eq!(
        rows_in(&app, "leads", " WHERE company = '引用测试科技有限公司'").await,
        0
    );
    // Nothing holds the department any more.
    sqlx::query("DELETE FROM departments WHERE id = $1")
        .bind(department)
        .execute(&mut db)
        .await
        .unwrap();
}

/// Where the role may, the import's copy skips triggers and does the foreign keys' checks
/// itself, for the references stride-store's `lead_copy` names (see `CopyTx`). So the tables it
/// copies into must have exactly those foreign keys, and no trigger or rule of their own on
/// insert, which it would skip as well: a new one belongs in `lead_copy`'s references, or
/// needs the copy to stop skipping triggers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copied_tables_hold_nothing_the_copy_skips() {
    stride_testkit::run(copied_tables_hold_nothing_the_copy_skips, Backend::Postgres).await
}

async fn copied_tables_hold_nothing_the_copy_skips(app: TestApp) {
    let mut db = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    let copied = "('leads', 'lead_grades', 'audit_log', 'lead_name_bigrams')";
    let keys: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text \
         FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
         WHERE c.contype = 'f' AND c.conrelid::regclass::text IN {copied} ORDER BY 1, 2"
    ))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let keys: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|(table, column, to)| (table.as_str(), column.as_str(), to.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("lead_grades", "lead_id", "leads"),
            ("leads", "customer_id", "customers"),
            ("leads", "department_id", "departments"),
            ("leads", "owner_id", "users"),
        ]
    );
    let on_insert: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT tgrelid::regclass::text, tgname::text FROM pg_trigger \
         WHERE NOT tgisinternal AND tgtype & 4 <> 0 AND tgrelid::regclass::text IN {copied} \
         UNION ALL SELECT tablename::text, rulename::text FROM pg_rules \
         WHERE tablename IN {copied}"
    ))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(on_insert, []);
}
