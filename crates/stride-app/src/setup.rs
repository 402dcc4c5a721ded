//! First start: the built-in roles and the company department exist before anyone signs in.

use stride_domain::access::{builtin_roles, RecordKind};
use stride_domain::validate;

use crate::actor::{Actor, Reach};
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult};
use crate::org::{DepartmentData, NewUser, RoleData, User, UserData};
use crate::page::PageRequest;
use crate::App;

impl App {
    /// Creates what is missing of the built-in roles and the root department. Safe to repeat,
    /// and safe when several servers start at once (unique codes make a second insert fail harmlessly).
    pub async fn bootstrap(&self) -> AppResult<()> {
        let existing: Vec<String> = self
            .store
            .roles()
            .await?
            .into_iter()
            .map(|r| r.code)
            .collect();
        let system = Actor::system(0);
        for role in builtin_roles()
            .into_iter()
            .filter(|r| !existing.iter().any(|c| c == r.code))
        {
            let data = RoleData {
                code: role.code.into(),
                name_zh: role.name_zh.into(),
                name_en: role.name_en.into(),
                scope: role.scope,
                permissions: role.permissions,
            };
            let mut tx = self.store.begin().await?;
            match tx.insert_role(&data, true, self.now_ms()).await {
                Ok(created) => {
                    tx.audit(&NewAuditEntry::created(
                        &system,
                        RecordKind::Role,
                        created.id,
                        &created,
                        self.now_ms(),
                    ))
                    .await?;
                    tx.commit().await?;
                }
                Err(crate::StoreError::Duplicate { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if self.root_department().await?.is_none() {
            let name = self.store.org_settings().await?.name;
            let mut tx = self.store.begin().await?;
            let root = tx
                .insert_department(
                    &DepartmentData {
                        parent_id: None,
                        name,
                    },
                    self.now_ms(),
                )
                .await?;
            tx.audit(&NewAuditEntry::created(
                &system,
                RecordKind::Department,
                root.id,
                &root,
                self.now_ms(),
            ))
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    pub async fn root_department(&self) -> AppResult<Option<i64>> {
        let first = self
            .store
            .departments(
                &Reach::All,
                PageRequest {
                    limit: 1,
                    after: None,
                },
            )
            .await?;
        Ok(first
            .into_iter()
            .find(|d| d.parent_id.is_none())
            .map(|d| d.id))
    }

    /// The system acting from the command line or a job.
    pub async fn system_actor(&self) -> AppResult<Actor> {
        let root = self.root_department().await?.ok_or_else(|| {
            AppError::Internal("no company department; run `stride migrate`".into())
        })?;
        Ok(Actor::system(root))
    }

    /// `stride user add`: a user with one role by code, in a department named by its path
    /// (`Company/East/Team 1`) or the company when no path is given.
    pub async fn add_user_cli(
        &self,
        username: &str,
        display_name: &str,
        role_code: &str,
        department_path: Option<&str>,
        password: &str,
    ) -> AppResult<User> {
        let system = self.system_actor().await?;
        let role = self
            .store
            .roles()
            .await?
            .into_iter()
            .find(|r| r.code == role_code)
            .ok_or_else(|| {
                AppError::field(
                    "role",
                    "not_found",
                    format!("no role with code `{role_code}`"),
                )
            })?;
        let department_id = match department_path {
            None => system.department_id,
            Some(path) => self.department_by_path(path).await?.ok_or_else(|| {
                AppError::field(
                    "department",
                    "not_found",
                    format!("no department at `{path}`"),
                )
            })?,
        };
        let data = UserData {
            username: username.into(),
            display_name: display_name.into(),
            email: None,
            department_id,
            manager_id: None,
            role_ids: vec![role.id],
            active: true,
            locale: validate::LOCALE_AUTO.into(),
            time_zone: self.store.org_settings().await?.time_zone,
        };
        self.create_user(
            &system,
            NewUser {
                data,
                password: password.into(),
            },
        )
        .await
    }

    /// Finds a department by its names from the top, separated by `/`.
    pub async fn department_by_path(&self, path: &str) -> AppResult<Option<i64>> {
        let mut all = Vec::new();
        let mut page = PageRequest {
            limit: 200,
            after: None,
        };
        loop {
            let rows = self.store.departments(&Reach::All, page).await?;
            let more = rows.len() > page.limit as usize;
            all.extend(rows.into_iter().take(page.limit as usize));
            page.after = all.last().map(|d| d.id);
            if !more {
                break;
            }
        }
        let mut parent: Option<i64> = None;
        for (i, name) in path
            .split('/')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .enumerate()
        {
            let found = all.iter().find(|d| {
                d.name == name
                    && (d.parent_id == parent
                        || (i == 0 && parent.is_none() && d.parent_id.is_none()))
            });
            match found {
                Some(d) => parent = Some(d.id),
                None => return Ok(None),
            }
        }
        Ok(parent)
    }
}
