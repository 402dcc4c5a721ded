//! What every browser test does on a page: sign in, read and wait for text, type, click, choose.

use std::time::{Duration, Instant};

use stride_testkit::browser::Browser;
use stride_testkit::{TestApp, PASSWORD};

pub async fn sign_in(b: &Browser, app: &TestApp, user: &str) {
    b.goto(&app.url("/login")).await.unwrap();
    b.wait_for("#username")
        .await
        .unwrap()
        .send_keys(user)
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
}

/// Waits until the element's text contains `want` (a new page after a form was sent), and
/// returns the text. Stale elements of the page being left are retried.
pub async fn wait_text(b: &Browser, css: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    loop {
        if let Ok(el) = b.find(css).await {
            if let Ok(text) = el.text().await {
                if text.contains(want) {
                    return text;
                }
                last = text;
            }
        }
        if Instant::now() > deadline {
            let url = b.current_url().await.unwrap_or_default();
            panic!("`{css}` on {url} says {last:?}, not {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until an element matches `css` (e.g. a card inside a given column after a reload).
pub async fn wait_present(b: &Browser, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.find_all(css).await.map(|v| v.is_empty()).unwrap_or(true) {
        if Instant::now() > deadline {
            let url = b.current_url().await.unwrap_or_default();
            panic!("nothing matches `{css}` on {url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn text(b: &Browser, css: &str) -> String {
    b.find(css).await.unwrap().text().await.unwrap()
}

pub async fn type_into(b: &Browser, css: &str, value: &str) {
    b.find(css).await.unwrap().send_keys(value).await.unwrap();
}

pub async fn click(b: &Browser, css: &str) {
    b.find(css).await.unwrap().click().await.unwrap();
}

pub async fn select(b: &Browser, css: &str, value: &str) {
    b.find(css)
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}
