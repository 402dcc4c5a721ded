//! The API conventions, security and data scopes, against real servers on SQLite and PostgreSQL.

use serde_json::json;
use stride_testkit::{backend_tests, TestApp, PASSWORD};

backend_tests!(
    writes_finish_when_their_clients_go_away,
    transactions_cut_while_they_begin_leave_the_pool_clean,
    writes_queued_together_commit_together_and_fail_alone,
    an_abandoned_idempotent_write_is_replayed_on_retry,
    login_rotates_sessions_and_logout_ends_them,
    cookie_writes_need_csrf_but_tokens_do_not,
    login_is_throttled_per_account,
    login_is_throttled_per_address,
    scopes_apply_to_users_departments_and_audit,
    updates_need_the_current_etag,
    idempotency_keys_replay_and_refuse_other_bodies,
    bodies_are_bounded_and_strict,
    disabling_a_user_ends_sessions_and_tokens,
    read_only_tokens_cannot_write,
    servers_share_sessions_through_the_database,
    audit_rows_record_changes_and_cannot_be_altered,
    working_days_follow_the_business_calendar,
    cursor_pages_cover_every_record_once,
    roles_are_validated_and_admin_stays_admin,
    openapi_and_probes_describe_the_server,
    settings_change_with_validation,
    scoped_editors_cannot_move_users_out_of_reach,
);

async fn login_rotates_sessions_and_logout_ends_them(app: TestApp) {
    app.seed_org().await;
    let anon = app.anonymous();
    let bad = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": "nope-nope"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    assert_eq!(bad.error_fields(), vec!["password"]);

    let res = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
    let cookie = res.header("set-cookie").unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(anon.get("/api/v1/auth/me").await.json["username"], "rep1");

    // Signing in again issues a new session id; the old one is gone.
    let first = cookie.split(';').next().unwrap().to_owned();
    let again = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": PASSWORD}),
        )
        .await;
    let second = again
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let old = anon
        .raw(
            reqwest::Method::GET,
            "/api/v1/auth/me",
            vec![],
            &[("cookie", &first)],
        )
        .await;
    assert_eq!(old.status, 401);

    let mut me = app.login("rep1", PASSWORD).await;
    assert_eq!(me.post("/api/v1/auth/logout", json!({})).await.status, 204);
    me.csrf = None;
    assert_eq!(me.get("/api/v1/auth/me").await.status, 401);
}

async fn cookie_writes_need_csrf_but_tokens_do_not(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let mut no_csrf = admin.clone();
    no_csrf.csrf = None;
    let refused = no_csrf
        .post(
            "/api/v1/departments",
            json!({"parent_id": org.root, "name": "West"}),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("CSRF"), "{}", refused.body);
    assert_eq!(
        admin.get("/api/v1/departments?limit=200").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    assert_eq!(
        admin
            .post(
                "/api/v1/departments",
                json!({"parent_id": org.root, "name": "West"})
            )
            .await
            .status,
        201
    );
    let token = admin
        .post("/api/v1/tokens", json!({"name": "integration"}))
        .await;
    assert_eq!(token.status, 201);
    let bearer = admin.with_bearer(token.json["secret"].as_str().unwrap());
    assert_eq!(
        bearer
            .post(
                "/api/v1/departments",
                json!({"parent_id": org.root, "name": "North"})
            )
            .await
            .status,
        201
    );
}

async fn login_is_throttled_per_account(app: TestApp) {
    app.seed_org().await;
    let anon = app.anonymous();
    for _ in 0..5 {
        let r = anon
            .post(
                "/api/v1/auth/login",
                json!({"username": "rep2", "password": "wrong-password"}),
            )
            .await;
        assert_eq!(r.status, 422);
    }
    // Even the right password waits once the account is throttled.
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep2", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 900, "{wait}");
    // Other accounts are not affected.
    let ok = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(ok.status, 200);
}

fn ids(reply: &stride_testkit::Reply) -> Vec<i64> {
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn scopes_apply_to_users_departments_and_audit(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;

    // Lists, in id order, each user as their own page shows them (roles, flags and all).
    let listed = admin.get("/api/v1/users").await;
    let all = ids(&listed);
    assert_eq!(all, vec![org.admin, org.manager, org.rep1, org.rep2]);
    for user in listed.json["items"].as_array().unwrap() {
        let shown = admin.get(&format!("/api/v1/users/{}", user["id"])).await;
        assert_eq!(user, &shown.json);
    }
    assert_eq!(
        listed.json["items"][0]["role_ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut team = ids(&manager.get("/api/v1/users").await);
    team.sort();
    assert_eq!(
        team,
        vec![org.manager, org.rep1],
        "manager sees East and below"
    );
    assert_eq!(
        ids(&rep.get("/api/v1/users").await),
        vec![org.rep1],
        "a rep sees only themselves"
    );
    let mut depts = ids(&manager.get("/api/v1/departments").await);
    depts.sort();
    assert_eq!(depts, vec![org.east, org.team1]);
    assert_eq!(ids(&rep.get("/api/v1/departments").await), vec![org.team1]);

    // Details outside the scope answer exactly like records that do not exist.
    let hidden = manager.get(&format!("/api/v1/users/{}", org.rep2)).await;
    let missing = manager.get("/api/v1/users/999999").await;
    assert_eq!((hidden.status, missing.status), (404, 404));
    assert_eq!(hidden.body, missing.body);
    assert_eq!(
        rep.get(&format!("/api/v1/departments/{}", org.south))
            .await
            .status,
        404
    );
    assert_eq!(
        manager
            .get(&format!("/api/v1/users/{}", org.rep1))
            .await
            .status,
        200
    );

    // Updates: out of scope is 404, in scope without the right is 403, the admin may.
    let etag = admin
        .get(&format!("/api/v1/users/{}", org.rep2))
        .await
        .etag();
    assert_eq!(
        rep.patch(
            &format!("/api/v1/users/{}", org.rep2),
            &etag,
            json!({"display_name": "x"})
        )
        .await
        .status,
        404
    );
    let etag1 = admin
        .get(&format!("/api/v1/users/{}", org.rep1))
        .await
        .etag();
    assert_eq!(
        manager
            .patch(
                &format!("/api/v1/users/{}", org.rep1),
                &etag1,
                json!({"display_name": "x"})
            )
            .await
            .status,
        403
    );
    let ok = admin
        .patch(
            &format!("/api/v1/users/{}", org.rep1),
            &etag1,
            json!({"display_name": "陈晓"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Exports carry only what the viewer may see.
    let csv = manager.get("/api/v1/users/export?format=csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.contains("rep1") && csv.body.contains("manager"));
    assert!(
        !csv.body.contains("rep2") && !csv.body.contains("admin"),
        "{}",
        csv.body
    );
    assert_eq!(rep.get("/api/v1/audit/export?format=csv").await.status, 403);
    let dept_csv = rep.get("/api/v1/departments/export?format=csv").await;
    assert_eq!(dept_csv.status, 403, "reps have no department export right");

    // Audit: a rep may not read it; a manager sees their team's trail only; the admin sees all.
    assert_eq!(rep.get("/api/v1/audit").await.status, 403);
    let mine = manager.get("/api/v1/audit?action=login").await;
    let actors: Vec<&str> = mine.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor_name"].as_str().unwrap())
        .collect();
    assert!(
        actors.contains(&"manager") && actors.contains(&"rep1"),
        "{actors:?}"
    );
    assert!(!actors.contains(&"admin"), "{actors:?}");
    let admin_login = admin.get("/api/v1/audit?action=login&limit=200").await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actor_name"] == "admin")
        .map(|e| e["id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(
        manager
            .get(&format!("/api/v1/audit/{admin_login}"))
            .await
            .status,
        404
    );
    assert_eq!(
        admin
            .get(&format!("/api/v1/audit/{admin_login}"))
            .await
            .status,
        200
    );
    let audit_csv = manager.get("/api/v1/audit/export?format=csv").await;
    assert_eq!(audit_csv.status, 200);
    assert!(!audit_csv.body.contains(",admin,"), "{}", audit_csv.body);
}

async fn updates_need_the_current_etag(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let path = format!("/api/v1/departments/{}", org.south);
    let read = admin.get(&path).await;
    let etag = read.etag();
    assert_eq!(etag, "\"1\"");
    let missing = admin
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"name": "华南"})),
            &[],
        )
        .await;
    assert_eq!(missing.status, 428);
    let ok = admin.patch(&path, &etag, json!({"name": "华南"})).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.etag(), "\"2\"");
    // A second writer holding the old ETag loses, and nothing changes.
    let stale = admin
        .patch(&path, &etag, json!({"name": "South again"}))
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(admin.get(&path).await.json["name"], "华南");
    assert_eq!(admin.delete(&path, &etag).await.status, 412);
    assert_eq!(
        admin
            .send(reqwest::Method::DELETE, &path, None, &[])
            .await
            .status,
        428
    );
    // A department that still has users cannot go.
    let east = admin
        .get(&format!("/api/v1/departments/{}", org.team1))
        .await;
    assert_eq!(
        admin
            .delete(&format!("/api/v1/departments/{}", org.team1), &east.etag())
            .await
            .status,
        409
    );
    assert_eq!(
        admin.delete(&path, "\"2\"").await.status,
        409,
        "South still has rep2"
    );
}

async fn idempotency_keys_replay_and_refuse_other_bodies(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let body = json!({"parent_id": org.root, "name": "华北大区"});
    let key = [("idempotency-key", "create-north-1")];
    let first = admin
        .send(
            reqwest::Method::POST,
            "/api/v1/departments",
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, 201);
    let again = admin
        .send(
            reqwest::Method::POST,
            "/api/v1/departments",
            Some(body),
            &key,
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json, first.json);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = json!({"parent_id": org.root, "name": "华西大区"});
    let clash = admin
        .send(
            reqwest::Method::POST,
            "/api/v1/departments",
            Some(other),
            &key,
        )
        .await;
    assert_eq!(clash.status, 422);
    let names: Vec<String> = admin.get("/api/v1/departments?limit=200").await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "华北大区").count(), 1);
    assert!(!names.contains(&"华西大区".to_owned()));
}

async fn bodies_are_bounded_and_strict(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let huge = format!(
        "{{\"parent_id\": {}, \"name\": \"{}\"}}",
        org.root,
        "x".repeat(1024 * 1024 + 1024)
    );
    let r = admin
        .raw(
            reqwest::Method::POST,
            "/api/v1/departments",
            huge.into_bytes(),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 413);

    let unknown = admin
        .post(
            "/api/v1/departments",
            json!({"parent_id": org.root, "name": "A", "owner_id": 1}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.error_fields(), vec!["owner_id"]);

    // Mass assignment: the login name, password hash and version are not writable.
    let path = format!("/api/v1/users/{}", org.rep1);
    let etag = admin.get(&path).await.etag();
    for field in ["username", "password_hash", "version", "id"] {
        let r = admin.patch(&path, &etag, json!({ field: "x" })).await;
        assert_eq!(r.status, 422, "{field}");
        assert_eq!(r.error_fields(), vec![field.to_owned()]);
    }
    assert_eq!(admin.get(&path).await.json["username"], "rep1");

    let invalid = admin
        .post("/api/v1/users", json!({"username": "x", "display_name": "", "department_id": 999999, "role_ids": [], "password": "short"}))
        .await;
    assert_eq!(invalid.status, 422);
    let mut fields = invalid.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "department_id",
            "display_name",
            "password",
            "role_ids",
            "username"
        ]
    );
}

async fn disabling_a_user_ends_sessions_and_tokens(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    let token = rep
        .post("/api/v1/tokens", json!({"name": "phone"}))
        .await
        .json["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_token = rep.with_bearer(&token);
    assert_eq!(by_token.get("/api/v1/auth/me").await.status, 200);

    let path = format!("/api/v1/users/{}", org.rep1);
    let etag = admin.get(&path).await.etag();
    assert_eq!(
        admin
            .patch(&path, &etag, json!({"active": false}))
            .await
            .status,
        200
    );
    assert_eq!(rep.get("/api/v1/auth/me").await.status, 401);
    assert_eq!(by_token.get("/api/v1/auth/me").await.status, 401);
    let again = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.status, 422);
    // Nobody can disable themselves.
    let me = format!("/api/v1/users/{}", org.admin);
    let etag = admin.get(&me).await.etag();
    assert_eq!(
        admin
            .patch(&me, &etag, json!({"active": false}))
            .await
            .error_fields(),
        vec!["active"]
    );
}

async fn read_only_tokens_cannot_write(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let created = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "reporting", "read_only": true}),
        )
        .await;
    let secret = created.json["secret"].as_str().unwrap().to_owned();
    let id = created.json["token"]["id"].as_i64().unwrap();
    let ro = admin.with_bearer(&secret);
    assert_eq!(ro.get("/api/v1/users").await.status, 200);
    assert_eq!(
        ro.post(
            "/api/v1/departments",
            json!({"parent_id": org.root, "name": "X"})
        )
        .await
        .status,
        403
    );
    let listed = admin.get("/api/v1/tokens").await;
    assert!(
        listed.body.contains("reporting") && !listed.body.contains(&secret),
        "secrets are never listed"
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/tokens/{id}"), "\"1\"")
            .await
            .status,
        204
    );
    assert_eq!(ro.get("/api/v1/users").await.status, 401);
    assert_eq!(
        ro.with_bearer("stride_not-a-token")
            .get("/api/v1/users")
            .await
            .status,
        401
    );
}

async fn servers_share_sessions_through_the_database(app: TestApp) {
    app.seed_org().await;
    let peer = app.peer().await.expect("second server");
    let on_first = app.login("manager", PASSWORD).await;
    let cookie = on_first.get("/api/v1/auth/me").await;
    assert_eq!(cookie.status, 200);
    // The same cookie jar, pointed at the other server.
    let session = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"username": "manager", "password": PASSWORD}),
        )
        .await
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let on_second = peer
        .anonymous()
        .raw(
            reqwest::Method::GET,
            "/api/v1/auth/me",
            vec![],
            &[("cookie", &session)],
        )
        .await;
    assert_eq!(on_second.status, 200);
    assert_eq!(on_second.json["username"], "manager");
}

async fn audit_rows_record_changes_and_cannot_be_altered(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let path = format!("/api/v1/departments/{}", org.east);
    let etag = admin.get(&path).await.etag();
    admin.patch(&path, &etag, json!({"name": "华东大区"})).await;
    let trail = admin
        .get(&format!(
            "/api/v1/audit?record_kind=department&record_id={}&action=update",
            org.east
        ))
        .await;
    let entry = &trail.json["items"][0];
    assert_eq!(entry["actor_name"], "admin");
    assert_eq!(entry["before"]["name"], "East");
    assert_eq!(entry["after"]["name"], "华东大区");
    let by_actor = admin
        .get(&format!(
            "/api/v1/audit?actor_id={}&action=update",
            org.admin
        ))
        .await;
    assert_eq!(by_actor.json["items"].as_array().unwrap().len(), 1);
    let future = admin.get("/api/v1/audit?from=2999-01-01T00:00:00Z").await;
    assert_eq!(future.json["items"].as_array().unwrap().len(), 0);
    let bad = admin.get("/api/v1/audit?from=yesterday").await;
    assert_eq!(
        (bad.status, bad.error_fields()),
        (422, vec!["from".to_owned()])
    );

    // The database itself refuses to rewrite history.
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let tamper = sqlx::query("UPDATE audit_log SET action = 'nothing'")
        .execute(&mut conn)
        .await;
    assert!(tamper.is_err());
    let erase = sqlx::query("DELETE FROM audit_log")
        .execute(&mut conn)
        .await;
    assert!(erase.is_err());
    // There is no API to change it either.
    let id = entry["id"].as_i64().unwrap();
    let r = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/audit/{id}"),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 405);
}

async fn working_days_follow_the_business_calendar(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    // National Day 2025: 1–8 October off, Sunday 28 September and Saturday 11 October worked.
    for day in 1..=8 {
        let r = admin
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/calendar/days/2025-10-{day:02}"),
                Some(json!({"kind": "holiday", "name": "国庆节"})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for date in ["2025-09-28", "2025-10-11"] {
        let r = admin
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/calendar/days/{date}"),
                Some(json!({"kind": "workday", "name": "调休"})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let due = |from: &str, days: u32| {
        let admin = admin.clone();
        let from = from.replace('+', "%2B");
        async move {
            admin
                .get(&format!(
                    "/api/v1/calendar/working-days?from={from}&days={days}"
                ))
                .await
                .json["due"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // Friday 26 Sept + 1 → the make-up Sunday; Tuesday 30 Sept + 1 → Thursday 9 Oct.
    assert_eq!(
        due("2025-09-26T10:00:00+08:00", 1).await,
        "2025-09-28T02:00:00Z"
    );
    assert_eq!(
        due("2025-09-30T15:00:00+08:00", 1).await,
        "2025-10-09T07:00:00Z"
    );
    assert_eq!(
        due("2025-09-30T15:00:00+08:00", 3).await,
        "2025-10-11T07:00:00Z"
    );
    let days = admin
        .get("/api/v1/calendar/days?from=2025-09-01&to=2025-10-31")
        .await;
    assert_eq!(days.json.as_array().unwrap().len(), 10);
    let bad = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/calendar/days/2025-02-30",
            Some(json!({"kind": "holiday", "name": "x"})),
            &[],
        )
        .await;
    assert_eq!(
        (bad.status, bad.error_fields()),
        (422, vec!["date".to_owned()])
    );
    let rep_cannot = app.login("rep1", PASSWORD).await;
    let r = rep_cannot
        .send(
            reqwest::Method::PUT,
            "/api/v1/calendar/days/2025-12-25",
            Some(json!({"kind": "holiday", "name": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        admin
            .delete("/api/v1/calendar/days/2025-10-11", "\"1\"")
            .await
            .status,
        204
    );
    assert_eq!(
        due("2025-09-30T15:00:00+08:00", 3).await,
        "2025-10-13T07:00:00Z"
    );
}

async fn cursor_pages_cover_every_record_once(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    for i in 0..7 {
        admin
            .post(
                "/api/v1/departments",
                json!({"parent_id": org.south, "name": format!("Team {i}")}),
            )
            .await;
    }
    let seen: Vec<i64> = admin
        .every_item("/api/v1/departments?limit=3")
        .await
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(seen.len(), 11);
    assert_eq!(unique, seen);
    assert_eq!(
        admin
            .get("/api/v1/departments?cursor=forged")
            .await
            .error_fields(),
        vec!["cursor"]
    );
    assert_eq!(
        admin
            .get("/api/v1/departments?limit=0")
            .await
            .error_fields(),
        vec!["limit"]
    );
    assert_eq!(admin.get("/api/v1/departments?sort=name").await.status, 422);
}

async fn roles_are_validated_and_admin_stays_admin(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let bad = admin
        .post("/api/v1/roles", json!({"code": "auditor", "name_zh": "审计员", "data_scope": "everything", "permissions": ["audit.view"]}))
        .await;
    assert_eq!(bad.error_fields(), vec!["data_scope"]);
    let bad = admin
        .post("/api/v1/roles", json!({"code": "auditor", "name_zh": "审计员", "data_scope": "all", "permissions": ["audit.fly"]}))
        .await;
    assert_eq!(bad.error_fields(), vec!["permissions"]);
    let ok = admin
        .post("/api/v1/roles", json!({"code": "auditor", "name_zh": "审计员", "name_en": "Auditor", "data_scope": "all", "permissions": ["audit.view", "audit.export"]}))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let dup = admin
        .post(
            "/api/v1/roles",
            json!({"code": "auditor", "name_zh": "x", "data_scope": "all", "permissions": []}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.error_fields()),
        (422, vec!["code".to_owned()])
    );

    let roles = admin.get("/api/v1/roles").await;
    let admin_role = roles
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "admin")
        .unwrap()
        .clone();
    let path = format!("/api/v1/roles/{}", admin_role["id"]);
    let etag = admin.get(&path).await.etag();
    let r = admin
        .patch(&path, &etag, json!({"permissions": ["user.view"]}))
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["permissions".to_owned()])
    );
    let builtin_delete = admin.delete(&path, &etag).await;
    assert_eq!(builtin_delete.status, 409);
    let rep = app.login("rep1", PASSWORD).await;
    assert_eq!(
        rep.post(
            "/api/v1/roles",
            json!({"code": "x1", "name_zh": "x", "data_scope": "all", "permissions": []})
        )
        .await
        .status,
        403
    );
}

async fn openapi_and_probes_describe_the_server(app: TestApp) {
    let anon = app.anonymous();
    assert_eq!(anon.get("/healthz").await.body, "ok");
    assert_eq!(anon.get("/readyz").await.status, 200);
    let doc = anon.get("/api/v1/openapi.json").await;
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc.json["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/auth/password",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/departments",
        "/api/v1/departments/{id}",
        "/api/v1/departments/export",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/export",
        "/api/v1/roles",
        "/api/v1/roles/{id}",
        "/api/v1/settings",
        "/api/v1/calendar/days",
        "/api/v1/calendar/days/{date}",
        "/api/v1/calendar/working-days",
        "/api/v1/audit",
        "/api/v1/audit/{id}",
        "/api/v1/audit/export",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/customers/{id}/claim",
        "/api/v1/customers/{id}/merge",
        "/api/v1/contacts",
        "/api/v1/search",
        "/api/v1/leads",
        "/api/v1/leads/{id}/convert",
        "/api/v1/leads/import",
        "/api/v1/leads/{id}/auto-assign",
        "/api/v1/assignment-rules",
        "/api/v1/activities",
        "/api/v1/agenda",
        "/api/v1/inbox",
        "/api/v1/public/leads",
        "/api/v1/calendar-feed",
        "/ical/{file}",
        "/api/v1/settings/sales-policy",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(paths["/api/v1/users/{id}"]["patch"].is_object());
    // No setup or demo door on a running server.
    for p in ["/setup", "/demo", "/api/v1/setup", "/api/v1/demo"] {
        assert_eq!(anon.get(p).await.status, 404, "{p}");
    }
    assert_eq!(anon.get("/api/v1/users").await.status, 401);
    let metrics = anon.get("/metrics").await.body;
    assert!(
        metrics.contains(
            "stride_http_requests_total{route=\"/api/v1/users\",method=\"GET\",status=\"401\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/healthz\""));
    let r = anon.get("/healthz").await;
    assert!(r.header("x-request-id").is_some());
}

async fn settings_change_with_validation(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let s = admin.get("/api/v1/settings").await;
    assert_eq!(
        (s.json["time_zone"].as_str(), s.json["currency"].as_str()),
        (Some("Asia/Shanghai"), Some("CNY"))
    );
    let bad = admin
        .patch(
            "/api/v1/settings",
            &s.etag(),
            json!({"time_zone": "Mars/Base", "currency": "yuan", "name": " "}),
        )
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["currency", "name", "time_zone"]);
    let ok = admin
        .patch(
            "/api/v1/settings",
            &s.etag(),
            json!({"name": "星河科技", "currency": "usd"}),
        )
        .await;
    assert_eq!(
        (ok.status, ok.json["currency"].as_str()),
        (200, Some("USD"))
    );
    let manager = app.login("manager", PASSWORD).await;
    assert_eq!(
        manager
            .patch("/api/v1/settings", &ok.etag(), json!({"name": "x"}))
            .await
            .status,
        403
    );
}

async fn scoped_editors_cannot_move_users_out_of_reach(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let hr = admin
        .post(
            "/api/v1/roles",
            json!({"code": "east_hr", "name_zh": "华东人事", "data_scope": "department_tree",
            "permissions": ["user.view", "user.edit", "user.create", "department.view"]}),
        )
        .await;
    assert_eq!(hr.status, 201, "{}", hr.body);
    let path = format!("/api/v1/users/{}", org.manager);
    let etag = admin.get(&path).await.etag();
    let role_ids = json!([hr.json["id"]]);
    assert_eq!(
        admin
            .patch(&path, &etag, json!({"role_ids": role_ids}))
            .await
            .status,
        200
    );

    let manager = app.login("manager", PASSWORD).await;
    let rep = format!("/api/v1/users/{}", org.rep1);
    let etag = manager.get(&rep).await.etag();
    let away = manager
        .patch(&rep, &etag, json!({"department_id": org.south}))
        .await;
    assert_eq!(
        (away.status, away.error_fields()),
        (422, vec!["department_id".to_owned()])
    );
    let within = manager
        .patch(&rep, &etag, json!({"department_id": org.east}))
        .await;
    assert_eq!(within.status, 200, "{}", within.body);
    let outside = manager
        .post(
            "/api/v1/users",
            json!({"username": "newbie", "display_name": "新人", "department_id": org.south,
            "role_ids": hr.json["id"].as_i64().map(|i| vec![i]), "password": "long-enough-1"}),
        )
        .await;
    assert_eq!(
        (outside.status, outside.error_fields()),
        (422, vec!["department_id".to_owned()])
    );
}

async fn login_is_throttled_per_address(app: TestApp) {
    app.seed_org().await;
    let anon = app.anonymous();
    // Guessing across many names from one address trips the address limit (30 in 15 minutes).
    for i in 0..30 {
        let r = anon
            .post(
                "/api/v1/auth/login",
                json!({"username": format!("guess{i}"), "password": "wrong-password"}),
            )
            .await;
        assert_eq!(r.status, 422, "attempt {i}");
    }
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 429);
    // The window passes.
    app.advance_hours(1);
    assert_eq!(
        anon.post(
            "/api/v1/auth/login",
            json!({"username": "rep1", "password": PASSWORD})
        )
        .await
        .status,
        200
    );
}

/// Clients that hang up in the middle of their writes (timeouts, closed tabs) leave nothing
/// half-done behind: every write that follows succeeds, and each abandoned write either
/// happened whole or not at all.
async fn writes_finish_when_their_clients_go_away(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let token = rep
        .post("/api/v1/tokens", json!({"name": "impatient"}))
        .await;
    assert_eq!(token.status, 201, "{}", token.body);
    let secret = token.json["secret"].as_str().unwrap().to_owned();
    let url = app.url("/api/v1/customers");
    let patient = rep.with_bearer(&secret);
    // A hang-up lands in the dangerous instant only now and then: four rounds of 45.
    for round in 0..4u64 {
        let abandoned: Vec<_> = (0..45u64)
            .map(|i| {
                let (url, secret) = (url.clone(), secret.clone());
                tokio::spawn(async move {
                    // Gone after 0 to 7 ms, 40 µs apart: before, during and after the transaction.
                    let impatient = reqwest::Client::builder()
                        .timeout(std::time::Duration::from_micros((i * 4 + round) * 40))
                        .build()
                        .unwrap();
                    let name = format!("放弃的客户 {round}-{i}");
                    let _ = impatient
                        .post(&url)
                        .bearer_auth(&secret)
                        .json(&json!({"name": name, "allow_duplicate": true}))
                        .send()
                        .await;
                })
            })
            .collect();
        for task in abandoned {
            task.await.unwrap();
        }
        for i in 0..3 {
            let r = patient
                .post(
                    "/api/v1/customers",
                    json!({"name": format!("耐心的客户 {round}-{i}"), "allow_duplicate": true}),
                )
                .await;
            assert_eq!(
                r.status, 201,
                "write {round}-{i} after the hang-ups: {}",
                r.body
            );
        }
    }
    // A write whose client went away still runs in the server after the client gave up on it:
    // read once the writes have settled (the counts stop moving), then compare.
    let admin = app.login("admin", PASSWORD).await;
    let mut seen = None;
    let (names, created) = loop {
        let listed = patient.get("/api/v1/customers?limit=200").await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let names: Vec<String> = listed.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        let audit = admin
            .get("/api/v1/audit?record_kind=customer&limit=200")
            .await;
        assert_eq!(audit.status, 200, "{}", audit.body);
        let created = audit.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "create")
            .count();
        let now = (names.len(), created);
        if seen == Some(now) {
            break (names, created);
        }
        seen = Some(now);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert_eq!(
        names.iter().filter(|n| n.starts_with("耐心的客户")).count(),
        12
    );
    // Each abandoned customer exists at most once, with its audit row (whole or not at all).
    assert_eq!(
        created,
        names.len(),
        "one create audit row per stored customer"
    );
}

/// Whatever drops a transaction's future while it begins — a hung-up request, a job stopped at
/// shutdown — the pooled connections stay clean: every later transaction begins, writes and
/// commits.
async fn transactions_cut_while_they_begin_leave_the_pool_clean(app: TestApp) {
    app.seed_org().await;
    let store = app.app.store();
    // Cut after k turns of the scheduler: before, while and just after the worker begins.
    let after_turns = |k: u32| async move {
        for _ in 0..k {
            tokio::task::yield_now().await;
        }
    };
    for round in 0..3 {
        for k in 0..150 {
            tokio::select! {
                biased;
                _ = store.begin() => {}
                _ = after_turns(k + round) => {}
            }
        }
    }
    for i in 0..8 {
        let tx = store.begin().await.expect("a transaction begins");
        tx.commit().await.expect("and commits");
        let r = app
            .login("rep1", PASSWORD)
            .await
            .post(
                "/api/v1/customers",
                json!({"name": format!("之后的客户 {i}"), "allow_duplicate": true}),
            )
            .await;
        assert_eq!(
            r.status, 201,
            "write {i} after the cut transactions: {}",
            r.body
        );
    }
}

/// SQLite's writers queue for one write turn, and the writes queued together share one commit.
/// Every committed write is kept; a write abandoned after writing, or after a statement of its
/// own failed, is undone without touching the others of its commit.
async fn writes_queued_together_commit_together_and_fail_alone(app: TestApp) {
    let org = app.seed_org().await;
    let store = app.app.store().clone();
    let admin = app.login("admin", PASSWORD).await;
    let counts_before = write_counts(&admin).await;
    let marker = |i: i64| stride_app::audit::NewAuditEntry {
        at_ms: 0,
        actor_id: None,
        actor_name: "group-test".into(),
        actor_department_id: None,
        action: "group_write",
        record_kind: "settings",
        record_id: Some(i),
        before: None,
        after: None,
    };
    // The first write holds the turn until the others have queued behind it.
    let mut first = store.begin().await.unwrap();
    first.audit(&marker(0)).await.unwrap();
    let mut writers = Vec::new();
    for i in 1..=48i64 {
        let (store, entry) = (store.clone(), marker(i));
        let root = org.root;
        writers.push(tokio::spawn(async move {
            let mut tx = store.begin().await.expect("a write begins");
            tx.audit(&entry).await.expect("and writes");
            if i % 3 == 0 {
                // The audit row is held back until the commit, which sends it together with
                // the savepoint of the next write in the group: a write that fails after it
                // must roll back to that savepoint, not undo this one.
                tx.commit().await.expect("and commits");
                return;
            }
            // The audit row is held back until the transaction's next statement: send it.
            tx.department(root).await.expect("and reads");
            match i % 3 {
                1 => drop(tx),
                _ => {
                    // The name is taken: the statement fails, then the write is abandoned.
                    let taken = stride_app::org::UserData {
                        username: "admin".into(),
                        display_name: "Twin".into(),
                        email: None,
                        department_id: root,
                        manager_id: None,
                        role_ids: vec![],
                        active: true,
                        locale: "auto".into(),
                        time_zone: "Asia/Shanghai".into(),
                    };
                    assert!(tx.insert_user(&taken, "x", 0).await.is_err());
                    drop(tx);
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    first.commit().await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let mut kept: Vec<i64> = admin
        .every_item("/api/v1/audit?action=group_write")
        .await
        .iter()
        .map(|e| e["record_id"].as_i64().unwrap())
        .collect();
    kept.sort();
    let committed: Vec<i64> = (0..=48).filter(|i| i % 3 == 0).collect();
    assert_eq!(kept, committed, "exactly the committed writes are kept");
    // A later write still begins and commits.
    let r = admin
        .post(
            "/api/v1/departments",
            json!({"name": "之后", "parent_id": org.root}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    match (counts_before, write_counts(&admin).await) {
        (Some((w0, c0)), Some((w1, c1))) => {
            assert!(w1 - w0 >= 18, "17 writes and the department: {w0}→{w1}");
            assert!(
                c1 - c0 < w1 - w0,
                "the queued writes shared commits: {} commits for {} writes",
                c1 - c0,
                w1 - w0
            );
        }
        (None, None) => assert_eq!(app.backend, stride_testkit::Backend::Postgres),
        other => panic!("write counts appeared or vanished: {other:?}"),
    }
}

/// `/metrics`' committed writes and commits (SQLite only).
async fn write_counts(client: &stride_testkit::Client) -> Option<(u64, u64)> {
    Some((
        client.metric("stride_sqlite_writes_total").await?,
        client.metric("stride_sqlite_commits_total").await?,
    ))
}

/// What an Idempotency-Key is for: a client whose write timed out sends it again with the same
/// key and gets the one answer, whenever the first attempt was cut — never a second record, and
/// never a key stuck "in flight" because the abandoned attempt stopped after claiming it.
async fn an_abandoned_idempotent_write_is_replayed_on_retry(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let token = rep
        .post("/api/v1/tokens", json!({"name": "retrying"}))
        .await;
    assert_eq!(token.status, 201, "{}", token.body);
    let secret = token.json["secret"].as_str().unwrap().to_owned();
    let patient = rep.with_bearer(&secret);
    for i in 0..24u64 {
        let key = format!("retry-{i}");
        let body = json!({"name": format!("重试的客户 {i}"), "allow_duplicate": true});
        let impatient = reqwest::Client::builder()
            .timeout(std::time::Duration::from_micros(i * 250))
            .build()
            .unwrap();
        let _ = impatient
            .post(app.url("/api/v1/customers"))
            .bearer_auth(&secret)
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await;
        // The abandoned attempt may still be running: a retry meanwhile is told so (409).
        let mut retry = None;
        for _ in 0..100 {
            let r = patient
                .send(
                    reqwest::Method::POST,
                    "/api/v1/customers",
                    Some(body.clone()),
                    &[("idempotency-key", key.as_str())],
                )
                .await;
            if r.status != 409 {
                retry = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let retry = retry.unwrap_or_else(|| panic!("key {key} stayed in flight"));
        assert_eq!(retry.status, 201, "{}", retry.body);
    }
    let listed = patient.get("/api/v1/customers?limit=200").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mut names: Vec<&str> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .filter(|n| n.starts_with("重试的客户"))
        .collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!((before, names.len()), (24, 24), "one customer per key");
}
