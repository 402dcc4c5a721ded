//! Contracts, their milestones, number series and settings.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::contracts::{
    Contract, ContractData, ContractFilter, ContractState, ContractVisibility, NegotiatedDeal,
    NewContract, Signing,
};
use stride_app::jobs::JOB_BATCH;
use stride_app::page::PageRequest;
use stride_app::ports::{ContractReads, ContractWrites, StoreResult};
use stride_app::{Reach, StoreError};
use stride_domain::contracts::Milestone;

use crate::org::versioned;
use crate::sql::{col, Held, Sql};
use crate::store::SqlTx;
use crate::{Dialect, SqlStore};

type Result<T> = std::result::Result<T, StoreError>;

const COLUMNS: &str = "c.id, c.number, c.revision, c.root_id, c.customer_id, c.opportunity_id, c.title, \
    c.our_party, c.customer_party, c.amount_fen, c.lines, c.payment_terms, c.delivery_period, \
    c.acceptance_criteria, c.liability, c.confidentiality, c.ip_clause, c.status, c.owner_id, \
    c.department_id, c.drafted_by, c.signing_method, c.signed_on, c.customer_signatory, c.signed_at_ms, \
    c.archive_due_at_ms, c.archived_at_ms, c.scan_attachment_id, c.version, c.created_at_ms, c.updated_at_ms";

fn contract(row: &AnyRow, milestones: Vec<Milestone>) -> Result<Contract> {
    let id: i64 = col(row, "id")?;
    let lines: String = col(row, "lines")?;
    let status: String = col(row, "status")?;
    Ok(Contract {
        id,
        number: col(row, "number")?,
        revision: col(row, "revision")?,
        root_id: col::<Option<i64>>(row, "root_id")?.unwrap_or(id),
        customer_id: col(row, "customer_id")?,
        opportunity_id: col(row, "opportunity_id")?,
        data: ContractData {
            title: col(row, "title")?,
            our_party: col(row, "our_party")?,
            customer_party: col(row, "customer_party")?,
            amount_fen: col(row, "amount_fen")?,
            lines: serde_json::from_str(&lines)
                .map_err(|e| StoreError::Backend(format!("column lines: {e}")))?,
            milestones,
            payment_terms: col(row, "payment_terms")?,
            delivery_period: col(row, "delivery_period")?,
            acceptance_criteria: col(row, "acceptance_criteria")?,
            liability: col(row, "liability")?,
            confidentiality: col(row, "confidentiality")?,
            ip_clause: col(row, "ip_clause")?,
        },
        status: status
            .parse()
            .map_err(|_| StoreError::Backend(format!("column status: `{status}`")))?,
        owner_id: col(row, "owner_id")?,
        department_id: col(row, "department_id")?,
        drafted_by: col(row, "drafted_by")?,
        signing: Signing {
            signing_method: col(row, "signing_method")?,
            signed_on: col(row, "signed_on")?,
            customer_signatory: col(row, "customer_signatory")?,
            signed_at_ms: col(row, "signed_at_ms")?,
            archive_due_at_ms: col(row, "archive_due_at_ms")?,
            archived_at_ms: col(row, "archived_at_ms")?,
            scan_attachment_id: col(row, "scan_attachment_id")?,
        },
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

async fn milestones_of(conn: &mut AnyConnection, contract_id: i64) -> Result<Vec<Milestone>> {
    let mut q =
        Sql::new("SELECT name, due_on, amount_fen FROM contract_milestones WHERE contract_id = ");
    q.bind(contract_id).push(" ORDER BY position");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let due: String = col(r, "due_on")?;
            Ok(Milestone {
                name: col(r, "name")?,
                due_on: due
                    .parse()
                    .map_err(|_| StoreError::Backend(format!("column due_on: `{due}`")))?,
                amount_fen: col(r, "amount_fen")?,
            })
        })
        .collect()
}

async fn hydrate(conn: &mut AnyConnection, rows: Vec<AnyRow>) -> Result<Vec<Contract>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let ms = milestones_of(conn, col(row, "id")?).await?;
        out.push(contract(row, ms)?);
    }
    Ok(out)
}

/// Scope, drafter, and signed contracts shared with everyone who may view contracts.
fn visible(q: &mut Sql, seen: &ContractVisibility) {
    q.push("(");
    q.reach(&seen.reach, "c.owner_id", "c.department_id");
    q.push(" OR c.drafted_by = ").bind(seen.viewer_id);
    if seen.signed_shared {
        q.push(" OR c.status IN ('signed', 'archived', 'superseded')");
    }
    q.push(")");
}

async fn by_id(conn: &mut AnyConnection, id: i64, lock: bool) -> Result<Option<Contract>> {
    let mut q = Sql::new(&format!("SELECT {COLUMNS} FROM contracts c WHERE c.id = "));
    q.bind(id);
    if lock {
        q.push(" FOR UPDATE");
    }
    let rows: Vec<AnyRow> = q.fetch_optional(conn).await?.into_iter().collect();
    Ok(hydrate(conn, rows).await?.pop())
}

fn bind_data(q: &mut Sql, d: &ContractData) -> Result<()> {
    let lines = serde_json::to_string(&d.lines).map_err(|e| StoreError::Backend(e.to_string()))?;
    q.bind(d.title.clone())
        .push(", ")
        .bind(d.our_party.clone())
        .push(", ")
        .bind(d.customer_party.clone())
        .push(", ")
        .bind(d.amount_fen)
        .push(", ")
        .bind(lines)
        .push(", ")
        .bind(d.payment_terms.clone())
        .push(", ")
        .bind(d.delivery_period.clone())
        .push(", ")
        .bind(d.acceptance_criteria.clone())
        .push(", ")
        .bind(d.liability.clone())
        .push(", ")
        .bind(d.confidentiality.clone())
        .push(", ")
        .bind(d.ip_clause.clone());
    Ok(())
}

const DATA_FIELDS: &str = "title, our_party, customer_party, amount_fen, lines, payment_terms, \
    delivery_period, acceptance_criteria, liability, confidentiality, ip_clause";

async fn write_milestones(conn: &mut AnyConnection, id: i64, ms: &[Milestone]) -> Result<()> {
    let mut q = Sql::new("DELETE FROM contract_milestones WHERE contract_id = ");
    q.bind(id);
    q.execute(conn).await?;
    for (i, m) in ms.iter().enumerate() {
        let mut q = Sql::new(
            "INSERT INTO contract_milestones (contract_id, position, name, due_on, amount_fen) VALUES (",
        );
        q.bind(id)
            .push(", ")
            .bind(i as i64)
            .push(", ")
            .bind(m.name.clone())
            .push(", ")
            .bind(m.due_on.to_string())
            .push(", ")
            .bind(m.amount_fen)
            .push(")");
        q.execute(conn).await?;
    }
    Ok(())
}

#[async_trait]
impl ContractReads for SqlStore {
    async fn contracts(
        &self,
        seen: &ContractVisibility,
        f: &ContractFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Contract>> {
        let mut q = Sql::new(&format!("SELECT {COLUMNS} FROM contracts c WHERE "));
        visible(&mut q, seen);
        if let Some(id) = f.customer_id {
            q.push(" AND c.customer_id = ").bind(id);
        }
        if let Some(id) = f.opportunity_id {
            q.push(" AND c.opportunity_id = ").bind(id);
        }
        if let Some(status) = f.status {
            q.push(" AND c.status = ").bind(status.as_str());
        }
        if let Some(text) = &f.q {
            let pattern = format!(
                "%{}%",
                text.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            q.push(" AND (LOWER(c.number) LIKE ")
                .bind(pattern.clone())
                .push(" ESCAPE '\\' OR LOWER(c.title) LIKE ")
                .bind(pattern)
                .push(" ESCAPE '\\')");
        }
        if let Some(after) = page.after {
            q.push(" AND c.id < ").bind(after);
        }
        q.push(" ORDER BY c.id DESC LIMIT ")
            .bind(i64::from(page.limit) + 1);
        let mut conn = self.conn().await?;
        let rows = q.fetch_all(&mut conn).await?;
        hydrate(&mut conn, rows).await
    }

    async fn contract(&self, seen: &ContractVisibility, id: i64) -> StoreResult<Option<Contract>> {
        let mut q = Sql::new(&format!("SELECT {COLUMNS} FROM contracts c WHERE c.id = "));
        q.bind(id).push(" AND ");
        visible(&mut q, seen);
        let mut conn = self.conn().await?;
        let rows: Vec<AnyRow> = q.fetch_optional(&mut conn).await?.into_iter().collect();
        Ok(hydrate(&mut conn, rows).await?.pop())
    }

    async fn contract_revisions(&self, root_id: i64) -> StoreResult<Vec<Contract>> {
        let mut q = Sql::new(&format!("SELECT {COLUMNS} FROM contracts c WHERE c.id = "));
        q.bind(root_id)
            .push(" OR c.root_id = ")
            .bind(root_id)
            .push(" ORDER BY c.revision DESC");
        let mut conn = self.conn().await?;
        let rows = q.fetch_all(&mut conn).await?;
        hydrate(&mut conn, rows).await
    }

    async fn contract_number_pattern(&self) -> StoreResult<(String, i64)> {
        let q = Sql::new("SELECT number_pattern, version FROM contract_settings WHERE id = 1");
        let row = q.fetch_one(&mut *self.conn().await?).await?;
        Ok((col(&row, "number_pattern")?, col(&row, "version")?))
    }

    async fn negotiated_deal(
        &self,
        reach: &Reach,
        opportunity_id: i64,
    ) -> StoreResult<Option<NegotiatedDeal>> {
        let mut q = Sql::new(
            "SELECT o.id, o.name, o.customer_id, c.name AS customer_name, o.amount_fen, o.owner_id, \
             o.department_id FROM opportunities o JOIN customers c ON c.id = o.customer_id WHERE o.id = ",
        );
        q.bind(opportunity_id).push(" AND ");
        q.reach(reach, "o.owner_id", "o.department_id");
        q.fetch_optional(&mut *self.conn().await?)
            .await?
            .map(|r| {
                Ok(NegotiatedDeal {
                    opportunity_id: col(&r, "id")?,
                    name: col(&r, "name")?,
                    customer_id: col(&r, "customer_id")?,
                    customer_name: col(&r, "customer_name")?,
                    amount_fen: col(&r, "amount_fen")?,
                    owner_id: col(&r, "owner_id")?,
                    department_id: col(&r, "department_id")?,
                    intent: None,
                })
            })
            .transpose()
    }
}

#[async_trait]
impl ContractWrites for SqlTx {
    async fn next_contract_seq(&mut self, series: &str) -> StoreResult<i64> {
        // One statement both databases run atomically: PostgreSQL holds the series row until
        // the transaction ends, SQLite write transactions are serial.
        let mut q = Sql::new("INSERT INTO contract_number_series (series, last_seq) VALUES (");
        q.bind(series.to_owned()).push(
            ", 1) ON CONFLICT (series) DO UPDATE SET last_seq = contract_number_series.last_seq + 1 \
             RETURNING last_seq",
        );
        col(&q.fetch_one(self.conn().await?).await?, "last_seq")
    }

    async fn insert_contract(&mut self, c: &NewContract, now_ms: i64) -> StoreResult<Contract> {
        let mut q = Sql::new(&format!(
            "INSERT INTO contracts (number, revision, root_id, customer_id, opportunity_id, {DATA_FIELDS}, \
             status, owner_id, department_id, drafted_by, created_at_ms, updated_at_ms) VALUES ("
        ));
        q.bind(c.number.clone())
            .push(", ")
            .bind(c.revision)
            .push(", ")
            .bind(c.root_id)
            .push(", ")
            .bind(c.customer_id)
            .push(", ")
            .bind(c.opportunity_id)
            .push(", ");
        bind_data(&mut q, &c.data)?;
        q.push(", 'draft', ")
            .bind(c.owner_id)
            .push(", ")
            .bind(c.department_id)
            .push(", ")
            .bind(c.drafted_by)
            .push(", ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id");
        let id: i64 = col(&q.fetch_one(self.conn().await?).await?, "id")?;
        write_milestones(self.conn().await?, id, &c.data.milestones).await?;
        by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn set_contract_number(&mut self, id: i64, number: &str) -> StoreResult<()> {
        // Held for the commit's round trip: the number series stays locked until then.
        self.hold(Held::Update("contracts"), |q| {
            q.push("UPDATE contracts SET number = ")
                .bind(number.to_owned())
                .push(" WHERE id = ")
                .bind(id);
        })
        .await
    }

    async fn contract_for_update(&mut self, id: i64) -> StoreResult<Option<Contract>> {
        let lock = self.dialect == Dialect::Postgres;
        by_id(self.conn().await?, id, lock).await
    }

    async fn update_contract(
        &mut self,
        id: i64,
        version: i64,
        d: &ContractData,
        now_ms: i64,
    ) -> StoreResult<Contract> {
        let mut q = Sql::new(&format!("UPDATE contracts SET ({DATA_FIELDS}) = ("));
        bind_data(&mut q, d)?;
        q.push("), updated_at_ms = ")
            .bind(now_ms)
            .push(", version = version + 1 WHERE id = ")
            .bind(id)
            .push(" AND version = ")
            .bind(version);
        let n = q.execute(self.conn().await?).await?;
        versioned(self.conn().await?, n, "contracts", id).await?;
        write_milestones(self.conn().await?, id, &d.milestones).await?;
        by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn set_contract_state(
        &mut self,
        id: i64,
        s: &ContractState,
        now_ms: i64,
    ) -> StoreResult<Contract> {
        let g = &s.signing;
        let mut q = Sql::new("UPDATE contracts SET status = ");
        q.bind(s.status.as_str())
            .push(", signing_method = ")
            .bind(g.signing_method.clone())
            .push(", signed_on = ")
            .bind(g.signed_on.clone())
            .push(", customer_signatory = ")
            .bind(g.customer_signatory.clone())
            .push(", signed_at_ms = ")
            .bind(g.signed_at_ms)
            .push(", archive_due_at_ms = ")
            .bind(g.archive_due_at_ms)
            .push(", archived_at_ms = ")
            .bind(g.archived_at_ms)
            .push(", scan_attachment_id = ")
            .bind(g.scan_attachment_id)
            .push(", updated_at_ms = ")
            .bind(now_ms)
            .push(", version = version + 1 WHERE id = ")
            .bind(id);
        q.execute(self.conn().await?).await?;
        by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn set_contract_number_pattern(
        &mut self,
        pattern: &str,
        version: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut q = Sql::new("UPDATE contract_settings SET number_pattern = ");
        q.bind(pattern.to_owned())
            .push(", version = version + 1, updated_at_ms = ")
            .bind(now_ms)
            .push(" WHERE id = 1 AND version = ")
            .bind(version);
        if q.execute(self.conn().await?).await? == 0 {
            return Err(StoreError::Stale);
        }
        Ok(version + 1)
    }

    async fn attachment_on(&mut self, attachment_id: i64, contract_id: i64) -> StoreResult<bool> {
        let mut q = Sql::new(
            "SELECT COUNT(*) AS n FROM attachments WHERE record_kind = 'contract' AND id = ",
        );
        q.bind(attachment_id)
            .push(" AND record_id = ")
            .bind(contract_id);
        Ok(col::<i64>(&q.fetch_one(self.conn().await?).await?, "n")? > 0)
    }

    async fn claim_late_archives(
        &mut self,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, Option<i64>, String)>> {
        let mut q = Sql::new(
            "SELECT id, owner_id, drafted_by, number FROM contracts WHERE status = 'signed' \
             AND archive_flagged_at_ms IS NULL AND archive_due_at_ms < ",
        );
        q.bind(now_ms).push(" ORDER BY id LIMIT ").bind(JOB_BATCH);
        if self.dialect == Dialect::Postgres {
            q.push(" FOR UPDATE SKIP LOCKED");
        }
        let rows = q.fetch_all(self.conn().await?).await?;
        let mut late = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = col(r, "id")?;
            let mut u = Sql::new("UPDATE contracts SET archive_flagged_at_ms = ");
            u.bind(now_ms).push(" WHERE id = ").bind(id);
            u.execute(self.conn().await?).await?;
            late.push((
                id,
                col(r, "owner_id")?,
                col(r, "drafted_by")?,
                col(r, "number")?,
            ));
        }
        Ok(late)
    }
}
