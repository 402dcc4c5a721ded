//! Signing in and staying signed in (ORG-3): passwords, sessions, API tokens, throttling.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use stride_domain::access::{DataScope, PermissionSet};
use stride_domain::validate;

use crate::actor::{Actor, AuthMethod};
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, Problems};
use crate::org::{Role, User};
use crate::App;

/// A user with their roles: what an [`Actor`] is made from.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn into_actor(self, auth: AuthMethod) -> Actor {
        let mut permissions = PermissionSet::default();
        for r in &self.roles {
            permissions.extend(&r.permissions);
        }
        let scope = self
            .roles
            .iter()
            .map(|r| r.scope)
            .max()
            .unwrap_or(DataScope::Own);
        Actor {
            user_id: self.user.id,
            username: self.user.username,
            display_name: self.user.display_name,
            department_id: self.user.department_id,
            locale: self.user.locale,
            time_zone: self.user.time_zone,
            permissions,
            scope,
            auth,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the secret, so a holder can tell tokens apart.
    pub prefix: String,
    pub read_only: bool,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// A new session: the secret goes into the cookie, only its hash into the database.
#[derive(Debug, Clone)]
pub struct LoginSession {
    pub session_token: String,
    pub csrf_token: String,
    pub expires_at_ms: i64,
    pub actor: Actor,
}

const TOKEN_PREFIX: &str = "stride_";

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so timing does not reveal names.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password").unwrap_or_default())
}

pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Secrets are stored as SHA-256: they are random and long, so a slow hash buys nothing.
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl App {
    /// Checks a password and opens a fresh session. Throttled per account and per client address.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_ip: &str,
    ) -> AppResult<LoginSession> {
        let now = self.now_ms();
        let account_key = format!("user:{}", username.to_lowercase());
        let ip_key = format!("ip:{client_ip}");
        self.check_throttle(&account_key, self.config.max_failures_per_account, now)
            .await?;
        self.check_throttle(&ip_key, self.config.max_failures_per_ip, now)
            .await?;

        let found = self.store.credentials(username).await?;
        let (user_id, ok) = match &found {
            Some((id, hash, active)) => (*id, verify_password(password, hash) && *active),
            None => {
                // Spend the same time as a real check, then refuse.
                let _ = verify_password(password, decoy_hash());
                (0, false)
            }
        };
        if !ok {
            self.store
                .record_throttle_hits(&[account_key, ip_key], now)
                .await?;
            return Err(AppError::field(
                "password",
                "invalid_credentials",
                "wrong user name or password",
            ));
        }
        self.store.clear_throttle_hits(&account_key).await?;
        let principal = self
            .store
            .principal(user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let session_token = random_secret();
        let csrf_token = random_secret();
        let expires_at_ms = now + self.config.session_ttl_ms;
        let actor = principal.into_actor(AuthMethod::Session {
            csrf_token: csrf_token.clone(),
        });
        let mut tx = self.store.begin().await?;
        tx.insert_session(
            &secret_hash(&session_token),
            user_id,
            &csrf_token,
            now,
            expires_at_ms,
        )
        .await?;
        tx.audit(&NewAuditEntry::new(
            &actor,
            "login",
            stride_domain::access::RecordKind::User,
            Some(user_id),
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(LoginSession {
            session_token,
            csrf_token,
            expires_at_ms,
            actor,
        })
    }

    async fn check_throttle(&self, key: &str, max: i64, now: i64) -> AppResult<()> {
        self.throttle(key, max, self.config.throttle_window_ms, now)
            .await
    }

    /// Refuses with 429 (and when to retry) once `key` has `max` hits inside the window.
    pub(crate) async fn throttle(
        &self,
        key: &str,
        max: i64,
        window_ms: i64,
        now: i64,
    ) -> AppResult<()> {
        let (count, oldest) = self.store.throttle_hits(key, now - window_ms).await?;
        if count >= max {
            let until = oldest.unwrap_or(now) + window_ms;
            let retry_after_secs = u64::try_from((until - now).max(1000) / 1000).unwrap_or(1);
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
        Ok(())
    }

    pub async fn logout(&self, session_token: &str) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&secret_hash(session_token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor behind a session cookie, if the session is live and the user active.
    pub async fn authenticate_session(&self, session_token: &str) -> AppResult<Actor> {
        let (principal, csrf_token) = self
            .store
            .principal_by_session(&secret_hash(session_token), self.now_ms())
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(principal.into_actor(AuthMethod::Session { csrf_token }))
    }

    /// The actor behind an `Authorization: Bearer` API token.
    pub async fn authenticate_token(&self, token: &str) -> AppResult<Actor> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(AppError::Unauthorized);
        }
        let (principal, t) = self
            .store
            .principal_by_token(&secret_hash(token))
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(principal.into_actor(AuthMethod::Token {
            token_id: t.id,
            read_only: t.read_only,
        }))
    }

    /// Changes the actor's own password after checking the current one; other sessions end.
    pub async fn change_password(
        &self,
        actor: &Actor,
        session_token: Option<&str>,
        current: &str,
        new: &str,
    ) -> AppResult<()> {
        let (_, hash, _) = self
            .store
            .credentials(&actor.username)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let mut p = Problems::default();
        p.check(
            verify_password(current, &hash),
            "current_password",
            "invalid",
            "the current password is wrong",
        );
        p.check(
            validate::is_acceptable_password(new),
            "new_password",
            "too_short",
            "a password has 8 to 128 characters",
        );
        p.into_result()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        tx.set_password(actor.user_id, &hash_password(new)?, now)
            .await?;
        tx.delete_sessions_of(actor.user_id, session_token.map(secret_hash).as_deref())
            .await?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "change_password",
            stride_domain::access::RecordKind::User,
            Some(actor.user_id),
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's own language, time zone and display name.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        locale: Option<String>,
        time_zone: Option<String>,
        display_name: Option<String>,
    ) -> AppResult<User> {
        let mut tx = self.store.begin().await?;
        let before = tx
            .user(actor.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let mut data = crate::org::UserData {
            username: before.username.clone(),
            display_name: display_name.unwrap_or_else(|| before.display_name.clone()),
            email: before.email.clone(),
            department_id: before.department_id,
            manager_id: before.manager_id,
            role_ids: before.role_ids.clone(),
            active: before.active,
            locale: locale.unwrap_or_else(|| before.locale.clone()),
            time_zone: time_zone.unwrap_or_else(|| before.time_zone.clone()),
        };
        let mut p = Problems::default();
        p.check(
            validate::is_valid_locale(&data.locale),
            "locale",
            "invalid",
            "language must be auto, zh-CN or en",
        );
        p.check(
            validate::is_valid_time_zone(&data.time_zone),
            "time_zone",
            "invalid",
            "unknown time zone",
        );
        match validate::required_text(&data.display_name, 100) {
            Some(n) => data.display_name = n,
            None => p.add(
                "display_name",
                "required",
                "a display name is required (at most 100 characters)",
            ),
        }
        p.into_result()?;
        let now = self.now_ms();
        let after = tx
            .update_user(actor.user_id, before.version, &data, now)
            .await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            stride_domain::access::RecordKind::User,
            actor.user_id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---- API tokens -----------------------------------------------------------------------

    /// Issues an API token for the actor; the secret is shown once and stored only hashed.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        read_only: bool,
    ) -> AppResult<(ApiToken, String)> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let name = validate::required_text(name, 100).ok_or_else(|| {
            AppError::field(
                "name",
                "required",
                "name the token (at most 100 characters)",
            )
        })?;
        let secret = format!("{TOKEN_PREFIX}{}", random_secret());
        let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let token = tx
            .insert_token(
                actor.user_id,
                &name,
                &secret_hash(&secret),
                &prefix,
                read_only,
                now,
            )
            .await?;
        let entry = NewAuditEntry::new(
            actor,
            "create_token",
            stride_domain::access::RecordKind::User,
            Some(actor.user_id),
            now,
        )
        .with_after(&token);
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    pub async fn list_tokens(&self, actor: &Actor) -> AppResult<Vec<ApiToken>> {
        Ok(self.store.tokens_of(actor.user_id).await?)
    }

    /// Revokes one of the actor's own tokens.
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> AppResult<()> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let token = tx
            .token(id)
            .await?
            .filter(|t| t.user_id == actor.user_id)
            .ok_or(AppError::NotFound)?;
        tx.revoke_token(id, now).await?;
        let entry = NewAuditEntry::new(
            actor,
            "revoke_token",
            stride_domain::access::RecordKind::User,
            Some(actor.user_id),
            now,
        )
        .with_after(&token);
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor for a user by login name, for the command line acting on their behalf.
    pub async fn actor_for(&self, username: &str) -> AppResult<Actor> {
        let (id, _, active) = self
            .store
            .credentials(username)
            .await?
            .ok_or(AppError::NotFound)?;
        if !active {
            return Err(AppError::Forbidden);
        }
        let principal = self.store.principal(id).await?.ok_or(AppError::NotFound)?;
        Ok(principal.into_actor(AuthMethod::CommandLine))
    }
}
