//! The sales stages' documents: needs analyses, proposals, presentations, objections and
//! letters of intent. What people wrote is a JSON `body`; the columns beside it are what rules,
//! jobs and the stage gates query.

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::jobs::JOB_BATCH;
use stride_app::ports::{StageDocumentReads, StageDocumentWrites, StoreResult};
use stride_app::stage_documents::{
    Confirmation, LateReport, LetterOfIntent, LetterOfIntentData, NeedsAnalysis, NewNeedsAnalysis,
    Objection, ObjectionData, Presentation, PresentationData, Proposal, ProposalData,
};
use stride_app::StoreError;
use stride_domain::opportunities::GateFacts;
use stride_domain::stage_documents::ProposalStatus;

use crate::org::versioned;
use crate::sql::{col, flag, Sql};
use crate::store::SqlTx;
use crate::{Dialect, SqlStore};

type Result<T> = std::result::Result<T, StoreError>;

fn to_body(v: &impl Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

fn body<T: DeserializeOwned>(row: &AnyRow) -> Result<T> {
    let text: String = col(row, "body")?;
    serde_json::from_str(&text).map_err(|e| StoreError::Backend(format!("column body: {e}")))
}

fn parsed<T: std::str::FromStr>(row: &AnyRow, name: &str) -> Result<T> {
    let text: String = col(row, name)?;
    text.parse()
        .map_err(|_| StoreError::Backend(format!("column {name}: `{text}`")))
}

/// What the gates know: the newest needs analysis revision confirmed, the newest proposal
/// version approved, the newest letter of intent revision signed.
pub(crate) async fn gate_facts(conn: &mut AnyConnection, opportunity_id: i64) -> Result<GateFacts> {
    let mut q = Sql::new(
        "SELECT (SELECT CASE WHEN n.confirmed_at_ms IS NULL THEN 0 ELSE 1 END FROM needs_analyses n \
           WHERE n.opportunity_id = ",
    );
    q.bind(opportunity_id)
        .push(" ORDER BY n.revision DESC LIMIT 1) AS needs, (SELECT CASE WHEN p.status = 'approved' THEN 1 ELSE 0 END FROM proposals p WHERE p.opportunity_id = ")
        .bind(opportunity_id)
        .push(" ORDER BY p.version_no DESC LIMIT 1) AS proposal, (SELECT l.signed FROM letters_of_intent l WHERE l.opportunity_id = ")
        .bind(opportunity_id)
        .push(" ORDER BY l.revision DESC LIMIT 1) AS letter");
    let row = q.fetch_one(conn).await?;
    let holds =
        |name: &str| -> Result<bool> { Ok(col::<Option<i64>>(&row, name)?.unwrap_or(0) != 0) };
    Ok(GateFacts {
        needs_analysis_confirmed: holds("needs")?,
        proposal_approved: holds("proposal")?,
        letter_of_intent_signed: holds("letter")?,
    })
}

// ---- needs analyses -----------------------------------------------------------------------

const NEEDS_COLUMNS: &str = "id, opportunity_id, revision, body, meeting_at_ms, send_due_at_ms, \
    sent_at_ms, confirmed_at_ms, confirmed_by_name, confirmation_method, confirmation_comment, \
    confirmation_recorded_by, created_by, created_at_ms";

fn needs_analysis(row: &AnyRow) -> Result<NeedsAnalysis> {
    let confirmed_at: Option<i64> = col(row, "confirmed_at_ms")?;
    let confirmation = match confirmed_at {
        Some(at_ms) => Some(Confirmation {
            signer_name: col::<Option<String>>(row, "confirmed_by_name")?.unwrap_or_default(),
            method: col::<Option<String>>(row, "confirmation_method")?.unwrap_or_default(),
            comment: col(row, "confirmation_comment")?,
            recorded_by: col(row, "confirmation_recorded_by")?,
            at_ms,
        }),
        None => None,
    };
    Ok(NeedsAnalysis {
        id: col(row, "id")?,
        opportunity_id: col(row, "opportunity_id")?,
        revision: col(row, "revision")?,
        data: body(row)?,
        meeting_at_ms: col(row, "meeting_at_ms")?,
        send_due_at_ms: col(row, "send_due_at_ms")?,
        sent_at_ms: col(row, "sent_at_ms")?,
        confirmation,
        created_by: col(row, "created_by")?,
        created_at_ms: col(row, "created_at_ms")?,
    })
}

async fn needs_analysis_by_id(conn: &mut AnyConnection, id: i64) -> Result<NeedsAnalysis> {
    let mut q = Sql::new(&format!(
        "SELECT {NEEDS_COLUMNS} FROM needs_analyses WHERE id = "
    ));
    q.bind(id);
    needs_analysis(&q.fetch_one(conn).await?)
}

// ---- proposals ----------------------------------------------------------------------------

const PROPOSAL_COLUMNS: &str =
    "id, opportunity_id, version_no, body, status, created_by, version, created_at_ms, updated_at_ms";

fn proposal(row: &AnyRow) -> Result<Proposal> {
    Ok(Proposal {
        id: col(row, "id")?,
        opportunity_id: col(row, "opportunity_id")?,
        version_no: col(row, "version_no")?,
        data: body(row)?,
        status: parsed(row, "status")?,
        created_by: col(row, "created_by")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

async fn proposal_by_id(conn: &mut AnyConnection, id: i64, lock: bool) -> Result<Option<Proposal>> {
    let mut q = Sql::new(&format!(
        "SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE id = "
    ));
    q.bind(id);
    if lock {
        q.push(" FOR UPDATE");
    }
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(proposal)
        .transpose()
}

fn presentation(row: &AnyRow) -> Result<Presentation> {
    Ok(Presentation {
        id: col(row, "id")?,
        proposal_id: col(row, "proposal_id")?,
        data: body(row)?,
        created_by: col(row, "created_by")?,
        created_at_ms: col(row, "created_at_ms")?,
    })
}

// ---- objections ---------------------------------------------------------------------------

/// What the body of an objection holds; kind and resolved are columns.
#[derive(Serialize, Deserialize)]
struct ObjectionText {
    customer_said: String,
    answer: Option<String>,
}

const OBJECTION_COLUMNS: &str =
    "id, opportunity_id, kind, body, resolved, created_by, version, created_at_ms, updated_at_ms";

fn objection(row: &AnyRow) -> Result<Objection> {
    let text: ObjectionText = body(row)?;
    Ok(Objection {
        id: col(row, "id")?,
        opportunity_id: col(row, "opportunity_id")?,
        data: ObjectionData {
            kind: parsed(row, "kind")?,
            customer_said: text.customer_said,
            answer: text.answer,
            resolved: flag(row, "resolved")?,
        },
        created_by: col(row, "created_by")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

fn objection_body(d: &ObjectionData) -> Result<String> {
    to_body(&ObjectionText {
        customer_said: d.customer_said.clone(),
        answer: d.answer.clone(),
    })
}

async fn objection_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Objection>> {
    let mut q = Sql::new(&format!(
        "SELECT {OBJECTION_COLUMNS} FROM objections WHERE id = "
    ));
    q.bind(id);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(objection)
        .transpose()
}

// ---- letters of intent --------------------------------------------------------------------

const LETTER_COLUMNS: &str = "id, opportunity_id, revision, body, created_by, created_at_ms";

fn letter(row: &AnyRow) -> Result<LetterOfIntent> {
    Ok(LetterOfIntent {
        id: col(row, "id")?,
        opportunity_id: col(row, "opportunity_id")?,
        revision: col(row, "revision")?,
        data: body(row)?,
        created_by: col(row, "created_by")?,
        created_at_ms: col(row, "created_at_ms")?,
    })
}

async fn all_of<T>(
    conn: &mut AnyConnection,
    columns: &str,
    table: &str,
    parent_column: &str,
    parent: i64,
    order: &str,
    read: fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut q = Sql::new(&format!(
        "SELECT {columns} FROM {table} WHERE {parent_column} = "
    ));
    q.bind(parent).push(" ORDER BY ").push(order);
    q.fetch_all(conn).await?.iter().map(read).collect()
}

#[async_trait]
impl StageDocumentReads for SqlStore {
    async fn needs_analyses(&self, opportunity_id: i64) -> StoreResult<Vec<NeedsAnalysis>> {
        let conn = &mut *self.conn().await?;
        all_of(
            conn,
            NEEDS_COLUMNS,
            "needs_analyses",
            "opportunity_id",
            opportunity_id,
            "revision DESC",
            needs_analysis,
        )
        .await
    }
    async fn needs_analysis_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<NeedsAnalysis>> {
        let mut q = Sql::new(&format!(
            "SELECT {NEEDS_COLUMNS} FROM needs_analyses WHERE token_hash = "
        ));
        q.bind(token_hash.to_owned());
        q.fetch_optional(&mut *self.conn().await?)
            .await?
            .as_ref()
            .map(needs_analysis)
            .transpose()
    }
    async fn proposals(&self, opportunity_id: i64) -> StoreResult<Vec<Proposal>> {
        let conn = &mut *self.conn().await?;
        all_of(
            conn,
            PROPOSAL_COLUMNS,
            "proposals",
            "opportunity_id",
            opportunity_id,
            "version_no DESC",
            proposal,
        )
        .await
    }
    async fn proposal(&self, id: i64) -> StoreResult<Option<Proposal>> {
        proposal_by_id(&mut *self.conn().await?, id, false).await
    }
    async fn presentations(&self, proposal_id: i64) -> StoreResult<Vec<Presentation>> {
        let conn = &mut *self.conn().await?;
        all_of(
            conn,
            "id, proposal_id, body, created_by, created_at_ms",
            "proposal_presentations",
            "proposal_id",
            proposal_id,
            "id",
            presentation,
        )
        .await
    }
    async fn objections(&self, opportunity_id: i64) -> StoreResult<Vec<Objection>> {
        let conn = &mut *self.conn().await?;
        all_of(
            conn,
            OBJECTION_COLUMNS,
            "objections",
            "opportunity_id",
            opportunity_id,
            "id",
            objection,
        )
        .await
    }
    async fn objection(&self, id: i64) -> StoreResult<Option<Objection>> {
        objection_by_id(&mut *self.conn().await?, id).await
    }
    async fn letters_of_intent(&self, opportunity_id: i64) -> StoreResult<Vec<LetterOfIntent>> {
        let conn = &mut *self.conn().await?;
        all_of(
            conn,
            LETTER_COLUMNS,
            "letters_of_intent",
            "opportunity_id",
            opportunity_id,
            "revision DESC",
            letter,
        )
        .await
    }
}

#[async_trait]
impl StageDocumentWrites for SqlTx {
    async fn insert_needs_analysis(
        &mut self,
        n: &NewNeedsAnalysis,
        now_ms: i64,
    ) -> StoreResult<NeedsAnalysis> {
        let mut q = Sql::new(
            "INSERT INTO needs_analyses (opportunity_id, revision, body, meeting_at_ms, send_due_at_ms, \
             created_by, created_at_ms) VALUES (",
        );
        q.bind(n.opportunity_id)
            .push(", ")
            .bind(n.revision)
            .push(", ")
            .bind(to_body(&n.data)?)
            .push(", ")
            .bind(n.meeting_at_ms)
            .push(", ")
            .bind(n.send_due_at_ms)
            .push(", ")
            .bind(n.created_by)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id");
        let id: i64 = col(&q.fetch_one(self.conn().await?).await?, "id")?;
        needs_analysis_by_id(self.conn().await?, id).await
    }
    async fn set_needs_analysis_sent(
        &mut self,
        id: i64,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        // The first sending counts for the deadline; a resend only replaces the link.
        let mut q = Sql::new("UPDATE needs_analyses SET token_hash = ");
        q.bind(token_hash.to_owned())
            .push(", sent_at_ms = COALESCE(sent_at_ms, ")
            .bind(now_ms)
            .push(") WHERE id = ")
            .bind(id);
        match q.execute(self.conn().await?).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
    async fn confirm_needs_analysis(&mut self, id: i64, c: &Confirmation) -> StoreResult<bool> {
        let mut q = Sql::new("UPDATE needs_analyses SET confirmed_at_ms = ");
        q.bind(c.at_ms)
            .push(", confirmed_by_name = ")
            .bind(c.signer_name.clone())
            .push(", confirmation_method = ")
            .bind(c.method.clone())
            .push(", confirmation_comment = ")
            .bind(c.comment.clone())
            .push(", confirmation_recorded_by = ")
            .bind(c.recorded_by)
            .push(" WHERE confirmed_at_ms IS NULL AND id = ")
            .bind(id);
        Ok(q.execute(self.conn().await?).await? > 0)
    }
    async fn claim_late_needs_analyses(&mut self, now_ms: i64) -> StoreResult<Vec<LateReport>> {
        let mut q = Sql::new(
            "SELECT n.id, n.opportunity_id, o.owner_id, o.name FROM needs_analyses n JOIN opportunities o ON o.id = n.opportunity_id \
             WHERE n.late_notified = 0 AND n.sent_at_ms IS NULL AND n.send_due_at_ms < ",
        );
        q.bind(now_ms).push(
            " AND n.revision = (SELECT MAX(m.revision) FROM needs_analyses m WHERE m.opportunity_id = n.opportunity_id) \
             ORDER BY n.id LIMIT ",
        )
        .bind(JOB_BATCH);
        if self.dialect == Dialect::Postgres {
            q.push(" FOR UPDATE OF n SKIP LOCKED");
        }
        let rows = q.fetch_all(self.conn().await?).await?;
        let mut late = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = col(row, "id")?;
            let mut mark = Sql::new("UPDATE needs_analyses SET late_notified = 1 WHERE id = ");
            mark.bind(id);
            mark.execute(self.conn().await?).await?;
            late.push(LateReport {
                needs_analysis_id: id,
                opportunity_id: col(row, "opportunity_id")?,
                owner_id: col(row, "owner_id")?,
                opportunity_name: col(row, "name")?,
            });
        }
        Ok(late)
    }

    async fn insert_proposal(
        &mut self,
        opportunity_id: i64,
        version_no: i64,
        data: &ProposalData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Proposal> {
        let mut q = Sql::new(
            "INSERT INTO proposals (opportunity_id, version_no, body, status, created_by, version, \
             created_at_ms, updated_at_ms) VALUES (",
        );
        q.bind(opportunity_id)
            .push(", ")
            .bind(version_no)
            .push(", ")
            .bind(to_body(data)?)
            .push(", 'draft', ")
            .bind(created_by)
            .push(", 1, ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id");
        let id: i64 = col(&q.fetch_one(self.conn().await?).await?, "id")?;
        proposal_by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }
    async fn proposal_for_update(&mut self, id: i64) -> StoreResult<Option<Proposal>> {
        let lock = self.dialect == Dialect::Postgres;
        proposal_by_id(self.conn().await?, id, lock).await
    }
    async fn update_proposal(
        &mut self,
        id: i64,
        version: i64,
        data: &ProposalData,
        now_ms: i64,
    ) -> StoreResult<Proposal> {
        let mut q = Sql::new("UPDATE proposals SET body = ");
        q.bind(to_body(data)?)
            .push(", version = version + 1, updated_at_ms = ")
            .bind(now_ms)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND version = ")
            .bind(version);
        let n = q.execute(self.conn().await?).await?;
        versioned(self.conn().await?, n, "proposals", id).await?;
        proposal_by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }
    async fn set_proposal_status(
        &mut self,
        id: i64,
        status: ProposalStatus,
        now_ms: i64,
    ) -> StoreResult<Proposal> {
        let mut q = Sql::new("UPDATE proposals SET status = ");
        q.bind(status.as_str())
            .push(", version = version + 1, updated_at_ms = ")
            .bind(now_ms)
            .push(" WHERE id = ")
            .bind(id);
        if q.execute(self.conn().await?).await? == 0 {
            return Err(StoreError::NotFound);
        }
        proposal_by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }
    async fn insert_presentation(
        &mut self,
        proposal_id: i64,
        data: &PresentationData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Presentation> {
        let mut q = Sql::new(
            "INSERT INTO proposal_presentations (proposal_id, body, created_by, created_at_ms) VALUES (",
        );
        q.bind(proposal_id)
            .push(", ")
            .bind(to_body(data)?)
            .push(", ")
            .bind(created_by)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id, proposal_id, body, created_by, created_at_ms");
        presentation(&q.fetch_one(self.conn().await?).await?)
    }

    async fn insert_objection(
        &mut self,
        opportunity_id: i64,
        data: &ObjectionData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Objection> {
        let mut q = Sql::new(
            "INSERT INTO objections (opportunity_id, kind, body, resolved, created_by, version, \
             created_at_ms, updated_at_ms) VALUES (",
        );
        q.bind(opportunity_id)
            .push(", ")
            .bind(data.kind.as_str())
            .push(", ")
            .bind(objection_body(data)?)
            .push(", ")
            .bind(i64::from(data.resolved))
            .push(", ")
            .bind(created_by)
            .push(", 1, ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id");
        let id: i64 = col(&q.fetch_one(self.conn().await?).await?, "id")?;
        objection_by_id(self.conn().await?, id)
            .await?
            .ok_or(StoreError::NotFound)
    }
    async fn update_objection(
        &mut self,
        id: i64,
        version: i64,
        data: &ObjectionData,
        now_ms: i64,
    ) -> StoreResult<Objection> {
        let mut q = Sql::new("UPDATE objections SET kind = ");
        q.bind(data.kind.as_str())
            .push(", body = ")
            .bind(objection_body(data)?)
            .push(", resolved = ")
            .bind(i64::from(data.resolved))
            .push(", version = version + 1, updated_at_ms = ")
            .bind(now_ms)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND version = ")
            .bind(version);
        let n = q.execute(self.conn().await?).await?;
        versioned(self.conn().await?, n, "objections", id).await?;
        objection_by_id(self.conn().await?, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn insert_letter_of_intent(
        &mut self,
        opportunity_id: i64,
        revision: i64,
        data: &LetterOfIntentData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<LetterOfIntent> {
        let mut q = Sql::new(
            "INSERT INTO letters_of_intent (opportunity_id, revision, body, signed, created_by, created_at_ms) VALUES (",
        );
        q.bind(opportunity_id)
            .push(", ")
            .bind(revision)
            .push(", ")
            .bind(to_body(data)?)
            .push(", ")
            .bind(i64::from(data.is_signed()))
            .push(", ")
            .bind(created_by)
            .push(", ")
            .bind(now_ms)
            .push(&format!(") RETURNING {LETTER_COLUMNS}"));
        letter(&q.fetch_one(self.conn().await?).await?)
    }
}
