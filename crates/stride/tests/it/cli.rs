//! The `stride` command line, run as a process: migrate, add a user, issue a token, serve.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_stride");

fn stride(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("STRIDE_DATABASE_URL")
        .env("STRIDE_PASSWORD", "cli-password-1")
        .output()
        .unwrap()
}

#[tokio::test]
async fn command_line_adds_users_issues_tokens_and_serves() {
    let dir = std::env::temp_dir().join(format!("stride-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let out = stride(&dir, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = stride(&dir, &["user", "add", "lilei", "--role", "admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = stride(&dir, &["user", "add", "hanmeimei", "--role", "wizard"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no role with code `wizard`"));
    let out = stride(&dir, &["token", "create", "lilei", "--read-only"]);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("stride_"));

    let csv = dir.join("leads.csv");
    std::fs::write(
        &csv,
        "公司名称,联系人,电话\n海尔集团,周先生,0532-88939999\nBad,,\n",
    )
    .unwrap();
    let refused = stride(
        &dir,
        &["import", "leads", csv.to_str().unwrap(), "--as", "lilei"],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("row      3"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
    std::fs::write(
        &csv,
        "公司名称,联系人,电话\n海尔集团,周先生,0532-88939999\n",
    )
    .unwrap();
    let out = stride(
        &dir,
        &["import", "leads", csv.to_str().unwrap(), "--as", "lilei"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1 leads"));

    let mut server = Command::new(BIN)
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("STRIDE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    let client = stride_testkit::Client::new(&url, Some(token));
    let me = client.get("/api/v1/auth/me").await;
    assert_eq!(me.json["username"], "lilei", "{}", me.body);
    assert_eq!(
        client
            .post(
                "/api/v1/departments",
                serde_json::json!({"parent_id": 1, "name": "x"})
            )
            .await
            .status,
        403
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
