//! Customers and contacts.

use std::collections::HashMap;
use std::time::Instant;

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::customers::{
    Contact, ContactData, CreditChange, Customer, CustomerData, CustomerFilter, DuplicateHit,
    MatchKeys, SearchHit, SearchKind,
};
use stride_app::page::PageRequest;
use stride_app::{Reach, StoreError};
use stride_domain::customers::{normalize_company_name, normalize_email, normalize_phone};

use crate::name_index::{bigrams, NameIndex, CONTACT_NAMES, CUSTOMER_NAMES, LEAD_NAMES};
use crate::search_counts::{Counted, ManyCounts};
use crate::sql::{col, Sql};
use crate::Dialect;

type Result<T> = std::result::Result<T, StoreError>;

const CUSTOMER_COLUMNS: &str = "SELECT id, name, industry, size, region, address, website, credit_code, \
    phone, email, needs, stage, tier, credit_rating, credit_limit_minor, owner_id, department_id, \
    last_activity_at_ms, next_follow_up_at_ms, version, created_at_ms, updated_at_ms FROM customers";

fn customer(row: &AnyRow) -> Result<Customer> {
    Ok(Customer {
        id: col(row, "id")?,
        data: CustomerData {
            name: col(row, "name")?,
            industry: col(row, "industry")?,
            size: col(row, "size")?,
            region: col(row, "region")?,
            address: col(row, "address")?,
            website: col(row, "website")?,
            credit_code: col(row, "credit_code")?,
            phone: col(row, "phone")?,
            email: col(row, "email")?,
            needs: col(row, "needs")?,
            stage: col(row, "stage")?,
            credit_rating: col(row, "credit_rating")?,
            credit_limit_minor: col(row, "credit_limit_minor")?,
            next_follow_up_at_ms: col(row, "next_follow_up_at_ms")?,
        },
        tier: col(row, "tier")?,
        owner_id: col(row, "owner_id")?,
        department_id: col(row, "department_id")?,
        last_activity_at_ms: col(row, "last_activity_at_ms")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

fn customer_reach(q: &mut Sql, reach: &Reach) {
    q.reach(reach, "owner_id", "department_id");
}

/// Escapes LIKE wildcards so a search for `50%` finds "50%", not everything.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

pub async fn customers(
    conn: &mut AnyConnection,
    reach: &Reach,
    f: &CustomerFilter,
    page: PageRequest,
) -> Result<Vec<Customer>> {
    let mut q = Sql::new(CUSTOMER_COLUMNS);
    q.push(" WHERE ");
    if f.pool {
        q.push("owner_id IS NULL");
    } else {
        customer_reach(&mut q, reach);
    }
    if let Some(owner) = f.owner_id {
        q.push(" AND owner_id = ").bind(owner);
    }
    if let Some(tier) = &f.tier {
        q.push(" AND tier = ").bind(tier.clone());
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q.push(" AND LOWER(name) LIKE ")
            .bind(like_pattern(text))
            .push(" ESCAPE '\\'");
    }
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(customer).collect()
}

pub async fn customer_by_id(
    conn: &mut AnyConnection,
    reach: &Reach,
    id: i64,
) -> Result<Option<Customer>> {
    let mut q = Sql::new(CUSTOMER_COLUMNS);
    q.push(" WHERE id = ").bind(id).push(" AND ");
    customer_reach(&mut q, reach);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(customer)
        .transpose()
}

pub async fn duplicates(
    conn: &mut AnyConnection,
    keys: &MatchKeys,
    except: Option<i64>,
) -> Result<Vec<DuplicateHit>> {
    let mut q = Sql::new("SELECT id, name, name_key, phone_key, email_key, credit_code FROM customers WHERE (name_key = ");
    q.bind(keys.name.clone());
    for (column, value) in [
        ("phone_key", &keys.phone),
        ("email_key", &keys.email),
        ("credit_code", &keys.credit_code),
    ] {
        if let Some(v) = value {
            q.push(" OR ").push(column).push(" = ").bind(v.clone());
        }
    }
    q.push(") AND id <> ")
        .bind(except.unwrap_or(0))
        .push(" ORDER BY id LIMIT 20");
    let mut hits = Vec::new();
    for row in q.fetch_all(conn).await? {
        let id: i64 = col(&row, "id")?;
        let name: String = col(&row, "name")?;
        let matches = [
            (
                "credit_code",
                keys.credit_code.is_some()
                    && col::<Option<String>>(&row, "credit_code")? == keys.credit_code,
            ),
            ("name", col::<String>(&row, "name_key")? == keys.name),
            (
                "phone",
                keys.phone.is_some() && col::<Option<String>>(&row, "phone_key")? == keys.phone,
            ),
            (
                "email",
                keys.email.is_some() && col::<Option<String>>(&row, "email_key")? == keys.email,
            ),
        ];
        for (field, matched) in matches {
            if matched {
                hits.push(DuplicateHit {
                    customer_id: id,
                    matched_on: field.into(),
                    name: Some(name.clone()),
                });
            }
        }
    }
    Ok(hits)
}

fn bind_customer_fields(q: &mut Sql, d: &CustomerData) {
    let keys = (
        normalize_company_name(&d.name),
        d.phone.as_deref().map(normalize_phone),
        d.email.as_deref().map(normalize_email),
    );
    q.bind(d.name.clone())
        .push(", ")
        .bind(keys.0)
        .push(", ")
        .bind(d.industry.clone())
        .push(", ");
    q.bind(d.size.clone())
        .push(", ")
        .bind(d.region.clone())
        .push(", ")
        .bind(d.address.clone())
        .push(", ");
    q.bind(d.website.clone())
        .push(", ")
        .bind(d.credit_code.clone())
        .push(", ")
        .bind(d.phone.clone())
        .push(", ");
    q.bind(keys.1)
        .push(", ")
        .bind(d.email.clone())
        .push(", ")
        .bind(keys.2)
        .push(", ");
    q.bind(d.needs.clone())
        .push(", ")
        .bind(d.stage.clone())
        .push(", ")
        .bind(d.credit_rating.clone())
        .push(", ");
    q.bind(d.credit_limit_minor)
        .push(", ")
        .bind(d.next_follow_up_at_ms);
}

const CUSTOMER_FIELDS: &str = "name, name_key, industry, size, region, address, website, credit_code, phone, \
    phone_key, email, email_key, needs, stage, credit_rating, credit_limit_minor, next_follow_up_at_ms";

pub async fn insert_customer(
    conn: &mut AnyConnection,
    d: &CustomerData,
    owner: Option<(i64, i64)>,
    now: i64,
) -> Result<Customer> {
    let mut q = Sql::new(&format!(
        "INSERT INTO customers ({CUSTOMER_FIELDS}, owner_id, department_id, owned_since_ms, \
         created_at_ms, updated_at_ms) VALUES ("
    ));
    bind_customer_fields(&mut q, d);
    q.push(", ").bind(owner.map(|o| o.0));
    q.push(", ").bind(owner.map(|o| o.1));
    q.push(", ").bind(owner.map(|_| now));
    q.push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(&mut *conn).await?, "id")?;
    customer_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn update_customer(
    conn: &mut AnyConnection,
    dialect: Dialect,
    id: i64,
    version: i64,
    d: &CustomerData,
    now: i64,
) -> Result<Customer> {
    // Rewrites every registration field in the order of CUSTOMER_FIELDS.
    let mut q = Sql::new("UPDATE customers SET (");
    q.push(CUSTOMER_FIELDS).push(") = (");
    bind_customer_fields(&mut q, d);
    q.push("), updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    q.push(" AND version = ").bind(version);
    CUSTOMER_NAMES
        .versioned_update(&mut *conn, dialect, (id, version), &d.name, q)
        .await?;
    customer_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn owned(conn: &mut AnyConnection, user_id: i64) -> Result<i64> {
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM customers WHERE owner_id = ");
    q.bind(user_id);
    col(&q.fetch_one(conn).await?, "n")
}

pub async fn assign(
    conn: &mut AnyConnection,
    id: i64,
    owner: Option<(i64, i64)>,
    only_if_unowned: bool,
    now: i64,
) -> Result<Option<Customer>> {
    // A new owner gets the full quiet period before the customer can drift back to the pool.
    let mut q = Sql::new("UPDATE customers SET pool_warned_at_ms = NULL, owner_id = ");
    q.bind(owner.map(|o| o.0));
    q.push(", department_id = ").bind(owner.map(|o| o.1));
    q.push(", owned_since_ms = ").bind(owner.map(|_| now));
    q.push(", updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    if only_if_unowned {
        q.push(" AND owner_id IS NULL");
    }
    if q.execute(conn).await? == 0 {
        return Ok(None);
    }
    customer_by_id(conn, &Reach::All, id).await
}

pub async fn transfer(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    to_department: i64,
    now: i64,
) -> Result<u64> {
    let mut q = Sql::new("UPDATE customers SET pool_warned_at_ms = NULL, owned_since_ms = ");
    q.bind(now).push(", owner_id = ").bind(to);
    q.push(", department_id = ")
        .bind(to_department)
        .push(", updated_at_ms = ")
        .bind(now);
    q.push(", version = version + 1 WHERE owner_id = ")
        .bind(from);
    q.execute(conn).await
}

// ---- contacts -------------------------------------------------------------------------------

const CONTACT_COLUMNS: &str =
    "SELECT id, customer_id, name, title, phone, email, wechat, decision_role, notes, \
    version, created_at_ms, updated_at_ms FROM contacts";

fn contact(row: &AnyRow) -> Result<Contact> {
    Ok(Contact {
        id: col(row, "id")?,
        customer_id: col(row, "customer_id")?,
        data: ContactData {
            name: col(row, "name")?,
            title: col(row, "title")?,
            phone: col(row, "phone")?,
            email: col(row, "email")?,
            wechat: col(row, "wechat")?,
            decision_role: col(row, "decision_role")?,
            notes: col(row, "notes")?,
        },
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

/// Contacts are reached through their customer: one rule, no copy of the owner to keep in step.
fn contact_reach(q: &mut Sql, reach: &Reach) {
    q.push("customer_id IN (SELECT id FROM customers WHERE ");
    customer_reach(q, reach);
    q.push(")");
}

pub async fn contacts(
    conn: &mut AnyConnection,
    reach: &Reach,
    customer_id: Option<i64>,
    page: PageRequest,
) -> Result<Vec<Contact>> {
    let mut q = Sql::new(CONTACT_COLUMNS);
    q.push(" WHERE ");
    contact_reach(&mut q, reach);
    if let Some(c) = customer_id {
        q.push(" AND customer_id = ").bind(c);
    }
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(contact).collect()
}

pub async fn contact_by_id(
    conn: &mut AnyConnection,
    reach: &Reach,
    id: i64,
) -> Result<Option<Contact>> {
    let mut q = Sql::new(CONTACT_COLUMNS);
    q.push(" WHERE id = ").bind(id).push(" AND ");
    contact_reach(&mut q, reach);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(contact)
        .transpose()
}

fn bind_contact_fields(q: &mut Sql, d: &ContactData) {
    q.bind(d.name.clone())
        .push(", ")
        .bind(d.title.clone())
        .push(", ")
        .bind(d.phone.clone())
        .push(", ");
    q.bind(d.phone.as_deref().map(normalize_phone))
        .push(", ")
        .bind(d.email.clone())
        .push(", ");
    q.bind(d.email.as_deref().map(normalize_email))
        .push(", ")
        .bind(d.wechat.clone())
        .push(", ");
    q.bind(d.decision_role.clone())
        .push(", ")
        .bind(d.notes.clone());
}

const CONTACT_FIELDS: &str =
    "name, title, phone, phone_key, email, email_key, wechat, decision_role, notes";

pub async fn insert_contact(
    conn: &mut AnyConnection,
    customer_id: i64,
    d: &ContactData,
    now: i64,
) -> Result<Contact> {
    let mut q = Sql::new(&format!("INSERT INTO contacts (customer_id, {CONTACT_FIELDS}, created_at_ms, updated_at_ms) VALUES ("));
    q.bind(customer_id).push(", ");
    bind_contact_fields(&mut q, d);
    q.push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(&mut *conn).await?, "id")?;
    contact_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn update_contact(
    conn: &mut AnyConnection,
    dialect: Dialect,
    id: i64,
    version: i64,
    d: &ContactData,
    now: i64,
) -> Result<Contact> {
    let mut q = Sql::new("UPDATE contacts SET (");
    q.push(CONTACT_FIELDS).push(") = (");
    bind_contact_fields(&mut q, d);
    q.push("), updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    q.push(" AND version = ").bind(version);
    CONTACT_NAMES
        .versioned_update(&mut *conn, dialect, (id, version), &d.name, q)
        .await?;
    contact_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

// ---- search ---------------------------------------------------------------------------------

/// One kind of record the search box finds: where its rows, names and bigrams are, and how the
/// caller's scope applies to it.
struct Searched {
    kind: SearchKind,
    /// `id, title, detail, customer_id`, unqualified: the bigram table has none of them.
    columns: &'static str,
    /// Its table, name column and bigram table.
    names: &'static NameIndex,
    /// The scope as a condition on the rows of `table`, for reading the scope.
    reach: fn(&mut Sql, &Reach),
    /// The scope checked row by row, for reading a bigram's records.
    probe_reach: fn(&mut Sql, &Reach),
    /// Where the records in scope are counted: contacts by their customers, which is cheap
    /// and close enough (two contacts a customer or so) to choose a side.
    count_from: &'static str,
    count_reach: fn(&mut Sql, &Reach),
}

const CUSTOMERS: Searched = Searched {
    kind: SearchKind::Customer,
    columns: "id, name AS title, COALESCE(phone, email) AS detail, id AS customer_id",
    names: &CUSTOMER_NAMES,
    reach: customer_reach,
    probe_reach: customer_reach,
    count_from: "customers",
    count_reach: customer_reach,
};

const CONTACTS: Searched = Searched {
    kind: SearchKind::Contact,
    columns: "id, name AS title, COALESCE(phone, email) AS detail, customer_id",
    names: &CONTACT_NAMES,
    reach: contact_reach,
    probe_reach: contact_customer_in_reach,
    count_from: "customers",
    count_reach: customer_reach,
};

const LEADS: Searched = Searched {
    kind: SearchKind::Lead,
    columns: "id, company AS title, contact_name AS detail, customer_id",
    names: &LEAD_NAMES,
    reach: lead_reach,
    probe_reach: lead_reach,
    count_from: "leads",
    count_reach: lead_reach,
};

/// The contact's customer is in scope, checked for the one row (`contact_reach` lists the
/// customers in scope first, which for a team means tens of thousands).
fn contact_customer_in_reach(q: &mut Sql, reach: &Reach) {
    q.push("EXISTS (SELECT 1 FROM customers c WHERE c.id = customer_id AND ");
    q.reach(reach, "c.owner_id", "c.department_id");
    q.push(")");
}

fn lead_reach(q: &mut Sql, reach: &Reach) {
    q.reach(reach, "owner_id", "department_id");
}

fn searched(kind: SearchKind) -> &'static Searched {
    match kind {
        SearchKind::Customer => &CUSTOMERS,
        SearchKind::Contact => &CONTACTS,
        SearchKind::Lead => &LEADS,
    }
}

/// Both sides of the choice below are counted up to this: enough to tell a handful from many.
const SEARCH_COUNT_CAP: i64 = 1000;
/// Bigrams of the words counted to find the rarest.
const SEARCH_GRAMS_COUNTED: usize = 4;

/// The records of `kinds` in scope whose name, e-mail key or phone key contains `text` (a
/// substring, so 华为 finds 华为技术有限公司; phones match on digits): up to `limit` of each kind,
/// newest first, grouped by kind in the order given. Two statements at most: the counts that
/// choose each kind's read, then all the reads as one `UNION ALL`.
///
/// Words that can only match names (any non-ASCII character, fewer than three digits) may be
/// read through the names' bigrams (migration `0021_name_bigrams`): the records holding the
/// rarest bigram of the words, newest first, each checked for scope and the full match. That
/// wins when the bigram is rarer than the records in scope (a manager's team and an uncommon
/// word); the scope is read instead when it is the smaller side (a rep's own customers).
pub async fn search(
    conn: &mut AnyConnection,
    dialect: Dialect,
    many: &ManyCounts,
    reach: &Reach,
    kinds: &[SearchKind],
    text: &str,
    limit: i64,
) -> Result<Vec<SearchHit>> {
    let kinds: Vec<&Searched> = kinds.iter().map(|k| searched(*k)).collect();
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let names_only = can_match_only_names(text);
    let grams = if names_only {
        bigrams(text)
    } else {
        Vec::new()
    };
    let paths = if grams.is_empty() {
        vec![SearchPath::Scope; kinds.len()]
    } else {
        cheaper_paths(&mut *conn, many, &kinds, reach, &grams).await?
    };
    let mut q = Sql::new("");
    let mut parts = 0;
    for (s, path) in kinds.iter().zip(&paths) {
        if *path == SearchPath::Nothing {
            continue;
        }
        if parts > 0 {
            q.push(" UNION ALL ");
        }
        q.push("SELECT * FROM (");
        let read = SearchRead {
            s,
            text,
            names_only,
            limit,
        };
        match (path, dialect) {
            (SearchPath::Gram(gram), Dialect::Sqlite) => {
                read.through_gram_sqlite(&mut q, reach, gram)
            }
            (SearchPath::Gram(gram), Dialect::Postgres) => {
                read.through_gram_postgres(&mut q, reach, gram)
            }
            _ => read.through_scope(&mut q, reach),
        }
        q.push(&format!(") s{parts}"));
        parts += 1;
    }
    if parts == 0 {
        return Ok(Vec::new());
    }
    let mut hits = q
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let kind: String = col(r, "kind")?;
            let rank = kinds
                .iter()
                .position(|s| s.kind.as_str() == kind)
                .ok_or_else(|| StoreError::Backend(format!("search read a {kind}")))?;
            let hit = SearchHit {
                kind: kinds[rank].kind,
                id: col(r, "id")?,
                title: col(r, "title")?,
                detail: col(r, "detail")?,
                customer_id: col(r, "customer_id")?,
            };
            Ok((rank, hit))
        })
        .collect::<Result<Vec<_>>>()?;
    // A `UNION ALL` promises no order of its own: the kinds in the order asked, newest first.
    hits.sort_by_key(|(rank, hit)| (*rank, std::cmp::Reverse(hit.id)));
    Ok(hits.into_iter().map(|(_, hit)| hit).collect())
}

/// One kind's newest `limit` matches of `text`, read through the scope or a bigram.
struct SearchRead<'a> {
    s: &'a Searched,
    text: &'a str,
    names_only: bool,
    limit: i64,
}

impl SearchRead<'_> {
    fn through_scope(&self, q: &mut Sql, reach: &Reach) {
        let s = self.s;
        self.select_kind(q);
        q.push(s.columns).push(" FROM ").push(s.names.table);
        q.push(" WHERE ");
        self.matching(q, s.reach, reach);
        q.push(" ORDER BY id DESC LIMIT ").bind(self.limit);
    }

    /// `CROSS JOIN`: SQLite keeps the bigram table as the outer loop, read in id order, and
    /// stops at the limit.
    fn through_gram_sqlite(&self, q: &mut Sql, reach: &Reach, gram: &str) {
        let s = self.s;
        self.select_kind(q);
        q.push(s.columns).push(" FROM ").push(s.names.bigrams);
        q.push(" g CROSS JOIN ").push(s.names.table);
        q.push(" WHERE id = g.record_id AND g.gram = ")
            .bind(gram.to_owned())
            .push(" AND ");
        self.matching(q, s.probe_reach, reach);
        q.push(" ORDER BY g.record_id DESC LIMIT ").bind(self.limit);
    }

    /// PostgreSQL reorders a `CROSS JOIN`, and underestimates how many names a `LIKE '%…%'`
    /// keeps, so it would read the whole scope and sort. The counts already chose the bigram
    /// as the smaller side: a `LATERAL` probe (kept apart by `OFFSET 0`) makes it the outer
    /// loop, read newest first, stopping at the limit.
    fn through_gram_postgres(&self, q: &mut Sql, reach: &Reach, gram: &str) {
        let s = self.s;
        self.select_kind(q);
        q.push("x.* FROM (SELECT record_id FROM ")
            .push(s.names.bigrams);
        q.push(" WHERE gram = ")
            .bind(gram.to_owned())
            .push(" ORDER BY record_id DESC) g CROSS JOIN LATERAL (SELECT ");
        q.push(s.columns).push(" FROM ").push(s.names.table);
        q.push(" WHERE id = g.record_id AND ");
        self.matching(q, s.probe_reach, reach);
        q.push(" OFFSET 0) x ORDER BY g.record_id DESC LIMIT ")
            .bind(self.limit);
    }

    /// `SELECT '<kind>' AS kind, `: the rows of the `UNION ALL` say which kind they are.
    fn select_kind(&self, q: &mut Sql) {
        q.push("SELECT '")
            .push(self.s.kind.as_str())
            .push("' AS kind, ");
    }

    /// The scope, checked by `in_reach`, and the words.
    fn matching(&self, q: &mut Sql, in_reach: fn(&mut Sql, &Reach), reach: &Reach) {
        in_reach(q, reach);
        push_match_on(q, self.s.names.column, self.text, self.names_only);
    }
}

/// Words with a character beyond ASCII and fewer than three digits are taken as names only:
/// e-mail keys are searched by ASCII words, phone keys by three digits or more.
fn can_match_only_names(text: &str) -> bool {
    !text.is_ascii() && normalize_phone(text).len() < 3
}

/// How one kind's matches are read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SearchPath {
    /// The records in scope, newest first, each matched.
    Scope,
    /// The records holding this bigram, newest first, each checked for scope and matched.
    Gram(String),
    /// No name holds one of the bigrams: nothing can match.
    Nothing,
}

/// For each of `kinds`: the rarest of (the first few of) `grams` among its names when it is no
/// more common than the records in `reach`, else the scope. One statement counts every side,
/// each count capped, but for the sides `many` has kept at the cap.
async fn cheaper_paths(
    conn: &mut AnyConnection,
    many: &ManyCounts,
    kinds: &[&Searched],
    reach: &Reach,
    grams: &[String],
) -> Result<Vec<SearchPath>> {
    let counted = &grams[..grams.len().min(SEARCH_GRAMS_COUNTED)];
    let now = Instant::now();
    // Each side once, by its column in the statement.
    let mut sides: Vec<(Counted, String)> = Vec::new();
    for s in kinds {
        let side = Counted::Reach(s.count_from, reach.clone());
        if !sides.iter().any(|(seen, _)| *seen == side) {
            sides.push((side, format!("reach_{}", s.count_from)));
        }
        for (i, gram) in counted.iter().enumerate() {
            let side = Counted::Gram(s.names.bigrams, gram.clone());
            sides.push((side, format!("{}_g{i}", s.kind.as_str())));
        }
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    let mut q = Sql::new("SELECT ");
    let mut asked = Vec::new();
    for (side, column) in &sides {
        if many.is_many(side, now) {
            counts.insert(column, SEARCH_COUNT_CAP);
            continue;
        }
        if !asked.is_empty() {
            q.push(", ");
        }
        q.push("(SELECT COUNT(*) FROM (SELECT 1 FROM ");
        match side {
            Counted::Reach(table, _) => {
                let s = kinds
                    .iter()
                    .find(|s| s.count_from == *table)
                    .ok_or_else(|| StoreError::Backend(format!("no search counts {table}")))?;
                q.push(table).push(" WHERE ");
                (s.count_reach)(&mut q, reach);
            }
            Counted::Gram(bigrams, gram) => {
                q.push(bigrams).push(" WHERE gram = ").bind(gram.clone());
            }
        }
        q.push(" LIMIT ")
            .bind(SEARCH_COUNT_CAP)
            .push(&format!(") c) AS {column}"));
        asked.push((side, column));
    }
    if !asked.is_empty() {
        let row = q.fetch_one(conn).await?;
        for (side, column) in asked {
            let n: i64 = col(&row, column)?;
            if n >= SEARCH_COUNT_CAP {
                many.keep(side.clone(), now);
            }
            counts.insert(column, n);
        }
    }
    let count = |column: &str| {
        counts
            .get(column)
            .copied()
            .ok_or_else(|| StoreError::Backend(format!("search count {column} missing")))
    };
    kinds
        .iter()
        .map(|s| {
            let in_reach = count(&format!("reach_{}", s.count_from))?;
            let mut rarest: Option<(i64, &String)> = None;
            for (i, gram) in counted.iter().enumerate() {
                let n = count(&format!("{}_g{i}", s.kind.as_str()))?;
                if rarest.is_none_or(|(least, _)| n < least) {
                    rarest = Some((n, gram));
                }
            }
            Ok(match rarest {
                Some((0, _)) => SearchPath::Nothing,
                Some((n, gram)) if n <= in_reach => SearchPath::Gram(gram.clone()),
                _ => SearchPath::Scope,
            })
        })
        .collect()
}

/// Matches `name_column`, or unless the words can match only names, the e-mail key or (three
/// digits or more) the phone key.
fn push_match_on(q: &mut Sql, name_column: &str, text: &str, names_only: bool) {
    q.push(" AND (LOWER(")
        .push(name_column)
        .push(") LIKE ")
        .bind(like_pattern(text))
        .push(" ESCAPE '\\'");
    if names_only {
        q.push(")");
        return;
    }
    q.push(" OR email_key LIKE ")
        .bind(like_pattern(&normalize_email(text)))
        .push(" ESCAPE '\\'");
    let digits = normalize_phone(text);
    if digits.len() >= 3 {
        q.push(" OR phone_key LIKE ")
            .bind(like_pattern(&digits))
            .push(" ESCAPE '\\'");
    }
    q.push(")");
}

pub async fn merge(conn: &mut AnyConnection, from: i64, into: i64, now: i64) -> Result<()> {
    for table in [
        "contacts",
        "activities",
        "leads",
        "customer_tiers",
        "customer_credit_history",
        "opportunities",
    ] {
        let mut q = Sql::new("UPDATE ");
        q.push(table)
            .push(" SET customer_id = ")
            .bind(into)
            .push(" WHERE customer_id = ")
            .bind(from);
        q.execute(conn).await?;
    }
    let mut q = Sql::new("UPDATE customers SET version = version + 1, updated_at_ms = ");
    q.bind(now).push(" WHERE id = ").bind(into);
    q.execute(conn).await?;
    let mut q = Sql::new("DELETE FROM customers WHERE id = ");
    q.bind(from).push(" RETURNING name");
    if let Some(row) = q.fetch_optional(&mut *conn).await? {
        CUSTOMER_NAMES
            .remove(conn, from, &col::<String>(&row, "name")?)
            .await?;
    }
    Ok(())
}

// ---- credit history (CUST-5) ----------------------------------------------------------------

pub async fn record_credit_change(conn: &mut AnyConnection, c: &CreditChange) -> Result<()> {
    let mut q = Sql::new(
        "INSERT INTO customer_credit_history (customer_id, rating_before, rating_after, \
         limit_before_minor, limit_after_minor, changed_by, reason, at_ms) VALUES (",
    );
    q.bind(c.customer_id)
        .push(", ")
        .bind(c.rating_before.clone())
        .push(", ")
        .bind(c.rating_after.clone())
        .push(", ");
    q.bind(c.limit_before_minor)
        .push(", ")
        .bind(c.limit_after_minor)
        .push(", ")
        .bind(c.changed_by)
        .push(", ");
    q.bind(c.reason.clone()).push(", ").bind(c.at_ms).push(")");
    q.execute(conn).await.map(drop)
}

pub async fn set_credit(
    conn: &mut AnyConnection,
    id: i64,
    rating: Option<&str>,
    limit_minor: i64,
    now: i64,
) -> Result<()> {
    let mut q = Sql::new("UPDATE customers SET credit_rating = ");
    q.bind(rating.map(str::to_owned))
        .push(", credit_limit_minor = ")
        .bind(limit_minor);
    q.push(", version = version + 1, updated_at_ms = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    q.execute(conn).await.map(drop)
}

pub async fn credit_history(
    conn: &mut AnyConnection,
    customer_id: i64,
) -> Result<Vec<CreditChange>> {
    let mut q = Sql::new(
        "SELECT customer_id, rating_before, rating_after, limit_before_minor, limit_after_minor, \
         changed_by, reason, at_ms FROM customer_credit_history WHERE customer_id = ",
    );
    q.bind(customer_id).push(" ORDER BY id DESC");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(CreditChange {
                customer_id: col(r, "customer_id")?,
                rating_before: col(r, "rating_before")?,
                rating_after: col(r, "rating_after")?,
                limit_before_minor: col(r, "limit_before_minor")?,
                limit_after_minor: col(r, "limit_after_minor")?,
                changed_by: col(r, "changed_by")?,
                reason: col(r, "reason")?,
                at_ms: col(r, "at_ms")?,
            })
        })
        .collect()
}
