//! The acting user of a request and the reach of their data scope.

use stride_domain::access::{Action, DataScope, Permission, PermissionSet, RecordKind};

use crate::error::{AppError, AppResult};

/// How the actor proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A browser session; writes must carry this CSRF token.
    Session { csrf_token: String },
    /// An API token; read-only tokens may not write.
    Token { token_id: i64, read_only: bool },
    /// The command line acting on behalf of a named user.
    CommandLine,
    /// A background job or the command line acting for the system itself.
    System,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub department_id: i64,
    pub locale: String,
    pub time_zone: String,
    pub permissions: PermissionSet,
    /// The widest data scope among the actor's roles.
    pub scope: DataScope,
    pub auth: AuthMethod,
}

impl Actor {
    pub fn can(&self, kind: RecordKind, action: Action) -> bool {
        self.permissions.allows(kind, action)
    }

    /// Refuses with 403 unless the actor's roles grant `kind.action`; read-only tokens only view.
    pub fn require(&self, kind: RecordKind, action: Action) -> AppResult<()> {
        if self.can(kind, action) && (action == Action::View || !self.is_read_only()) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether a signed-in person (not the system) is acting.
    pub fn is_person(&self) -> bool {
        self.auth != AuthMethod::System
    }

    /// The system itself: the command line and background jobs. Reaches everything.
    pub fn system(root_department_id: i64) -> Self {
        Self {
            user_id: 0,
            username: "system".into(),
            display_name: "system".into(),
            department_id: root_department_id,
            locale: "en".into(),
            time_zone: "Asia/Shanghai".into(),
            permissions: RecordKind::ALL
                .iter()
                .flat_map(|k| Action::ALL.iter().map(move |a| Permission::new(*k, *a)))
                .collect(),
            scope: DataScope::All,
            auth: AuthMethod::System,
        }
    }

    pub fn is_read_only(&self) -> bool {
        matches!(
            self.auth,
            AuthMethod::Token {
                read_only: true,
                ..
            }
        )
    }
}

/// The records an actor's data scope reaches, in the terms every store query filters by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reach {
    All,
    /// Records that belong to one of these departments.
    Departments(Vec<i64>),
    /// Records owned by this user (for user records: that user; for departments: their own).
    Owner {
        user_id: i64,
        department_id: i64,
    },
}
