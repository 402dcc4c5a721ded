//! Who may do what to which records: record kinds × actions (permissions) and data scopes.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which records of a kind a role reaches. Ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataScope {
    /// Only the records the user owns (for user records: themselves).
    #[serde(rename = "self")]
    Own,
    /// Records of the user's own department.
    Department,
    /// Records of the user's department and every department below it.
    DepartmentTree,
    /// Every record.
    All,
}

impl DataScope {
    pub const ALL: [DataScope; 4] = [Self::Own, Self::Department, Self::DepartmentTree, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "self",
            Self::Department => "department",
            Self::DepartmentTree => "department_tree",
            Self::All => "all",
        }
    }
}

impl FromStr for DataScope {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

impl fmt::Display for DataScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name `{0}`")]
pub struct UnknownName(pub String);

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(UnknownName(s.to_owned())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

named_enum!(
    /// The kinds of record a permission can name.
    RecordKind {
        User => "user",
        Department => "department",
        Role => "role",
        Settings => "settings",
        Calendar => "calendar",
        Audit => "audit",
        Lead => "lead",
        Customer => "customer",
        Contact => "contact",
        Activity => "activity",
        Opportunity => "opportunity",
        Product => "product",
        Contract => "contract",
    }
);

named_enum!(
    /// What a user may do to a record kind.
    Action {
        View => "view",
        Create => "create",
        Edit => "edit",
        Delete => "delete",
        Export => "export",
        Approve => "approve",
    }
);

/// One cell of the permission matrix, written `kind.action` (e.g. `user.edit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub kind: RecordKind,
    pub action: Action,
}

impl Permission {
    pub const fn new(kind: RecordKind, action: Action) -> Self {
        Self { kind, action }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.action)
    }
}

impl FromStr for Permission {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, action) = s.split_once('.').ok_or_else(|| UnknownName(s.to_owned()))?;
        Ok(Self::new(kind.parse()?, action.parse()?))
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of permissions: the rows of a role's matrix, or the union over a user's roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    pub fn allows(&self, kind: RecordKind, action: Action) -> bool {
        self.0.contains(&Permission::new(kind, action))
    }
    pub fn insert(&mut self, p: Permission) {
        self.0.insert(p);
    }
    pub fn extend(&mut self, other: &PermissionSet) {
        self.0.extend(other.0.iter().copied());
    }
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Parses `kind.action` names, reporting the first unknown one.
    pub fn parse_all<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownName> {
        names
            .into_iter()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A role that ships with Stride (SPEC "Who uses it"): its code, default scope and matrix.
#[derive(Debug, Clone)]
pub struct BuiltinRole {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub scope: DataScope,
    pub permissions: PermissionSet,
}

/// The roles of SPEC with their default data scopes and permissions.
pub fn builtin_roles() -> Vec<BuiltinRole> {
    use Action::*;
    use RecordKind::*;
    let sales_kinds = [Lead, Customer, Contact, Activity, Opportunity];
    let grant = |kinds: &[RecordKind], actions: &[Action]| -> PermissionSet {
        kinds
            .iter()
            .flat_map(|k| actions.iter().map(move |a| Permission::new(*k, *a)))
            .collect()
    };
    let with = |mut a: PermissionSet, b: PermissionSet| {
        a.extend(&b);
        a
    };
    let directory = grant(&[User, Department], &[View]);
    let role = |code, zh, en, scope, permissions| BuiltinRole {
        code,
        name_zh: zh,
        name_en: en,
        scope,
        permissions,
    };
    let all_permissions: PermissionSet = RecordKind::ALL
        .iter()
        .flat_map(|k| Action::ALL.iter().map(move |a| Permission::new(*k, *a)))
        .collect();
    vec![
        role(
            "rep",
            "销售代表",
            "Sales rep",
            DataScope::Own,
            with(
                directory.clone(),
                with(
                    grant(&sales_kinds, &[View, Create, Edit, Export]),
                    // Reps see their deals' contracts, send them to review and record the
                    // signing; legal drafts them.
                    with(
                        grant(&[Product], &[View]),
                        grant(&[Contract], &[View, Edit]),
                    ),
                ),
            ),
        ),
        role(
            "supervisor",
            "区域销售主管",
            "Regional supervisor",
            DataScope::DepartmentTree,
            with(
                grant(&[User, Department, Audit], &[View, Export]),
                with(
                    grant(&sales_kinds, &[View, Create, Edit, Export, Approve]),
                    with(
                        grant(&[Product], &[View]),
                        grant(&[Contract], &[View, Edit, Export, Approve]),
                    ),
                ),
            ),
        ),
        role(
            "manager",
            "销售经理",
            "Sales manager",
            DataScope::DepartmentTree,
            with(
                grant(&[User, Department, Audit], &[View, Export]),
                grant(
                    &[
                        Lead,
                        Customer,
                        Contact,
                        Activity,
                        Opportunity,
                        Product,
                        Contract,
                    ],
                    &[View, Create, Edit, Delete, Export, Approve],
                ),
            ),
        ),
        role(
            "assistant",
            "销售助理",
            "Sales assistant",
            DataScope::Department,
            with(
                directory.clone(),
                grant(
                    &[Customer, Contact, Activity, Contract],
                    &[View, Create, Edit],
                ),
            ),
        ),
        role(
            "legal",
            "法务",
            "Legal",
            DataScope::Own,
            with(
                directory.clone(),
                grant(&[Contract], &[View, Create, Edit, Approve]),
            ),
        ),
        role(
            "finance",
            "财务",
            "Finance",
            DataScope::All,
            with(
                directory.clone(),
                grant(&[Customer, Contract], &[View, Export, Approve]),
            ),
        ),
        role(
            "expert",
            "产品专家 / 技术",
            "Product / technical expert",
            DataScope::Own,
            with(
                directory.clone(),
                grant(&[Opportunity, Product], &[View, Approve]),
            ),
        ),
        role(
            "delivery",
            "交付 / 运营",
            "Delivery",
            DataScope::Own,
            with(directory.clone(), grant(&[Contract, Customer], &[View])),
        ),
        role(
            "service",
            "客服",
            "Customer service",
            DataScope::Own,
            with(
                directory.clone(),
                grant(&[Customer, Contact, Activity], &[View, Create]),
            ),
        ),
        role(
            "leadership",
            "公司领导",
            "Leadership",
            DataScope::All,
            with(
                grant(
                    &[User, Department, Audit, Calendar, Settings],
                    &[View, Export],
                ),
                grant(
                    &[
                        Lead,
                        Customer,
                        Contact,
                        Activity,
                        Opportunity,
                        Product,
                        Contract,
                    ],
                    &[View, Export, Approve],
                ),
            ),
        ),
        role(
            "admin",
            "管理员",
            "Administrator",
            DataScope::All,
            all_permissions,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_round_trip() {
        for k in RecordKind::ALL {
            for a in Action::ALL {
                let p = Permission::new(*k, *a);
                assert_eq!(p.to_string().parse::<Permission>(), Ok(p));
            }
        }
        assert!("user.fly".parse::<Permission>().is_err());
        assert!("user".parse::<Permission>().is_err());
    }

    #[test]
    fn scopes_are_ordered_narrow_to_wide() {
        assert!(DataScope::Own < DataScope::Department);
        assert!(DataScope::DepartmentTree < DataScope::All);
        assert_eq!("department_tree".parse(), Ok(DataScope::DepartmentTree));
    }

    #[test]
    fn every_spec_role_ships_and_only_admin_manages_users() {
        let roles = builtin_roles();
        assert_eq!(roles.len(), 11);
        for r in &roles {
            let manages = r.permissions.allows(RecordKind::User, Action::Edit);
            assert_eq!(manages, r.code == "admin", "{}", r.code);
        }
    }
}
