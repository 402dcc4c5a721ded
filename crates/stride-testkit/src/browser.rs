//! A tiny W3C WebDriver client for real headless-Chromium UI tests.
//!
//! [`Browser::launch`] starts a private `chromedriver` on a free port and opens one headless
//! Chromium session with a fresh profile. Everything speaks plain WebDriver JSON over HTTP.
//!
//! Environment:
//! - `STRIDE_CHROMEDRIVER`: chromedriver binary (default: `chromedriver` from `PATH`).
//! - `STRIDE_CHROMIUM`: browser binary (default: `/usr/bin/chromium`, then `chromium`,
//!   `chromium-browser`, `google-chrome` from `PATH`).
//! - `STRIDE_TEST_REQUIRE_BROWSER=1`: [`Browser::launch_if_available`] fails instead of
//!   returning `None` when the browser or driver is missing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

/// The W3C web element identifier (WebDriver spec, "Elements").
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(10);
const WAIT_FOR_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(100);
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// A headless Chromium session driven through a private chromedriver process.
///
/// Dropping it without [`Browser::quit`] still closes the session and kills chromedriver.
pub struct Browser {
    inner: Arc<Inner>,
}

/// A DOM element found in a [`Browser`] session.
#[derive(Clone)]
pub struct Element {
    inner: Arc<Inner>,
    id: String,
}

struct Inner {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    driver_url: String,
    driver_addr: SocketAddr,
    session_id: String,
    closed: AtomicBool,
    driver: Mutex<Option<Child>>,
    profile_dir: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session whose UI
    /// language and `Accept-Language` header are `lang` (e.g. `"en"`, `"zh-CN"`).
    pub async fn launch(lang: &str) -> anyhow::Result<Browser> {
        let driver_bin = chromedriver_path().ok_or_else(|| {
            anyhow!("chromedriver not found (set STRIDE_CHROMEDRIVER or put it in PATH)")
        })?;
        let chromium_bin = chromium_path().ok_or_else(|| {
            anyhow!("chromium not found (set STRIDE_CHROMIUM or install /usr/bin/chromium)")
        })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .build()
            .context("building the WebDriver HTTP client")?;

        // Picking a port by binding :0 and releasing it can race with another process; retry.
        let mut last_err = None;
        for _ in 0..3 {
            match start_driver(&http, &driver_bin).await {
                Ok((child, addr)) => {
                    return open_session(http, child, addr, &chromium_bin, lang).await;
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("chromedriver did not start")))
    }

    /// Like [`Browser::launch`], but returns `Ok(None)` when chromedriver or Chromium is not
    /// installed and `STRIDE_TEST_REQUIRE_BROWSER` is not `1`. A browser that is installed but
    /// fails to start is always an error.
    pub async fn launch_if_available(lang: &str) -> anyhow::Result<Option<Browser>> {
        let driver = chromedriver_path();
        let chromium = chromium_path();
        if driver.is_none() || chromium.is_none() {
            let missing = match (driver.is_none(), chromium.is_none()) {
                (true, true) => "chromedriver and chromium",
                (true, false) => "chromedriver",
                _ => "chromium",
            };
            if browser_required() {
                bail!(
                    "{missing} not found but STRIDE_TEST_REQUIRE_BROWSER=1 \
                     (install with `apt-get install -y chromium chromium-driver`, \
                     or set STRIDE_CHROMIUM / STRIDE_CHROMEDRIVER)"
                );
            }
            return Ok(None);
        }
        Browser::launch(lang).await.map(Some)
    }

    /// Navigates to `url` and waits for the page load (WebDriver "normal" strategy).
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.inner
            .post("/url", json!({ "url": url }))
            .await
            .with_context(|| format!("navigating to {url}"))?;
        Ok(())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        as_string(self.inner.get("/url").await?, "current URL")
    }

    /// The first element matching the CSS selector; the error names the selector.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.inner.find_from("", css).await
    }

    /// All elements matching the CSS selector (possibly none).
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        self.inner.find_all_from("", css).await
    }

    /// Polls for an element matching the CSS selector for up to 5 seconds.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        let deadline = Instant::now() + WAIT_FOR_TIMEOUT;
        loop {
            match self.inner.find_from("", css).await {
                Ok(el) => return Ok(el),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!(
                        "timed out after {}s waiting for CSS selector `{css}`",
                        WAIT_FOR_TIMEOUT.as_secs()
                    )));
                }
                Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// Polls until the element at `css` shows `expected` — across a page load, when the element
    /// first found may belong to the page being left.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT_FOR_TIMEOUT;
        loop {
            let seen = match self.inner.find_from("", css).await {
                Ok(el) => el.text().await.ok(),
                Err(_) => None,
            };
            if seen.as_deref() == Some(expected) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "`{css}` shows {seen:?}, not {expected:?}, after {}s",
                    WAIT_FOR_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub async fn page_source(&self) -> anyhow::Result<String> {
        as_string(self.inner.get("/source").await?, "page source")
    }

    pub async fn title(&self) -> anyhow::Result<String> {
        as_string(self.inner.get("/title").await?, "title")
    }

    /// Runs `script` as a function body (use `return ...;` and `arguments[i]`).
    /// Pass elements with [`Element::as_arg`].
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.inner
            .post("/execute/sync", json!({ "script": script, "args": args }))
            .await
            .context("executing script")
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot_png(&self) -> anyhow::Result<Vec<u8>> {
        let b64 = as_string(self.inner.get("/screenshot").await?, "screenshot")?;
        base64_decode(&b64).context("decoding screenshot")
    }

    /// Closes the session and stops chromedriver.
    pub async fn quit(self) -> anyhow::Result<()> {
        let result = if self.inner.closed.swap(true, Ordering::SeqCst) {
            Ok(())
        } else {
            self.inner.delete_session().await
        };
        self.inner.kill_driver();
        result
    }
}

impl Element {
    /// The element as a script argument for [`Browser::execute`].
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    pub async fn click(&self) -> anyhow::Result<()> {
        self.inner
            .post(&self.path("/click"), json!({}))
            .await
            .context("clicking element")?;
        Ok(())
    }

    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.inner
            .post(&self.path("/value"), json!({ "text": text }))
            .await
            .context("typing into element")?;
        Ok(())
    }

    pub async fn clear(&self) -> anyhow::Result<()> {
        self.inner
            .post(&self.path("/clear"), json!({}))
            .await
            .context("clearing element")?;
        Ok(())
    }

    /// The rendered (visible) text.
    pub async fn text(&self) -> anyhow::Result<String> {
        as_string(self.inner.get(&self.path("/text")).await?, "element text")
    }

    /// The attribute `name`, or `None` when absent.
    pub async fn attr(&self, name: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .inner
            .get(&self.path(&format!("/attribute/{name}")))
            .await?;
        Ok(value_to_opt_string(v))
    }

    /// The DOM property `name` (e.g. `value`, `checked`), or `None` when null/undefined.
    pub async fn prop(&self, name: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .inner
            .get(&self.path(&format!("/property/{name}")))
            .await?;
        Ok(value_to_opt_string(v))
    }

    /// For a `<select>`: clicks its `<option>` whose value is `value`.
    pub async fn select_by_value(&self, value: &str) -> anyhow::Result<()> {
        let css = format!("option[value=\"{}\"]", css_escape_string(value));
        let option = self.inner.find_from(&self.path(""), &css).await?;
        option.click().await
    }

    /// Finds a descendant matching the CSS selector.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.inner.find_from(&self.path(""), css).await
    }

    /// All descendants matching the CSS selector.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        self.inner.find_all_from(&self.path(""), css).await
    }

    fn path(&self, suffix: &str) -> String {
        format!("/element/{}{suffix}", self.id)
    }
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element").field("id", &self.id).finish()
    }
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("driver_url", &self.inner.driver_url)
            .field("session_id", &self.inner.session_id)
            .finish()
    }
}

impl Inner {
    fn session_url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.driver_url, self.session_id)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.http.get(self.session_url(path)).send().await;
        webdriver_value(resp, "GET", path).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(self.session_url(path))
            .json(&body)
            .send()
            .await;
        webdriver_value(resp, "POST", path).await
    }

    async fn delete_session(&self) -> anyhow::Result<()> {
        let resp = self.http.delete(self.session_url("")).send().await;
        webdriver_value(resp, "DELETE", "/session").await?;
        Ok(())
    }

    /// `scope` is `""` for the document or `/element/ID` for a parent element.
    async fn find_from(self: &Arc<Self>, scope: &str, css: &str) -> anyhow::Result<Element> {
        let v = self
            .post(
                &format!("{scope}/element"),
                json!({ "using": "css selector", "value": css }),
            )
            .await
            .with_context(|| format!("no element matches CSS selector `{css}`"))?;
        self.element_from(&v)
            .with_context(|| format!("finding CSS selector `{css}`"))
    }

    async fn find_all_from(
        self: &Arc<Self>,
        scope: &str,
        css: &str,
    ) -> anyhow::Result<Vec<Element>> {
        let v = self
            .post(
                &format!("{scope}/elements"),
                json!({ "using": "css selector", "value": css }),
            )
            .await
            .with_context(|| format!("finding all of CSS selector `{css}`"))?;
        let items = v
            .as_array()
            .ok_or_else(|| anyhow!("find elements `{css}`: expected an array, got {v}"))?;
        items.iter().map(|item| self.element_from(item)).collect()
    }

    fn element_from(self: &Arc<Self>, v: &Value) -> anyhow::Result<Element> {
        let id = v
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("expected a web element reference, got {v}"))?;
        Ok(Element {
            inner: Arc::clone(self),
            id: id.to_owned(),
        })
    }

    fn kill_driver(&self) {
        let child = match self.driver.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Synchronous best-effort `DELETE /session/ID` (usable from `Drop`, so Chromium does not
    /// outlive a test that panicked before `quit`).
    fn delete_session_blocking(&self) {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.driver_addr, Duration::from_secs(2))
        else {
            return;
        };
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session_id, self.driver_addr
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            read_http_response(&mut stream);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            self.delete_session_blocking();
        }
        self.kill_driver();
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

/// Reads one HTTP response (headers plus `Content-Length` body) without relying on the server
/// closing the connection; gives up on EOF, error or the socket's read timeout.
fn read_http_response(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let Some(header_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let body_len = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        match body_len {
            Some(len) if buf.len() >= header_end + 4 + len => return,
            Some(_) => continue,
            // No length (chunked or close-delimited): the status line is enough; the session
            // deletion already happened by the time chromedriver answers.
            None => return,
        }
    }
}

/// Spawns chromedriver on a free port and waits until `/status` reports ready.
async fn start_driver(
    http: &reqwest::Client,
    driver_bin: &Path,
) -> anyhow::Result<(Child, SocketAddr)> {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").context("picking a free port")?;
        listener.local_addr().context("reading the picked port")?
    };
    let mut child = Command::new(driver_bin)
        .arg(format!("--port={}", addr.port()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("spawning {}", driver_bin.display()))?;

    let status_url = format!("http://{addr}/status");
    let deadline = Instant::now() + DRIVER_READY_TIMEOUT;
    loop {
        if let Ok(Some(exit)) = child.try_wait() {
            bail!(
                "chromedriver exited before becoming ready ({exit}) on port {}",
                addr.port()
            );
        }
        let ready = match http
            .get(&status_url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(resp) => resp
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v.pointer("/value/ready").and_then(Value::as_bool))
                .unwrap_or(false),
            Err(_) => false,
        };
        if ready {
            return Ok((child, addr));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "chromedriver at {} not ready after {}s",
                driver_bin.display(),
                DRIVER_READY_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_session(
    http: reqwest::Client,
    mut child: Child,
    addr: SocketAddr,
    chromium_bin: &Path,
    lang: &str,
) -> anyhow::Result<Browser> {
    let profile_dir = std::env::temp_dir().join(format!(
        "stride-chromium-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let cleanup = |child: &mut Child, dir: &Path| {
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(dir);
    };
    if let Err(e) = std::fs::create_dir_all(&profile_dir) {
        cleanup(&mut child, &profile_dir);
        return Err(e).with_context(|| format!("creating {}", profile_dir.display()));
    }

    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1280,900".to_owned(),
        format!("--user-data-dir={}", profile_dir.display()),
        format!("--lang={lang}"),
    ];
    let caps = json!({
        "capabilities": {
            "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
                "goog:chromeOptions": {
                    "binary": chromium_bin.to_string_lossy(),
                    "args": args,
                    "prefs": { "intl": { "accept_languages": lang } },
                }
            }
        }
    });
    let driver_url = format!("http://{addr}");
    let resp = http
        .post(format!("{driver_url}/session"))
        .json(&caps)
        .send()
        .await;
    let value = match webdriver_value(resp, "POST", "/session").await {
        Ok(v) => v,
        Err(e) => {
            cleanup(&mut child, &profile_dir);
            return Err(e.context(format!("starting headless {}", chromium_bin.display())));
        }
    };
    let Some(session_id) = value.get("sessionId").and_then(Value::as_str) else {
        cleanup(&mut child, &profile_dir);
        bail!("new session response without sessionId: {value}");
    };
    Ok(Browser {
        inner: Arc::new(Inner {
            http,
            driver_url,
            driver_addr: addr,
            session_id: session_id.to_owned(),
            closed: AtomicBool::new(false),
            driver: Mutex::new(Some(child)),
            profile_dir,
        }),
    })
}

/// Unwraps a WebDriver response: `{"value": ...}` on success, `{"value": {"error", "message"}}`
/// on failure.
async fn webdriver_value(
    resp: reqwest::Result<reqwest::Response>,
    method: &str,
    path: &str,
) -> anyhow::Result<Value> {
    let resp = resp.with_context(|| format!("WebDriver {method} {path}: request failed"))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .with_context(|| format!("WebDriver {method} {path}: reading response"))?;
    let parsed: Value = serde_json::from_str(&body).with_context(|| {
        format!(
            "WebDriver {method} {path}: HTTP {status}, non-JSON body: {}",
            truncate(&body, 300)
        )
    })?;
    let value = parsed.get("value").cloned().unwrap_or(Value::Null);
    let error = value.get("error").and_then(Value::as_str);
    if !status.is_success() || error.is_some() {
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        bail!(
            "WebDriver {method} {path}: HTTP {status}: {}: {}",
            error.unwrap_or("unknown error"),
            truncate(message, 500)
        );
    }
    Ok(value)
}

fn as_string(v: Value, what: &str) -> anyhow::Result<String> {
    match v {
        Value::String(s) => Ok(s),
        other => bail!("expected {what} to be a string, got {other}"),
    }
}

fn value_to_opt_string(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Escapes a value for use inside a double-quoted CSS string.
fn css_escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\a "),
            c => out.push(c),
        }
    }
    out
}

fn browser_required() -> bool {
    std::env::var("STRIDE_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn chromedriver_path() -> Option<PathBuf> {
    match std::env::var_os("STRIDE_CHROMEDRIVER") {
        Some(p) if !p.is_empty() => resolve_binary(Path::new(&p)),
        _ => find_in_path("chromedriver"),
    }
}

fn chromium_path() -> Option<PathBuf> {
    match std::env::var_os("STRIDE_CHROMIUM") {
        Some(p) if !p.is_empty() => resolve_binary(Path::new(&p)),
        _ => {
            let default = Path::new("/usr/bin/chromium");
            if is_executable(default) {
                return Some(default.to_path_buf());
            }
            ["chromium", "chromium-browser", "google-chrome"]
                .into_iter()
                .find_map(find_in_path)
        }
    }
}

/// A path with a separator is taken as is; a bare name is looked up in `PATH`.
fn resolve_binary(p: &Path) -> Option<PathBuf> {
    if p.components().count() > 1 {
        is_executable(p).then(|| p.to_path_buf())
    } else {
        find_in_path(p.to_str()?)
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Decodes standard (RFC 4648) base64, padding optional, ASCII whitespace ignored.
fn base64_decode(input: &str) -> anyhow::Result<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for (i, c) in input.bytes().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            bail!("invalid base64: data after padding at byte {i}");
        }
        let v = sextet(c).ok_or_else(|| anyhow!("invalid base64 byte {c:#04x} at {i}"))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Truncation to the low byte is the point here.
            out.push(((acc >> bits) & 0xff) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 || padding > 2 {
        bail!("invalid base64: truncated input");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data_url(html: &str) -> String {
        let mut url = String::from("data:text/html;charset=utf-8,");
        for b in html.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
        url
    }

    #[test]
    fn base64_roundtrip_known_vectors() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(base64_decode("Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(base64_decode("Zm9v\nYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(base64_decode("Zm9v!").is_err());
        assert!(base64_decode("Z").is_err());
        assert!(base64_decode("Zg==Zg").is_err());
    }

    #[test]
    fn css_string_escaping() {
        assert_eq!(css_escape_string(r#"a"b\c"#), r#"a\"b\\c"#);
    }

    #[tokio::test]
    async fn browser_types_clicks_and_reads() {
        let Some(browser) = Browser::launch_if_available("en").await.unwrap() else {
            eprintln!("skipping browser test: chromium/chromedriver not installed");
            return;
        };
        let page = data_url(
            r#"<!doctype html><title>Smoke</title>
            <input id="name" value="">
            <select id="pick"><option value="a">A</option><option value="b &quot;x&quot;">B</option></select>
            <button id="go" onclick="document.getElementById('out').textContent =
                document.getElementById('name').value + '/' + document.getElementById('pick').value">Go</button>
            <div id="out"></div>"#,
        );
        browser.goto(&page).await.unwrap();
        assert_eq!(browser.title().await.unwrap(), "Smoke");
        assert!(browser
            .current_url()
            .await
            .unwrap()
            .starts_with("data:text/html"));

        let input = browser.find("#name").await.unwrap();
        input.send_keys("typed").await.unwrap();
        input.clear().await.unwrap();
        input.send_keys("Ada Lovelace").await.unwrap();
        assert_eq!(
            input.prop("value").await.unwrap().as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(input.attr("id").await.unwrap().as_deref(), Some("name"));
        assert_eq!(input.attr("data-missing").await.unwrap(), None);
        browser
            .find("#pick")
            .await
            .unwrap()
            .select_by_value(r#"b "x""#)
            .await
            .unwrap();
        browser.find("#go").await.unwrap().click().await.unwrap();
        let out = browser.wait_for("#out").await.unwrap();
        assert_eq!(out.text().await.unwrap(), r#"Ada Lovelace/b "x""#);

        assert_eq!(browser.find_all("option").await.unwrap().len(), 2);
        assert!(browser.find_all(".nothing").await.unwrap().is_empty());
        let err = browser.find("#does-not-exist").await.unwrap_err();
        assert!(format!("{err:#}").contains("#does-not-exist"), "{err:#}");
        assert!(browser.page_source().await.unwrap().contains("id=\"out\""));
        let echoed = browser
            .execute(
                "return arguments[0].id + arguments[1];",
                vec![out.as_arg(), json!(1)],
            )
            .await
            .unwrap();
        assert_eq!(echoed, json!("out1"));

        let png = browser.screenshot_png().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        browser.quit().await.unwrap();
    }

    #[tokio::test]
    async fn browser_language_is_configurable() {
        let Some(browser) = Browser::launch_if_available("zh-CN").await.unwrap() else {
            eprintln!("skipping browser test: chromium/chromedriver not installed");
            return;
        };
        browser.goto(&data_url("<p>hi</p>")).await.unwrap();
        let lang = browser
            .execute("return navigator.language;", vec![])
            .await
            .unwrap();
        assert_eq!(lang, json!("zh-CN"));
        let langs = browser
            .execute("return navigator.languages;", vec![])
            .await
            .unwrap();
        assert_eq!(langs.get(0), Some(&json!("zh-CN")), "{langs}");
        browser.quit().await.unwrap();
    }
}
