//! The errors a use case can end in; the web layer maps each to one HTTP status.

use crate::ports::StoreError;

/// One refused field: which, a stable machine code, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Absent, or outside the caller's data scope: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("not permitted")]
    Forbidden,
    #[error("authentication required")]
    Unauthorized,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The record changed since the caller read it.
    #[error("the record was changed by someone else")]
    Stale,
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Stale => Self::Stale,
            StoreError::Duplicate { field } => {
                Self::field(&field, "taken", format!("this {field} is already in use"))
            }
            StoreError::InUse(what) => Self::Conflict(what),
            StoreError::Backend(msg) => Self::Internal(msg),
        }
    }
}

/// Collects field errors so one response reports every problem at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }
    pub fn check(&mut self, ok: bool, field: &str, code: &str, message: &str) {
        if !ok {
            self.add(field, code, message);
        }
    }
    /// Trims an optional text field to `None` when blank, refusing it when longer than `max`.
    pub fn optional_text(&mut self, value: &mut Option<String>, field: &str, max: usize) {
        *value = value
            .take()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            self.add(field, "too_long", format!("at most {max} characters"));
        }
    }

    /// Checks the e-mail address and phone number of a record, when given.
    pub fn contact_points(&mut self, email: Option<&str>, phone: Option<&str>) {
        if let Some(email) = email {
            self.check(
                stride_domain::validate::is_valid_email(email),
                "email",
                "invalid",
                "not an e-mail address",
            );
        }
        if let Some(phone) = phone {
            let digits = stride_domain::customers::normalize_phone(phone);
            self.check(digits.len() >= 5, "phone", "invalid", "not a phone number");
        }
    }

    /// Checks a unified social credit code, when given, and keeps it in its canonical form;
    /// a blank one is no code.
    pub fn credit_code(&mut self, code: &mut Option<String>) {
        let Some(text) = code.take().filter(|c| !c.trim().is_empty()) else {
            return;
        };
        match stride_domain::customers::UnifiedSocialCreditCode::parse(&text) {
            Ok(c) => *code = Some(c.as_str().to_owned()),
            Err(e) => self.add(
                "credit_code",
                "invalid",
                format!("not a unified social credit code: {e}"),
            ),
        }
    }

    pub fn into_result(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
