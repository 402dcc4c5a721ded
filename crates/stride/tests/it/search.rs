//! The search box over names kept as bigrams: the same answers whichever side a search reads
//! (the bigrams or the caller's scope), after every kind of write, within the caller's scope.

use serde_json::json;
use sqlx::Connection;
use stride_testkit::{backend_tests, Backend, Client, TestApp, PASSWORD};

backend_tests!(
    names_are_found_through_their_bigrams_after_every_write,
    names_loaded_in_bulk_are_found,
    postings_of_ids_no_record_holds_find_nothing,
    counts_kept_never_hide_a_name_written_since
);

/// The titles a search shows, sorted, each prefixed with its kind.
async fn found(c: &Client, words: &str) -> Vec<String> {
    let mut titles = shown(c, words).await;
    titles.sort();
    titles
}

/// The titles a search shows, in the order shown, each prefixed with its kind.
pub(crate) async fn shown(c: &Client, words: &str) -> Vec<String> {
    let r = c
        .get(&format!("/api/v1/search?q={}", urlencode(words)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}:{}",
                h["kind"].as_str().unwrap(),
                h["title"].as_str().unwrap()
            )
        })
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn titles(expected: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

async fn create(c: &Client, path: &str, body: serde_json::Value) -> i64 {
    let r = c.post(path, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json["id"].as_i64().unwrap()
}

async fn names_are_found_through_their_bigrams_after_every_write(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let customer = |name: &str| json!({"name": name, "allow_duplicate": true});
    let huawei = create(&rep1, "/api/v1/customers", customer("华为技术有限公司")).await;
    create(&rep1, "/api/v1/customers", customer("上海华为销售公司")).await;
    let electric = create(&rep1, "/api/v1/customers", customer("上海电气集团")).await;
    let baidu = create(&rep1, "/api/v1/customers", customer("北京百度网讯")).await;
    create(&rep1, "/api/v1/customers", customer("ACME 上海 Ltd.")).await;
    create(&rep2, "/api/v1/customers", customer("上海汽车集团")).await;
    create(&rep2, "/api/v1/customers", customer("上海银行")).await;
    create(&rep2, "/api/v1/customers", customer("上海石化")).await;
    create(&rep2, "/api/v1/customers", customer("华为终端(深圳)")).await;
    create(&rep2, "/api/v1/customers", customer("华为云计算")).await;
    let contact = create(
        &rep1,
        "/api/v1/contacts",
        json!({"customer_id": huawei, "name": "王上海"}),
    )
    .await;
    let hong = create(
        &rep1,
        "/api/v1/leads",
        json!({"company": "上海华虹宏力", "contact_name": "周工", "source": "website"}),
    )
    .await;

    // 百度 is rarer than rep1's customers: read through its bigram. 上海 is in more names than
    // rep1 has customers: read from rep1's scope. Both answer exactly what a scan would.
    assert_eq!(
        found(&rep1, "百度").await,
        titles(&["customer:北京百度网讯"])
    );
    assert_eq!(
        found(&rep1, "上海").await,
        titles(&[
            "customer:上海华为销售公司",
            "customer:上海电气集团",
            "customer:ACME 上海 Ltd.",
            "contact:王上海",
            "lead:上海华虹宏力",
        ])
    );
    // One answer for all three kinds: customers, contacts, then leads, each newest first.
    assert_eq!(
        shown(&rep1, "上海").await,
        [
            "customer:ACME 上海 Ltd.",
            "customer:上海电气集团",
            "customer:上海华为销售公司",
            "contact:王上海",
            "lead:上海华虹宏力",
        ]
    );
    assert_eq!(
        found(&rep1, "华为").await,
        titles(&["customer:华为技术有限公司", "customer:上海华为销售公司"])
    );
    assert_eq!(
        found(&rep2, "华为").await,
        titles(&["customer:华为终端(深圳)", "customer:华为云计算"])
    );
    assert_eq!(
        found(&manager, "华为").await,
        found(&rep1, "华为").await,
        "the manager's reach is rep1's team"
    );
    assert_eq!(found(&admin, "华为").await.len(), 4);
    // Case and mixed scripts: every bigram of the words must be there, in order.
    assert_eq!(
        found(&rep1, "acme 上海").await,
        titles(&["customer:ACME 上海 Ltd."])
    );
    assert_eq!(found(&rep1, "海上").await, titles(&[]));
    // The legal forms' bigrams are not kept: words of nothing else are read from the scope,
    // and words with them are found through their other bigrams.
    assert_eq!(
        found(&rep1, "公司").await,
        titles(&["customer:华为技术有限公司", "customer:上海华为销售公司"])
    );
    assert_eq!(
        found(&admin, "有限公司").await,
        titles(&["customer:华为技术有限公司"])
    );
    assert_eq!(
        found(&rep1, "技术有限").await,
        titles(&["customer:华为技术有限公司"])
    );
    assert_eq!(
        found(&rep1, "上海华为销").await,
        titles(&["customer:上海华为销售公司"])
    );

    // A rename moves the name's bigrams with it, to and from a name without any (ASCII only),
    // and lower-cases a bigram's ASCII half.
    let path = format!("/api/v1/customers/{baidu}");
    rename(&rep1, &path, json!({"name": "Baidu Netcom"})).await;
    assert_eq!(found(&rep1, "百度").await, titles(&[]));
    rename(&rep1, &path, json!({"name": "BYTEDANCE字节跳动"})).await;
    assert_eq!(
        found(&rep1, "字节").await,
        titles(&["customer:BYTEDANCE字节跳动"])
    );
    assert_eq!(
        found(&rep1, "bytedance字节").await,
        titles(&["customer:BYTEDANCE字节跳动"])
    );

    // A merge deletes the merged customer and its bigrams.
    let r = manager
        .post(
            &format!("/api/v1/customers/{huawei}/merge"),
            json!({"from_id": electric}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(found(&rep1, "电气").await, titles(&[]));

    // Imported leads are found like typed ones.
    let csv = "公司名称,联系人,来源\n上海微创医疗,孙经理,展会\n深圳迈瑞,李工,官网\n";
    let r = rep1
        .raw(
            reqwest::Method::POST,
            "/api/v1/leads/import",
            csv.as_bytes().to_vec(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(found(&rep1, "迈瑞").await, titles(&["lead:深圳迈瑞"]));
    assert!(found(&rep1, "上海")
        .await
        .contains(&"lead:上海微创医疗".to_owned()));

    // A contact's and a lead's new names are found, their old ones no longer.
    rename(
        &rep1,
        &format!("/api/v1/contacts/{contact}"),
        json!({"name": "李北京"}),
    )
    .await;
    assert_eq!(found(&rep1, "北京").await, titles(&["contact:李北京"]));
    assert!(!found(&rep1, "王上")
        .await
        .contains(&"contact:王上海".to_owned()));
    rename(
        &rep1,
        &format!("/api/v1/leads/{hong}"),
        json!({"company": "苏州华虹半导体", "contact_name": "周工", "source": "website"}),
    )
    .await;
    assert_eq!(found(&rep1, "苏州").await, titles(&["lead:苏州华虹半导体"]));
    assert_eq!(found(&rep1, "宏力").await, titles(&[]));

    bigrams_follow_names(&app.database_url).await;
}

/// Rows written in bulk (`stride bench-data`) are indexed like the rest.
async fn names_loaded_in_bulk_are_found(app: TestApp) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stride"))
        .args(["--database-url", &app.database_url, "bench-data"])
        .args(["--users", "12", "--customers", "40", "--contacts", "60"])
        .env("STRIDE_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    for table in ["customer_name_bigrams", "contact_name_bigrams"] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert!(n > 0, "{table} is empty");
    }
    bigrams_follow_names(&app.database_url).await;
}

/// A crash between the commits of a PostgreSQL import's two transactions can leave postings
/// naming reserved ids that no lead holds (`SqlTx::beside`): a search read through them finds
/// the records there are, and nothing for the rest.
async fn postings_of_ids_no_record_holds_find_nothing(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    for company in ["深圳迈瑞医疗", "杭州海康威视", "苏州科沃斯", "广州视源电子"]
    {
        create(
            &rep,
            "/api/v1/leads",
            json!({"company": company, "contact_name": "李工", "source": "website"}),
        )
        .await;
    }
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    // Ids far past any record's; 孤儿 is held by no name at all.
    for (gram, id) in [("迈瑞", 900_000_001_i64), ("孤儿", 900_000_002)] {
        sqlx::query(&format!(
            "INSERT INTO lead_name_bigrams (gram, record_id) VALUES ('{gram}', {id})"
        ))
        .execute(&mut db)
        .await
        .unwrap();
    }
    // The rep's four leads outnumber 迈瑞's two postings, and 孤儿's one: both are read through
    // their postings.
    assert_eq!(found(&rep, "迈瑞").await, titles(&["lead:深圳迈瑞医疗"]));
    assert_eq!(found(&rep, "孤儿").await, titles(&[]));
    let admin = app.login("admin", PASSWORD).await;
    assert_eq!(found(&admin, "迈瑞").await, titles(&["lead:深圳迈瑞医疗"]));
}

/// PUTs `body` to the record at `path` as its current version.
async fn rename(c: &Client, path: &str, body: serde_json::Value) {
    let etag = c.get(path).await.etag();
    let r = c
        .send(
            reqwest::Method::PUT,
            path,
            Some(body),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The bigrams stored are exactly those of the names stored (the ones with a character beyond
/// ASCII, but for the legal forms' 有限, 限公, 公司, 股份 and 份有): none left behind by a rename or a merge, none missing for any row.
async fn bigrams_follow_names(database_url: &str) {
    let mut db = sqlx::AnyConnection::connect(database_url).await.unwrap();
    for (table, bigrams, column) in [
        ("customers", "customer_name_bigrams", "name"),
        ("contacts", "contact_name_bigrams", "name"),
        ("leads", "lead_name_bigrams", "company"),
    ] {
        let mut stored: Vec<(String, i64)> =
            sqlx::query_as(&format!("SELECT gram, record_id FROM {bigrams}"))
                .fetch_all(&mut db)
                .await
                .unwrap();
        stored.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let names: Vec<(i64, String)> =
            sqlx::query_as(&format!("SELECT id, {column} FROM {table}"))
                .fetch_all(&mut db)
                .await
                .unwrap();
        let mut expected: Vec<(String, i64)> = names
            .iter()
            .flat_map(|(id, name)| {
                let chars: Vec<char> = name.to_lowercase().chars().collect();
                let mut grams: Vec<String> = chars
                    .windows(2)
                    .map(|w| w.iter().collect::<String>())
                    .filter(|g| !g.is_ascii())
                    .filter(|g| !["有限", "限公", "公司", "股份", "份有"].contains(&g.as_str()))
                    .collect();
                grams.sort();
                grams.dedup();
                grams.into_iter().map(move |g| (g, *id))
            })
            .collect();
        expected.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        assert_eq!(stored, expected, "{bigrams}");
    }
}

/// A server keeps the search's counts that reached their cap for a while (stride-store
/// `search_counts`): a bigram with a thousand postings is taken as common from then on, and a
/// name written since is still found. A bigram no name holds is never kept as such, so a name
/// written with it is found at once.
async fn counts_kept_never_hide_a_name_written_since(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    // A thousand postings of 海港, naming ids no record holds: its count reaches the cap.
    let postings: Vec<String> = (1..=1000)
        .map(|i| format!("('海港', {})", 900_000_000 + i))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO customer_name_bigrams (gram, record_id) VALUES {}",
        postings.join(", ")
    ))
    .execute(&mut db)
    .await
    .unwrap();
    for c in [&rep, &admin] {
        assert_eq!(found(c, "海港").await, titles(&[]));
        assert_eq!(found(c, "港务").await, titles(&[]));
    }

    let customer = |name: &str| json!({"name": name, "allow_duplicate": true});
    create(&rep, "/api/v1/customers", customer("北方海港物流")).await;
    create(&rep, "/api/v1/customers", customer("港务集团")).await;
    for c in [&rep, &admin] {
        assert_eq!(found(c, "海港").await, titles(&["customer:北方海港物流"]));
        assert_eq!(found(c, "港务").await, titles(&["customer:港务集团"]));
    }
}

/// On PostgreSQL the search box reads on connections of its own (named `stride search`, set to
/// plan each statement once: stride-store `SEARCH_SETTINGS`), opened when searches come, at
/// most half the pool's size; nothing else runs on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_read_on_their_own_connections_on_postgres() {
    stride_testkit::run(searches_read_on_their_own_connections, Backend::Postgres).await
}

async fn searches_read_on_their_own_connections(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    // The last statement each search connection ran.
    let mut on_search_connections = async || -> Vec<String> {
        sqlx::query_scalar(
            "SELECT query FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'stride search'",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
    };
    assert_eq!(on_search_connections().await, Vec::<String>::new());

    create(
        &rep,
        "/api/v1/customers",
        json!({"name": "东方港务集团", "allow_duplicate": true}),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            found(&rep, "港务").await,
            titles(&["customer:东方港务集团"])
        );
    }
    let r = rep.get("/api/v1/customers?limit=5").await;
    assert_eq!(r.status, 200, "{}", r.body);

    let last = on_search_connections().await;
    // The test server's pool holds 5 connections, so the search's holds at most 2.
    assert!((1..=2).contains(&last.len()), "{last:?}");
    // The search's read, which says the kind of each row it returns.
    for statement in &last {
        assert!(statement.contains("' AS kind"), "{statement}");
    }
}
