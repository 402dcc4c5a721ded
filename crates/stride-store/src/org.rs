//! Departments, users and roles.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::auth::Principal;
use stride_app::org::{Department, DepartmentData, Role, RoleData, User, UserData, UserFilter};
use stride_app::page::PageRequest;
use stride_app::{Reach, StoreError};
use stride_domain::access::PermissionSet;

use crate::sql::{col, flag, json, json_rows_of, Sql};
use crate::Dialect;

type Result<T> = std::result::Result<T, StoreError>;

// ---- departments ----------------------------------------------------------------------------

const DEPARTMENT_COLUMNS: &str =
    "SELECT id, parent_id, name, version, created_at_ms, updated_at_ms FROM departments";

fn department(row: &AnyRow) -> Result<Department> {
    Ok(Department {
        id: col(row, "id")?,
        parent_id: col(row, "parent_id")?,
        name: col(row, "name")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub async fn subtree(conn: &mut AnyConnection, root: i64) -> Result<Vec<i64>> {
    let mut q = Sql::new("WITH RECURSIVE sub(id) AS (SELECT id FROM departments WHERE id = ");
    q.bind(root).push(
        " UNION ALL SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id) SELECT id FROM sub ORDER BY id",
    );
    q.fetch_ids(conn, "id").await
}

fn department_reach(q: &mut Sql, reach: &Reach) {
    // A department "belongs" to itself; an own-scope user reaches only their own department.
    q.reach(reach, "", "id");
}

pub async fn departments(
    conn: &mut AnyConnection,
    reach: &Reach,
    page: PageRequest,
) -> Result<Vec<Department>> {
    let mut q = Sql::new(DEPARTMENT_COLUMNS);
    q.push(" WHERE ");
    department_reach(&mut q, reach);
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(department).collect()
}

pub async fn department_by_id(
    conn: &mut AnyConnection,
    reach: &Reach,
    id: i64,
) -> Result<Option<Department>> {
    let mut q = Sql::new(DEPARTMENT_COLUMNS);
    q.push(" WHERE id = ").bind(id).push(" AND ");
    department_reach(&mut q, reach);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(department)
        .transpose()
}

pub async fn insert_department(
    conn: &mut AnyConnection,
    d: &DepartmentData,
    now: i64,
) -> Result<Department> {
    let mut q = Sql::new(
        "INSERT INTO departments (parent_id, name, created_at_ms, updated_at_ms) VALUES (",
    );
    q.bind(d.parent_id)
        .push(", ")
        .bind(d.name.clone())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now);
    q.push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    department_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn update_department(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    d: &DepartmentData,
    now: i64,
) -> Result<Department> {
    let mut q = Sql::new("UPDATE departments SET parent_id = ");
    q.bind(d.parent_id)
        .push(", name = ")
        .bind(d.name.clone())
        .push(", updated_at_ms = ")
        .bind(now);
    q.push(", version = version + 1 WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "departments", id).await?;
    department_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn delete_department(conn: &mut AnyConnection, id: i64, version: i64) -> Result<()> {
    let mut q = Sql::new("DELETE FROM departments WHERE id = ");
    q.bind(id).push(" AND version = ").bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "departments", id).await
}

/// After a versioned write touched no row: the record is gone (404) or moved on (412).
pub async fn versioned(conn: &mut AnyConnection, touched: u64, table: &str, id: i64) -> Result<()> {
    if touched > 0 {
        return Ok(());
    }
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM ");
    q.push(table).push(" WHERE id = ").bind(id);
    if col::<i64>(&q.fetch_one(conn).await?, "n")? > 0 {
        Err(StoreError::Stale)
    } else {
        Err(StoreError::NotFound)
    }
}

// ---- users ----------------------------------------------------------------------------------

/// A user's columns plus their role ids as one text column (`"1,4"`), so a page of users is one
/// query. `string_agg` reads the same on PostgreSQL and on the bundled SQLite (3.44+); the ids
/// are sorted here rather than by an ordered aggregate, which would sort once per user.
const USER_COLUMNS: &str =
    "SELECT id, username, display_name, email, department_id, manager_id, active, \
    locale, time_zone, version, created_at_ms, updated_at_ms, \
    (SELECT string_agg(CAST(ur.role_id AS TEXT), ',') FROM user_roles ur \
    WHERE ur.user_id = users.id) AS role_ids FROM users";

/// A row of [`USER_COLUMNS`].
fn user_with_role_ids(row: &AnyRow) -> Result<User> {
    let ids: Option<String> = col(row, "role_ids")?;
    user(row, role_ids(ids.as_deref())?)
}

/// The comma-separated `role_ids` of [`USER_COLUMNS`], in order.
fn role_ids(ids: Option<&str>) -> Result<Vec<i64>> {
    let mut ids = ids
        .unwrap_or_default()
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|e| StoreError::Backend(format!("column role_ids: {e}")))
        })
        .collect::<Result<Vec<i64>>>()?;
    ids.sort_unstable();
    Ok(ids)
}

fn user(row: &AnyRow, role_ids: Vec<i64>) -> Result<User> {
    Ok(User {
        id: col(row, "id")?,
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        email: col(row, "email")?,
        department_id: col(row, "department_id")?,
        manager_id: col(row, "manager_id")?,
        role_ids,
        active: flag(row, "active")?,
        locale: col(row, "locale")?,
        time_zone: col(row, "time_zone")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

fn user_reach(q: &mut Sql, reach: &Reach) {
    q.reach(reach, "id", "department_id");
}

pub async fn users(
    conn: &mut AnyConnection,
    dialect: Dialect,
    reach: &Reach,
    f: &UserFilter,
    page: PageRequest,
) -> Result<Vec<User>> {
    // On SQLite the page comes as one JSON row (see `json_rows_of`): 2.4 times the throughput
    // of 51 decoded rows under load; on PostgreSQL it made no difference (docs/benchmarks.md).
    let one_row = dialect == Dialect::Sqlite;
    let mut q = if one_row {
        let users = json_rows_of(
            dialect,
            "'id', id, 'username', username, 'display_name', display_name, 'email', email, \
             'department_id', department_id, 'manager_id', manager_id, 'active', active, \
             'locale', locale, 'time_zone', time_zone, 'version', version, \
             'created_at_ms', created_at_ms, 'updated_at_ms', updated_at_ms, 'role_ids', role_ids",
        );
        Sql::new(&format!("SELECT {users} AS users FROM ({USER_COLUMNS}"))
    } else {
        Sql::new(USER_COLUMNS)
    };
    q.push(" WHERE ");
    user_reach(&mut q, reach);
    if let Some(d) = f.department_id {
        q.push(" AND department_id = ").bind(d);
    }
    if let Some(a) = f.active {
        q.push(" AND active = ").bind(i64::from(a));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        q.push(" AND (username_key LIKE ").bind(pattern.clone());
        q.push(" OR LOWER(display_name) LIKE ")
            .bind(pattern)
            .push(")");
    }
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    if one_row {
        q.push(") listed");
        let rows: Vec<UserRow> = json(&q.fetch_one(conn).await?, "users")?;
        let mut users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<Result<Vec<User>>>()?;
        users.sort_unstable_by_key(|u| u.id);
        return Ok(users);
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(user_with_role_ids)
        .collect()
}

/// A user as [`users`] reads them on SQLite: one object of its JSON array.
#[derive(serde::Deserialize)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    email: Option<String>,
    department_id: i64,
    manager_id: Option<i64>,
    active: i64,
    locale: String,
    time_zone: String,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    role_ids: Option<String>,
}

impl UserRow {
    fn into_user(self) -> Result<User> {
        let role_ids = role_ids(self.role_ids.as_deref())?;
        Ok(User {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            email: self.email,
            department_id: self.department_id,
            manager_id: self.manager_id,
            role_ids,
            active: self.active != 0,
            locale: self.locale,
            time_zone: self.time_zone,
            version: self.version,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

pub async fn user_by_id(conn: &mut AnyConnection, reach: &Reach, id: i64) -> Result<Option<User>> {
    let mut q = Sql::new(USER_COLUMNS);
    q.push(" WHERE id = ").bind(id).push(" AND ");
    user_reach(&mut q, reach);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(user_with_role_ids)
        .transpose()
}

pub async fn display_names(
    conn: &mut AnyConnection,
    reach: &Reach,
    ids: &[i64],
) -> Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT id, display_name FROM users WHERE id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind(*id);
    }
    q.push(") AND ");
    user_reach(&mut q, reach);
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((col(r, "id")?, col(r, "display_name")?)))
        .collect()
}

pub async fn credentials(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<(i64, String, bool)>> {
    let mut q = Sql::new("SELECT id, password_hash, active FROM users WHERE username_key = ");
    q.bind(username.trim().to_lowercase());
    match q.fetch_optional(conn).await? {
        Some(r) => Ok(Some((
            col(&r, "id")?,
            col(&r, "password_hash")?,
            flag(&r, "active")?,
        ))),
        None => Ok(None),
    }
}

async fn replace_roles(conn: &mut AnyConnection, user_id: i64, role_ids: &[i64]) -> Result<()> {
    let mut q = Sql::new("DELETE FROM user_roles WHERE user_id = ");
    q.bind(user_id);
    q.execute(conn).await?;
    for role in role_ids {
        let mut q = Sql::new("INSERT INTO user_roles (user_id, role_id) VALUES (");
        q.bind(user_id).push(", ").bind(*role).push(")");
        q.execute(conn).await?;
    }
    Ok(())
}

pub async fn insert_user(
    conn: &mut AnyConnection,
    u: &UserData,
    password_hash: &str,
    now: i64,
) -> Result<User> {
    let mut q = Sql::new(
        "INSERT INTO users (username, username_key, display_name, email, department_id, manager_id, active, \
         locale, time_zone, password_hash, created_at_ms, updated_at_ms) VALUES (",
    );
    q.bind(u.username.clone())
        .push(", ")
        .bind(u.username.to_lowercase())
        .push(", ");
    q.bind(u.display_name.clone())
        .push(", ")
        .bind(u.email.clone())
        .push(", ");
    q.bind(u.department_id)
        .push(", ")
        .bind(u.manager_id)
        .push(", ")
        .bind(i64::from(u.active))
        .push(", ");
    q.bind(u.locale.clone())
        .push(", ")
        .bind(u.time_zone.clone())
        .push(", ");
    q.bind(password_hash.to_owned())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    replace_roles(conn, id, &u.role_ids).await?;
    user_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn update_user(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    u: &UserData,
    now: i64,
) -> Result<User> {
    let mut q = Sql::new("UPDATE users SET display_name = ");
    q.bind(u.display_name.clone())
        .push(", email = ")
        .bind(u.email.clone());
    q.push(", department_id = ")
        .bind(u.department_id)
        .push(", manager_id = ")
        .bind(u.manager_id);
    q.push(", active = ")
        .bind(i64::from(u.active))
        .push(", locale = ")
        .bind(u.locale.clone());
    q.push(", time_zone = ")
        .bind(u.time_zone.clone())
        .push(", updated_at_ms = ")
        .bind(now);
    q.push(", version = version + 1 WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "users", id).await?;
    replace_roles(conn, id, &u.role_ids).await?;
    user_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn set_password(conn: &mut AnyConnection, id: i64, hash: &str, now: i64) -> Result<()> {
    let mut q = Sql::new("UPDATE users SET password_hash = ");
    q.bind(hash.to_owned())
        .push(", updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    let n = q.execute(conn).await?;
    versioned(conn, n, "users", id).await
}

// ---- roles ----------------------------------------------------------------------------------

const ROLE_COLUMNS: &str =
    "SELECT id, code, name_zh, name_en, data_scope, permissions, builtin, version FROM roles";

fn role(row: &AnyRow) -> Result<Role> {
    role_with(row, "")
}

/// A role from columns named with `prefix` (joined queries alias role columns `r_…`).
fn role_with(row: &AnyRow, prefix: &str) -> Result<Role> {
    let c = |name: &str| format!("{prefix}{name}");
    let scope: String = col(row, &c("data_scope"))?;
    let permissions: String = col(row, &c("permissions"))?;
    Ok(Role {
        id: col(row, &c("id"))?,
        code: col(row, &c("code"))?,
        name_zh: col(row, &c("name_zh"))?,
        name_en: col(row, &c("name_en"))?,
        scope: scope
            .parse()
            .map_err(|e| StoreError::Backend(format!("role scope: {e}")))?,
        permissions: parse_permissions(&permissions)?,
        builtin: flag(row, &c("builtin"))?,
        version: col(row, &c("version"))?,
    })
}

/// Role permissions are stored as a JSON list of names. Every authenticated request reads its
/// roles, so parsed lists are memoised by their text: parsing is a pure function of the text, so
/// the memo cannot go stale when a role changes (its new text is simply another key).
fn parse_permissions(text: &str) -> Result<PermissionSet> {
    /// Distinct permission lists are few (one per role version); the bound only stops a
    /// pathological stream of role edits from growing the memo without end.
    const MEMO_LIMIT: usize = 256;
    static PARSED: LazyLock<RwLock<HashMap<String, PermissionSet>>> =
        LazyLock::new(Default::default);
    if let Some(set) = PARSED.read().ok().and_then(|memo| memo.get(text).cloned()) {
        return Ok(set);
    }
    let names: Vec<String> = serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("role permissions: {e}")))?;
    // Names no longer known (a kind removed in a later version) are dropped, not fatal.
    let set: PermissionSet = names.iter().filter_map(|n| n.parse().ok()).collect();
    if let Ok(mut memo) = PARSED.write() {
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(text.to_owned(), set.clone());
    }
    Ok(set)
}

fn permissions_json(p: &PermissionSet) -> String {
    serde_json::to_string(&p.iter().map(|x| x.to_string()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub async fn roles(conn: &mut AnyConnection) -> Result<Vec<Role>> {
    Sql::new(&format!("{ROLE_COLUMNS} ORDER BY id"))
        .fetch_all(conn)
        .await?
        .iter()
        .map(role)
        .collect()
}

pub async fn role_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Role>> {
    let mut q = Sql::new(ROLE_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    q.fetch_optional(conn).await?.as_ref().map(role).transpose()
}

pub async fn insert_role(
    conn: &mut AnyConnection,
    r: &RoleData,
    builtin: bool,
    now: i64,
) -> Result<Role> {
    let mut q = Sql::new(
        "INSERT INTO roles (code, name_zh, name_en, data_scope, permissions, builtin, created_at_ms, updated_at_ms) VALUES (",
    );
    q.bind(r.code.clone())
        .push(", ")
        .bind(r.name_zh.clone())
        .push(", ")
        .bind(r.name_en.clone())
        .push(", ");
    q.bind(r.scope.as_str())
        .push(", ")
        .bind(permissions_json(&r.permissions))
        .push(", ");
    q.bind(i64::from(builtin))
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    role_by_id(conn, id).await?.ok_or(StoreError::NotFound)
}

pub async fn update_role(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    r: &RoleData,
    now: i64,
) -> Result<Role> {
    let mut q = Sql::new("UPDATE roles SET name_zh = ");
    q.bind(r.name_zh.clone())
        .push(", name_en = ")
        .bind(r.name_en.clone());
    q.push(", data_scope = ").bind(r.scope.as_str());
    q.push(", permissions = ")
        .bind(permissions_json(&r.permissions))
        .push(", updated_at_ms = ")
        .bind(now);
    q.push(", version = version + 1 WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "roles", id).await?;
    role_by_id(conn, id).await?.ok_or(StoreError::NotFound)
}

pub async fn delete_role(conn: &mut AnyConnection, id: i64, version: i64) -> Result<()> {
    let mut q = Sql::new("DELETE FROM roles WHERE id = ");
    q.bind(id).push(" AND version = ").bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "roles", id).await
}

/// A user and each of their roles, one row per role: a principal in one query. Callers add
/// their own columns, `FROM`, [`PRINCIPAL_JOINS`] and conditions.
pub const PRINCIPAL_COLUMNS: &str =
    "SELECT u.id, u.username, u.display_name, u.email, u.department_id, \
    u.manager_id, u.active, u.locale, u.time_zone, u.version, u.created_at_ms, u.updated_at_ms, \
    r.id AS r_id, r.code AS r_code, r.name_zh AS r_name_zh, r.name_en AS r_name_en, \
    r.data_scope AS r_data_scope, r.permissions AS r_permissions, r.builtin AS r_builtin, \
    r.version AS r_version";

/// Roles of the user `u`, joined so that a user without roles still yields one row.
pub const PRINCIPAL_JOINS: &str =
    " LEFT JOIN user_roles ur ON ur.user_id = u.id LEFT JOIN roles r ON r.id = ur.role_id";

/// Folds the rows of a principal query; `None` when there are none.
pub fn principal_from_rows(rows: &[AnyRow]) -> Result<Option<Principal>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut roles = Vec::new();
    for row in rows {
        if col::<Option<i64>>(row, "r_id")?.is_some() {
            roles.push(role_with(row, "r_")?);
        }
    }
    let user = user(first, roles.iter().map(|r| r.id).collect())?;
    Ok(Some(Principal { user, roles }))
}

/// The active user with their roles.
pub async fn principal(conn: &mut AnyConnection, user_id: i64) -> Result<Option<Principal>> {
    let mut q = Sql::new(PRINCIPAL_COLUMNS);
    q.push(" FROM users u").push(PRINCIPAL_JOINS);
    q.push(" WHERE u.active = 1 AND u.id = ")
        .bind(user_id)
        .push(" ORDER BY r.id");
    principal_from_rows(&q.fetch_all(conn).await?)
}
