//! Users, roles, departments, sessions and tokens are answered from memory once read (the
//! store's `directory`): every change must still take effect at once on the server that made
//! it, and within moments on every other server and after changes made outside any server.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    directory_changes_take_effect_at_once,
    other_servers_hear_directory_changes,
    changes_made_outside_any_server_are_heard,
    a_lost_listener_forgets_and_listens_again,
);

/// `/metrics`' directory figures: (hearing, answered from memory, answered by the database).
async fn directory_counts(client: &Client) -> (bool, u64, u64) {
    let series = |name: &'static str| async move {
        client
            .metric(name)
            .await
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    (
        series("stride_directory_hearing").await == 1,
        series("stride_directory_reads_total{answer=\"memory\"}").await,
        series("stride_directory_reads_total{answer=\"database\"}").await,
    )
}

/// Waits until the server hears other processes' changes, which it begins to at its first read
/// of the directory (the client's own identity) and must within seconds.
async fn until_hearing(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(client.get("/api/v1/auth/me").await.status, 200);
        if directory_counts(client).await.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the directory never began hearing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `path` until its answer is the one `awaited`, within 5 s; answers how long that took.
async fn until(client: &Client, path: &str, awaited: impl Fn(&Reply) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let reply = client.get(path).await;
        if awaited(&reply) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} still answers {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `path` answers `want`.
async fn until_status(client: &Client, path: &str, want: u16) -> Duration {
    until(client, path, |r| r.status == want).await
}

/// The user at `path` shows `name`.
async fn until_display_name(client: &Client, path: &str, name: &str) -> Duration {
    until(client, path, |r| r.json["display_name"] == name).await
}

fn usernames(page: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|u| u["username"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn token_of(client: &Client, name: &str) -> (i64, String) {
    let created = client.post("/api/v1/tokens", json!({"name": name})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    (
        created.json["token"]["id"].as_i64().unwrap(),
        created.json["secret"].as_str().unwrap().to_owned(),
    )
}

async fn directory_changes_take_effect_at_once(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    until_hearing(&admin).await;

    // The manager sees East and below; asked twice, the second answer comes from memory.
    let before = directory_counts(&admin).await;
    let seen = usernames(&manager.get("/api/v1/users?limit=50").await.json);
    assert_eq!(seen, vec!["manager", "rep1"]);
    assert_eq!(
        usernames(&manager.get("/api/v1/users?limit=50").await.json),
        seen
    );
    let after = directory_counts(&admin).await;
    assert!(
        after.1 > before.1,
        "nothing was answered from memory: {before:?} → {after:?}"
    );

    // A user moved into the manager's reach shows at once.
    let rep2 = format!("/api/v1/users/{}", org.rep2);
    let moved = admin
        .patch_current(&rep2, json!({"department_id": org.team1}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        usernames(&manager.get("/api/v1/users?limit=50").await.json),
        vec!["manager", "rep1", "rep2"]
    );
    assert_eq!(manager.get(&rep2).await.status, 200);

    // A department moved under East brings its people into reach at once.
    let ops = admin
        .post(
            "/api/v1/departments",
            json!({"parent_id": org.root, "name": "Operations"}),
        )
        .await;
    assert_eq!(ops.status, 201, "{}", ops.body);
    let ops_id = ops.json["id"].as_i64().unwrap();
    let rep_in_ops = app.add_user("ops1", "rep", ops_id, None).await;
    let ops_rep = format!("/api/v1/users/{rep_in_ops}");
    assert_eq!(manager.get(&ops_rep).await.status, 404);
    let ops_path = format!("/api/v1/departments/{ops_id}");
    let under_east = admin
        .patch_current(&ops_path, json!({"parent_id": org.east}))
        .await;
    assert_eq!(under_east.status, 200, "{}", under_east.body);
    assert_eq!(manager.get(&ops_rep).await.status, 200);

    // A role narrowed to its holder's own records narrows the list at once.
    let roles = admin.get("/api/v1/roles").await.json;
    let manager_role = roles
        .as_array()
        .and_then(|roles| roles.iter().find(|r| r["code"] == "manager"))
        .and_then(|r| r["id"].as_i64())
        .unwrap();
    let role_path = format!("/api/v1/roles/{manager_role}");
    let narrowed = admin
        .patch_current(&role_path, json!({"data_scope": "self"}))
        .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.body);
    assert_eq!(
        usernames(&manager.get("/api/v1/users?limit=50").await.json),
        vec!["manager"]
    );
    assert_eq!(manager.get(&ops_rep).await.status, 404);

    // A revoked token and a disabled user's session stop at once.
    let (token_id, secret) = token_of(&manager, "script").await;
    let script = manager.with_bearer(&secret);
    assert_eq!(script.get("/api/v1/auth/me").await.status, 200);
    assert_eq!(script.get("/api/v1/auth/me").await.status, 200);
    let revoked = manager
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/tokens/{token_id}"),
            None,
            &[],
        )
        .await;
    assert!(revoked.status < 300, "{} {}", revoked.status, revoked.body);
    assert_eq!(script.get("/api/v1/auth/me").await.status, 401);

    let manager_path = format!("/api/v1/users/{}", org.manager);
    let disabled = admin
        .patch_current(&manager_path, json!({"active": false}))
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(manager.get("/api/v1/auth/me").await.status, 401);
}

async fn other_servers_hear_directory_changes(app: TestApp) {
    let org = app.seed_org().await;
    let peer = app.peer().await.expect("second server");
    let admin = app.login("admin", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    let (_, secret) = token_of(&rep, "on the other server").await;
    let on_peer = Client::new(&peer.url(""), Some(secret));
    until_hearing(&on_peer).await;

    // The peer knows the token from memory after the first use.
    let before = directory_counts(&on_peer).await;
    assert_eq!(on_peer.get("/api/v1/auth/me").await.status, 200);
    assert_eq!(on_peer.get("/api/v1/auth/me").await.status, 200);
    let after = directory_counts(&on_peer).await;
    assert!(after.1 > before.1, "{before:?} → {after:?}");

    // Disabled on the first server, the user is refused on the peer within moments.
    let path = format!("/api/v1/users/{}", org.rep1);
    let disabled = admin.patch_current(&path, json!({"active": false})).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let took = until_status(&on_peer, "/api/v1/auth/me", 401).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

async fn changes_made_outside_any_server_are_heard(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    until_hearing(&admin).await;
    let path = format!("/api/v1/users/{}", org.manager);
    assert_eq!(admin.get(&path).await.json["display_name"], "manager 用户");
    assert_eq!(admin.get(&path).await.json["display_name"], "manager 用户");

    // Another program writes the database directly, as a second tool or process would.
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET display_name = '改过的名字' WHERE username = 'manager'")
        .execute(&mut db)
        .await
        .unwrap();
    let took = until_display_name(&admin, &path, "改过的名字").await;
    assert!(
        took < Duration::from_secs(2),
        "the outside change was heard only after {took:?}"
    );

    // And a session ended outside any server ends here too.
    sqlx::query("DELETE FROM sessions")
        .execute(&mut db)
        .await
        .unwrap();
    let took = until_status(&admin, "/api/v1/auth/me", 401).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// PostgreSQL: a change announced while the listener's connection is down is never heard, so
/// losing the connection must drop what is kept, and the server must listen again.
async fn a_lost_listener_forgets_and_listens_again(app: TestApp) {
    if app.backend != stride_testkit::Backend::Postgres {
        return;
    }
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    until_hearing(&admin).await;
    let path = format!("/api/v1/users/{}", org.manager);
    assert_eq!(admin.get(&path).await.json["display_name"], "manager 用户");

    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    // The listener's connection is the one whose last statement asked for the trigger function.
    let listener = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                    AND pid <> pg_backend_pid() AND query LIKE '%proname = ''directory_changed''%'";
    let pid: i32 = sqlx::query_scalar(listener)
        .fetch_one(&mut db)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut db)
        .await
        .unwrap();
    let started = Instant::now();
    while sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1")
        .bind(pid)
        .fetch_one(&mut db)
        .await
        .unwrap()
        > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the listener lives on"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Announced to nobody: the old listener is gone.
    sqlx::query("UPDATE users SET display_name = '断线时改的' WHERE username = 'manager'")
        .execute(&mut db)
        .await
        .unwrap();
    // A change made while not listening must still be seen (within the helper's 5 s).
    until_display_name(&admin, &path, "断线时改的").await;
    // And the server listens again, on a new connection.
    until_hearing(&admin).await;
    let again: i64 = sqlx::query_scalar(&listener.replace("SELECT pid", "SELECT COUNT(*)"))
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(again, 1);
}
