//! Organization (ORG-1, ORG-2): the department tree, users and roles.

use serde::Serialize;
use stride_domain::access::{Action, DataScope, PermissionSet, RecordKind};
use stride_domain::validate;

use crate::actor::{Actor, Reach};
use crate::audit::NewAuditEntry;
use crate::auth::hash_password;
use crate::error::{AppError, AppResult, Problems};
use crate::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Department {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The writable state of a department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentData {
    pub parent_id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct DepartmentPatch {
    pub parent_id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub department_id: i64,
    pub manager_id: Option<i64>,
    pub role_ids: Vec<i64>,
    pub active: bool,
    pub locale: String,
    pub time_zone: String,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The writable state of a user (the password lives apart, never in a record or an audit row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub department_id: i64,
    pub manager_id: Option<i64>,
    pub role_ids: Vec<i64>,
    pub active: bool,
    pub locale: String,
    pub time_zone: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub data: UserData,
    pub password: String,
}

/// Fields an administrator may change on a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub department_id: Option<i64>,
    pub manager_id: Option<Option<i64>>,
    pub role_ids: Option<Vec<i64>>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
}

/// A page of the users list as asked for and allowed: the reach, the filter and the page, and
/// the directory generation it was asked in (see [`App::users_page_stamp`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsersPageStamp {
    /// `None` while the directory cannot vouch for its changes (see
    /// `Store::directory_generation`): a page read then may not be kept.
    pub generation: Option<u64>,
    reach: Reach,
    filter: UserFilter,
    page: PageRequest,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    pub department_id: Option<i64>,
    pub active: Option<bool>,
    /// Part of a login or display name.
    pub q: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub scope: DataScope,
    pub permissions: PermissionSet,
    pub builtin: bool,
    pub version: i64,
}

impl Role {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("zh") {
            &self.name_zh
        } else {
            &self.name_en
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleData {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub scope: DataScope,
    pub permissions: PermissionSet,
}

#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub scope: Option<DataScope>,
    pub permissions: Option<PermissionSet>,
}

impl App {
    /// The one place a data scope becomes a filter. Every list, detail, export and total uses it.
    pub async fn reach(&self, actor: &Actor) -> AppResult<Reach> {
        Ok(match actor.scope {
            DataScope::All => Reach::All,
            DataScope::DepartmentTree => {
                Reach::Departments(self.store.department_subtree(actor.department_id).await?)
            }
            DataScope::Department => Reach::Departments(vec![actor.department_id]),
            DataScope::Own => Reach::Owner {
                user_id: actor.user_id,
                department_id: actor.department_id,
            },
        })
    }

    // ---- departments ----------------------------------------------------------------------

    pub async fn list_departments(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> AppResult<Page<Department>> {
        actor.require(RecordKind::Department, Action::View)?;
        let reach = self.reach(actor).await?;
        let rows = self.store.departments(&reach, page).await?;
        Ok(Page::from_rows(rows, page, |d| d.id))
    }

    pub async fn get_department(&self, actor: &Actor, id: i64) -> AppResult<Department> {
        actor.require(RecordKind::Department, Action::View)?;
        let reach = self.reach(actor).await?;
        self.store
            .department(&reach, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn create_department(
        &self,
        actor: &Actor,
        data: DepartmentData,
    ) -> AppResult<Department> {
        actor.require(RecordKind::Department, Action::Create)?;
        let data = self.checked_department(None, data).await?;
        let mut tx = self.store.begin().await?;
        let created = tx.insert_department(&data, self.now_ms()).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Department,
            created.id,
            &created,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_department(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        patch: DepartmentPatch,
    ) -> AppResult<Department> {
        let before = self.get_department(actor, id).await?;
        actor.require(RecordKind::Department, Action::Edit)?;
        let data = DepartmentData {
            parent_id: patch.parent_id.or(before.parent_id),
            name: patch.name.unwrap_or_else(|| before.name.clone()),
        };
        let data = self.checked_department(Some(&before), data).await?;
        let mut tx = self.store.begin().await?;
        let after = tx
            .update_department(id, version, &data, self.now_ms())
            .await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Department,
            id,
            &before,
            &after,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_department(&self, actor: &Actor, id: i64, version: i64) -> AppResult<()> {
        let before = self.get_department(actor, id).await?;
        actor.require(RecordKind::Department, Action::Delete)?;
        let mut tx = self.store.begin().await?;
        tx.delete_department(id, version).await?;
        tx.audit(&NewAuditEntry::deleted(
            actor,
            RecordKind::Department,
            id,
            &before,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn checked_department(
        &self,
        existing: Option<&Department>,
        data: DepartmentData,
    ) -> AppResult<DepartmentData> {
        let mut p = Problems::default();
        let name = validate::required_text(&data.name, 100);
        p.check(
            name.is_some(),
            "name",
            "required",
            "name is required (at most 100 characters)",
        );
        match (existing, data.parent_id) {
            (_, Some(parent)) => {
                if self.store.department(&Reach::All, parent).await?.is_none() {
                    p.add(
                        "parent_id",
                        "not_found",
                        "the parent department does not exist",
                    );
                } else if let Some(me) = existing {
                    if self
                        .store
                        .department_subtree(me.id)
                        .await?
                        .contains(&parent)
                    {
                        p.add(
                            "parent_id",
                            "cycle",
                            "a department cannot move below itself",
                        );
                    }
                }
            }
            (Some(me), None) => p.check(
                me.parent_id.is_none(),
                "parent_id",
                "required",
                "parent_id is required",
            ),
            (None, None) => {
                let any = self
                    .store
                    .departments(
                        &Reach::All,
                        PageRequest {
                            limit: 1,
                            after: None,
                        },
                    )
                    .await?;
                p.check(
                    any.is_empty(),
                    "parent_id",
                    "required",
                    "only the company may have no parent",
                );
            }
        }
        p.into_result()?;
        Ok(DepartmentData {
            parent_id: data.parent_id,
            name: name.unwrap_or_default(),
        })
    }

    // ---- users ----------------------------------------------------------------------------

    pub async fn list_users(
        &self,
        actor: &Actor,
        filter: &UserFilter,
        page: PageRequest,
    ) -> AppResult<Page<User>> {
        let stamp = self.users_page_stamp(actor, filter, page).await?;
        self.users_page(&stamp).await
    }

    /// A page of the users list, checked (the actor may view users) and scoped to the actor's
    /// reach, not read yet: for a caller that keeps what it made of a page (its JSON), equal
    /// stamps with a generation mean equal pages.
    /// Take the stamp before the page ([`Self::users_page`]), so that a change between the two
    /// makes it stale.
    pub async fn users_page_stamp(
        &self,
        actor: &Actor,
        filter: &UserFilter,
        page: PageRequest,
    ) -> AppResult<UsersPageStamp> {
        actor.require(RecordKind::User, Action::View)?;
        // The generation first: a change while the reach is read makes the stamp stale.
        let generation = self.store.directory_generation();
        Ok(UsersPageStamp {
            generation,
            reach: self.reach(actor).await?,
            filter: filter.clone(),
            page,
        })
    }

    /// The page a stamp stands for, read now.
    pub async fn users_page(&self, stamp: &UsersPageStamp) -> AppResult<Page<User>> {
        let rows = self
            .store
            .users(&stamp.reach, &stamp.filter, stamp.page)
            .await?;
        Ok(Page::from_rows(rows, stamp.page, |u| u.id))
    }

    pub async fn get_user(&self, actor: &Actor, id: i64) -> AppResult<User> {
        actor.require(RecordKind::User, Action::View)?;
        let reach = self.reach(actor).await?;
        self.store.user(&reach, id).await?.ok_or(AppError::NotFound)
    }

    /// Display names of the given users as far as the actor may read them, and always the
    /// actor's own; for pages that show owners and approvers next to records. One read however
    /// many people (at most 500 distinct ids are looked up).
    pub async fn user_names(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> AppResult<std::collections::HashMap<i64, String>> {
        let mut names = std::collections::HashMap::new();
        names.insert(actor.user_id, actor.display_name.clone());
        if !actor.can(RecordKind::User, Action::View) {
            return Ok(names);
        }
        let mut wanted: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| *id != actor.user_id)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted.truncate(500);
        if wanted.is_empty() {
            return Ok(names);
        }
        let reach = self.reach(actor).await?;
        names.extend(self.store.display_names(&reach, &wanted).await?);
        Ok(names)
    }

    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> AppResult<User> {
        actor.require(RecordKind::User, Action::Create)?;
        let mut p = Problems::default();
        p.check(
            validate::is_valid_username(&new.data.username),
            "username",
            "invalid",
            "2–64 letters, digits, dots, underscores or hyphens",
        );
        p.check(
            validate::is_acceptable_password(&new.password),
            "password",
            "too_short",
            "a password has 8 to 128 characters",
        );
        let reach = self.reach(actor).await?;
        let data = self.checked_user(&reach, None, new.data, p).await?;
        let hash = hash_password(&new.password)?;
        let mut tx = self.store.begin().await?;
        let created = tx.insert_user(&data, &hash, self.now_ms()).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::User,
            created.id,
            &created,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        patch: UserPatch,
    ) -> AppResult<User> {
        let before = self.get_user(actor, id).await?;
        actor.require(RecordKind::User, Action::Edit)?;
        let data = UserData {
            username: before.username.clone(),
            display_name: patch
                .display_name
                .unwrap_or_else(|| before.display_name.clone()),
            email: patch.email.unwrap_or_else(|| before.email.clone()),
            department_id: patch.department_id.unwrap_or(before.department_id),
            manager_id: patch.manager_id.unwrap_or(before.manager_id),
            role_ids: patch.role_ids.unwrap_or_else(|| before.role_ids.clone()),
            active: patch.active.unwrap_or(before.active),
            locale: patch.locale.unwrap_or_else(|| before.locale.clone()),
            time_zone: patch.time_zone.unwrap_or_else(|| before.time_zone.clone()),
        };
        let mut p = Problems::default();
        p.check(
            id != actor.user_id || data.active,
            "active",
            "self",
            "you cannot disable yourself",
        );
        // Moving a user is only possible into a department the editor may see.
        let reach = if data.department_id == before.department_id {
            Reach::All
        } else {
            self.reach(actor).await?
        };
        let data = self.checked_user(&reach, Some(id), data, p).await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx.update_user(id, version, &data, now).await?;
        if before.active && !after.active {
            // A disabled user stops working at once: sessions end, tokens are revoked.
            tx.delete_sessions_of(id, None).await?;
            tx.revoke_tokens_of(id, now).await?;
        }
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::User,
            id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Validates a user's state; `department_reach` says which departments may be chosen.
    async fn checked_user(
        &self,
        department_reach: &Reach,
        me: Option<i64>,
        mut data: UserData,
        mut p: Problems,
    ) -> AppResult<UserData> {
        match validate::required_text(&data.display_name, 100) {
            Some(name) => data.display_name = name,
            None => p.add(
                "display_name",
                "required",
                "a display name is required (at most 100 characters)",
            ),
        }
        data.email = data
            .email
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        if let Some(email) = &data.email {
            p.check(
                validate::is_valid_email(email),
                "email",
                "invalid",
                "not an e-mail address",
            );
        }
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
        if self
            .store
            .department(department_reach, data.department_id)
            .await?
            .is_none()
        {
            p.add(
                "department_id",
                "not_found",
                "the department does not exist",
            );
        }
        if let Some(manager) = data.manager_id {
            if Some(manager) == me {
                p.add("manager_id", "self", "a user cannot be their own manager");
            } else if self.store.user(&Reach::All, manager).await?.is_none() {
                p.add("manager_id", "not_found", "the manager does not exist");
            }
        }
        data.role_ids.sort_unstable();
        data.role_ids.dedup();
        if data.role_ids.is_empty() {
            p.add("role_ids", "required", "a user needs at least one role");
        }
        let known: Vec<i64> = self
            .store
            .roles()
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        if data.role_ids.iter().any(|r| !known.contains(r)) {
            p.add("role_ids", "not_found", "a role does not exist");
        }
        p.into_result()?;
        Ok(data)
    }

    // ---- roles ----------------------------------------------------------------------------

    /// Roles are the vocabulary of user forms, so anyone who may see users may see them.
    pub async fn list_roles(&self, actor: &Actor) -> AppResult<Vec<Role>> {
        if !actor.can(RecordKind::Role, Action::View) {
            actor.require(RecordKind::User, Action::View)?;
        }
        Ok(self.store.roles().await?)
    }

    pub async fn get_role(&self, actor: &Actor, id: i64) -> AppResult<Role> {
        if !actor.can(RecordKind::Role, Action::View) {
            actor.require(RecordKind::User, Action::View)?;
        }
        self.store.role(id).await?.ok_or(AppError::NotFound)
    }

    pub async fn create_role(&self, actor: &Actor, data: RoleData) -> AppResult<Role> {
        actor.require(RecordKind::Role, Action::Create)?;
        let mut p = Problems::default();
        p.check(
            (2..=32).contains(&data.code.len())
                && data
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "code",
            "invalid",
            "2–32 lowercase letters, digits or underscores",
        );
        let data = checked_role(data, p)?;
        let mut tx = self.store.begin().await?;
        let created = tx.insert_role(&data, false, self.now_ms()).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Role,
            created.id,
            &created,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_role(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        patch: RolePatch,
    ) -> AppResult<Role> {
        actor.require(RecordKind::Role, Action::Edit)?;
        let before = self.store.role(id).await?.ok_or(AppError::NotFound)?;
        let data = RoleData {
            code: before.code.clone(),
            name_zh: patch.name_zh.unwrap_or_else(|| before.name_zh.clone()),
            name_en: patch.name_en.unwrap_or_else(|| before.name_en.clone()),
            scope: patch.scope.unwrap_or(before.scope),
            permissions: patch
                .permissions
                .unwrap_or_else(|| before.permissions.clone()),
        };
        let mut p = Problems::default();
        if before.code == "admin" {
            // Keep one way back in: the administrator role cannot lose its own management rights.
            let keeps = data.permissions.allows(RecordKind::Role, Action::Edit)
                && data.permissions.allows(RecordKind::User, Action::Edit)
                && data.scope == DataScope::All;
            p.check(
                keeps,
                "permissions",
                "locked",
                "the administrator role keeps user and role management over all data",
            );
        }
        let data = checked_role(data, p)?;
        let mut tx = self.store.begin().await?;
        let after = tx.update_role(id, version, &data, self.now_ms()).await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Role,
            id,
            &before,
            &after,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_role(&self, actor: &Actor, id: i64, version: i64) -> AppResult<()> {
        actor.require(RecordKind::Role, Action::Delete)?;
        let before = self.store.role(id).await?.ok_or(AppError::NotFound)?;
        if before.builtin {
            return Err(AppError::Conflict(
                "built-in roles cannot be deleted".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.delete_role(id, version).await?;
        tx.audit(&NewAuditEntry::deleted(
            actor,
            RecordKind::Role,
            id,
            &before,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn checked_role(mut data: RoleData, mut p: Problems) -> AppResult<RoleData> {
    match validate::required_text(&data.name_zh, 50) {
        Some(n) => data.name_zh = n,
        None => p.add(
            "name_zh",
            "required",
            "a Chinese name is required (at most 50 characters)",
        ),
    }
    data.name_en =
        validate::required_text(&data.name_en, 50).unwrap_or_else(|| data.name_zh.clone());
    p.into_result()?;
    Ok(data)
}
