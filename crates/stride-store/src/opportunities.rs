//! Opportunity persistence: the product catalogue, the stage configuration, opportunities with
//! their lines and stage history, and the board's sums (computed by the database, in scope).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::opportunities::{
    BoardCard, NewOpportunity, Opportunity, OpportunityData, OpportunityFilter, OpportunityLine,
    StageChange, StageMove, StageSettings, StageTotals, StatusFilter,
};
use stride_app::page::PageRequest;
use stride_app::ports::{OpportunityReads, OpportunityWrites, StoreResult};
use stride_app::products::{Product, ProductData, ProductFilter};
use stride_app::{Reach, StoreError};
use stride_domain::opportunities::{GateFacts, Requirement, Stage, StageConfig};

use crate::org::versioned;
use crate::sql::{col, flag, json, json_rows_of, Sql};
use crate::store::SqlTx;
use crate::{Dialect, SqlStore};

type Result<T> = std::result::Result<T, StoreError>;

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} is not valid"))
}

/// Escapes LIKE wildcards so a search for `50%` finds "50%", not everything.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

// ---- products -------------------------------------------------------------------------------

const PRODUCT_COLUMNS: &str = "SELECT id, code, name, unit, list_price_fen, cost_fen, active, \
    version, created_at_ms, updated_at_ms FROM products";

fn product(row: &AnyRow) -> Result<Product> {
    Ok(Product {
        id: col(row, "id")?,
        data: ProductData {
            code: col(row, "code")?,
            name: col(row, "name")?,
            unit: col(row, "unit")?,
            list_price_fen: col(row, "list_price_fen")?,
            cost_fen: col(row, "cost_fen")?,
            active: flag(row, "active")?,
        },
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

/// The only unique index of products is its code.
fn code_taken(e: StoreError) -> StoreError {
    match e {
        StoreError::Duplicate { .. } => StoreError::Duplicate {
            field: "code".into(),
        },
        other => other,
    }
}

async fn products(
    conn: &mut AnyConnection,
    f: &ProductFilter,
    page: PageRequest,
) -> Result<Vec<Product>> {
    let mut q = Sql::new(PRODUCT_COLUMNS);
    q.push(" WHERE 1 = 1");
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        q.push(" AND (LOWER(code) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(name) LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(active) = f.active {
        q.push(" AND active = ").bind(i64::from(active));
    }
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(product).collect()
}

async fn product_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Product>> {
    let mut q = Sql::new(PRODUCT_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(product)
        .transpose()
}

async fn insert_product(conn: &mut AnyConnection, d: &ProductData, now: i64) -> Result<Product> {
    let mut q = Sql::new("INSERT INTO products (code, name, unit, list_price_fen, cost_fen, active, created_at_ms, updated_at_ms) VALUES (");
    q.bind(d.code.clone())
        .push(", ")
        .bind(d.name.clone())
        .push(", ")
        .bind(d.unit.clone())
        .push(", ");
    q.bind(d.list_price_fen)
        .push(", ")
        .bind(d.cost_fen)
        .push(", ")
        .bind(i64::from(d.active))
        .push(", ");
    q.bind(now).push(", ").bind(now).push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await.map_err(code_taken)?, "id")?;
    product_by_id(conn, id).await?.ok_or(StoreError::NotFound)
}

async fn update_product(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    d: &ProductData,
    now: i64,
) -> Result<Product> {
    let mut q = Sql::new("UPDATE products SET code = ");
    q.bind(d.code.clone())
        .push(", name = ")
        .bind(d.name.clone())
        .push(", unit = ")
        .bind(d.unit.clone());
    q.push(", list_price_fen = ")
        .bind(d.list_price_fen)
        .push(", cost_fen = ")
        .bind(d.cost_fen)
        .push(", active = ")
        .bind(i64::from(d.active));
    q.push(", updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(version);
    let n = q.execute(conn).await.map_err(code_taken)?;
    versioned(conn, n, "products", id).await?;
    product_by_id(conn, id).await?.ok_or(StoreError::NotFound)
}

async fn product_in_use(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM opportunity_lines WHERE product_id = ");
    q.bind(id);
    Ok(col::<i64>(&q.fetch_one(conn).await?, "n")? > 0)
}

async fn delete_product(conn: &mut AnyConnection, id: i64, version: i64) -> Result<()> {
    let mut q = Sql::new("DELETE FROM products WHERE id = ");
    q.bind(id).push(" AND version = ").bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "products", id).await
}

// ---- stages ---------------------------------------------------------------------------------

fn requires_text(requires: &[Requirement]) -> String {
    requires
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

async fn stages(conn: &mut AnyConnection) -> Result<StageSettings> {
    let q = Sql::new(
        "SELECT code, name_zh, name_en, probability, requires, version FROM opportunity_stages \
         ORDER BY position, code",
    );
    let mut version = 0;
    let mut stages = Vec::new();
    for row in q.fetch_all(conn).await? {
        version = version.max(col::<i64>(&row, "version")?);
        let requires = col::<String>(&row, "requires")?
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<Requirement>().map_err(|_| bad("stage gate")))
            .collect::<Result<Vec<_>>>()?;
        stages.push(StageConfig {
            stage: col::<String>(&row, "code")?
                .parse()
                .map_err(|_| bad("stage"))?,
            name_zh: col(&row, "name_zh")?,
            name_en: col(&row, "name_en")?,
            probability: col(&row, "probability")?,
            requires,
        });
    }
    Ok(StageSettings { stages, version })
}

async fn replace_stages(
    conn: &mut AnyConnection,
    version: i64,
    configs: &[StageConfig],
) -> Result<StageSettings> {
    for (i, c) in configs.iter().enumerate() {
        let position = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        let mut q = Sql::new("UPDATE opportunity_stages SET name_zh = ");
        q.bind(c.name_zh.clone())
            .push(", name_en = ")
            .bind(c.name_en.clone())
            .push(", position = ")
            .bind(position);
        q.push(", probability = ")
            .bind(c.probability)
            .push(", requires = ")
            .bind(requires_text(&c.requires));
        q.push(", version = version + 1 WHERE code = ")
            .bind(c.stage.as_str())
            .push(" AND version = ")
            .bind(version);
        // Every row moves together; a row at another version means someone else saved first.
        if q.execute(conn).await? != 1 {
            return Err(StoreError::Stale);
        }
    }
    stages(conn).await
}

// ---- opportunities --------------------------------------------------------------------------

const OPPORTUNITY_COLUMNS: &str = "o.id, o.customer_id, c.name AS customer_name, o.lead_id, \
    o.name, o.amount_fen, o.list_total_fen, o.cost_fen, o.expected_close_date, o.stage, \
    o.probability_override, s.probability AS stage_probability, o.competitors, o.owner_id, \
    u.display_name AS owner_name, o.department_id, o.close_reason, o.close_note, \
    o.winning_competitor, o.closed_at_ms, o.version, o.created_at_ms, o.updated_at_ms";

const OPPORTUNITY_FROM: &str = " FROM opportunities o \
    JOIN customers c ON c.id = o.customer_id \
    JOIN users u ON u.id = o.owner_id \
    JOIN opportunity_stages s ON s.code = o.stage";

fn opportunity(row: &AnyRow) -> Result<Opportunity> {
    let competitors: String = col(row, "competitors")?;
    Ok(Opportunity {
        id: col(row, "id")?,
        customer_id: col(row, "customer_id")?,
        customer_name: col(row, "customer_name")?,
        lead_id: col(row, "lead_id")?,
        name: col(row, "name")?,
        amount_fen: col(row, "amount_fen")?,
        list_total_fen: col(row, "list_total_fen")?,
        cost_fen: col(row, "cost_fen")?,
        expected_close_date: col(row, "expected_close_date")?,
        stage: col(row, "stage")?,
        probability_override: col(row, "probability_override")?,
        stage_probability: col(row, "stage_probability")?,
        competitors: serde_json::from_str(&competitors).map_err(|_| bad("competitor list"))?,
        owner_id: col(row, "owner_id")?,
        owner_name: col(row, "owner_name")?,
        department_id: col(row, "department_id")?,
        close_reason: col(row, "close_reason")?,
        close_note: col(row, "close_note")?,
        winning_competitor: col(row, "winning_competitor")?,
        closed_at_ms: col(row, "closed_at_ms")?,
        lines: Vec::new(),
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

/// `WHERE` with the scope and the filters, over `opportunities o`.
fn filtered(q: &mut Sql, reach: &Reach, f: &OpportunityFilter) {
    q.push(" WHERE ");
    q.reach(reach, "o.owner_id", "o.department_id");
    if let Some(stage) = f.stage {
        q.push(" AND o.stage = ").bind(stage.as_str());
    }
    match f.status {
        None => {}
        Some(StatusFilter::Open) => {
            q.push(" AND o.stage NOT IN ('won', 'lost')");
        }
        Some(StatusFilter::Won) => {
            q.push(" AND o.stage = 'won'");
        }
        Some(StatusFilter::Lost) => {
            q.push(" AND o.stage = 'lost'");
        }
        Some(StatusFilter::Closed) => {
            q.push(" AND o.stage IN ('won', 'lost')");
        }
    }
    if let Some(owner) = f.owner_id {
        q.push(" AND o.owner_id = ").bind(owner);
    }
    if let Some(customer) = f.customer_id {
        q.push(" AND o.customer_id = ").bind(customer);
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q.push(" AND LOWER(o.name) LIKE ")
            .bind(like_pattern(text))
            .push(" ESCAPE '\\'");
    }
}

async fn opportunities(
    conn: &mut AnyConnection,
    reach: &Reach,
    f: &OpportunityFilter,
    page: PageRequest,
) -> Result<Vec<Opportunity>> {
    let mut q = Sql::new("SELECT ");
    q.push(OPPORTUNITY_COLUMNS).push(OPPORTUNITY_FROM);
    filtered(&mut q, reach, f);
    if let Some(after) = page.after {
        q.push(" AND o.id > ").bind(after);
    }
    q.push(" ORDER BY o.id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(opportunity).collect()
}

async fn lines(conn: &mut AnyConnection, opportunity_id: i64) -> Result<Vec<OpportunityLine>> {
    let mut q = Sql::new(
        "SELECT l.product_id, p.code AS product_code, p.name AS product_name, p.unit, l.quantity, \
         l.unit_price_fen, l.discount_bp, l.list_price_fen, l.unit_cost_fen, l.line_total_fen \
         FROM opportunity_lines l JOIN products p ON p.id = l.product_id WHERE l.opportunity_id = ",
    );
    q.bind(opportunity_id).push(" ORDER BY l.position, l.id");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(OpportunityLine {
                product_id: col(row, "product_id")?,
                product_code: col(row, "product_code")?,
                product_name: col(row, "product_name")?,
                unit: col(row, "unit")?,
                quantity: col(row, "quantity")?,
                unit_price_fen: col(row, "unit_price_fen")?,
                discount_bp: col(row, "discount_bp")?,
                list_price_fen: col(row, "list_price_fen")?,
                unit_cost_fen: col(row, "unit_cost_fen")?,
                line_total_fen: col(row, "line_total_fen")?,
            })
        })
        .collect()
}

async fn opportunity_by_id(
    conn: &mut AnyConnection,
    reach: &Reach,
    id: i64,
) -> Result<Option<Opportunity>> {
    let mut q = Sql::new("SELECT ");
    q.push(OPPORTUNITY_COLUMNS)
        .push(OPPORTUNITY_FROM)
        .push(" WHERE o.id = ")
        .bind(id)
        .push(" AND ");
    q.reach(reach, "o.owner_id", "o.department_id");
    let Some(row) = q.fetch_optional(conn).await? else {
        return Ok(None);
    };
    let mut o = opportunity(&row)?;
    o.lines = lines(conn, id).await?;
    Ok(Some(o))
}

async fn stage_totals(
    conn: &mut AnyConnection,
    reach: &Reach,
    f: &OpportunityFilter,
) -> Result<Vec<StageTotals>> {
    // Each opportunity's weighted amount is rounded half up on its own (amounts are never
    // negative), exactly as `stride_domain::opportunities::weighted_amount`, then summed.
    // Filters on the scope, stage, status and owner read the sums the triggers keep: per
    // (department, stage) (migration 0022) for a scope of departments without an owner filter,
    // else per (department, owner, stage) (0019). A customer or name filter sums the deals.
    let from_sums = f.customer_id.is_none() && f.q.is_none();
    let per_department = from_sums && f.owner_id.is_none() && !matches!(reach, Reach::Owner { .. });
    let mut q = if from_sums {
        Sql::new(&format!(
            "SELECT o.stage AS stage, CAST(SUM(o.n) AS BIGINT) AS n, \
             CAST(SUM(o.total_fen) AS BIGINT) AS total_fen, \
             CAST(SUM(o.weighted_fen) AS BIGINT) AS weighted_fen FROM {} o",
            if per_department {
                "opportunity_department_sums"
            } else {
                "opportunity_stage_sums"
            }
        ))
    } else {
        Sql::new(
            "SELECT o.stage AS stage, COUNT(*) AS n, \
             CAST(COALESCE(SUM(o.amount_fen), 0) AS BIGINT) AS total_fen, \
             CAST(COALESCE(SUM((o.amount_fen * COALESCE(o.probability_override, s.probability) + 50) / 100), 0) AS BIGINT) AS weighted_fen \
             FROM opportunities o JOIN opportunity_stages s ON s.code = o.stage",
        )
    };
    filtered(&mut q, reach, f);
    q.push(" GROUP BY o.stage");
    if from_sums {
        // A column whose deals all moved on keeps its row at zero.
        q.push(" HAVING SUM(o.n) > 0");
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(StageTotals {
                stage: col(row, "stage")?,
                count: col(row, "n")?,
                total_fen: col(row, "total_fen")?,
                weighted_fen: col(row, "weighted_fen")?,
            })
        })
        .collect()
}

/// The cards of the newest `per_stage` opportunities of every stage. One `ORDER BY id DESC
/// LIMIT n` per stage walks an index on (scope column, stage, id) backwards, so a column costs
/// n index entries however many deals the stage holds; only the kept rows are joined, and only
/// what a card shows is read. They come column by column, newest first.
///
/// On SQLite they are read as one row, a JSON array (see [`json_rows_of`]): its rows come one
/// by one from a worker thread, each with a column list sqlx's `Any` driver builds anew, and
/// 400 of them were a quarter of a board request, mostly `malloc`; one text is 2.2 times as
/// fast under load. PostgreSQL sends its rows in one stream, and building the JSON there made
/// the board slower (both measured in docs/benchmarks.md), so it reads rows.
async fn board_cards(
    conn: &mut AnyConnection,
    dialect: Dialect,
    reach: &Reach,
    f: &OpportunityFilter,
    per_stage: u32,
) -> Result<Vec<BoardCard>> {
    let mut q = Sql::new(&match dialect {
        Dialect::Sqlite => {
            let cards = json_rows_of(
                dialect,
                "'id', o.id, 'name', o.name, 'customer_id', o.customer_id, \
                 'customer_name', c.name, 'amount_fen', o.amount_fen, \
                 'expected_close_date', o.expected_close_date, 'stage', o.stage, \
                 'probability', COALESCE(o.probability_override, s.probability), \
                 'owner_id', o.owner_id, 'owner_name', u.display_name, 'version', o.version",
            );
            format!("SELECT {cards} AS cards FROM (")
        }
        Dialect::Postgres => "SELECT o.id, o.name, o.customer_id, c.name AS customer_name, \
             o.amount_fen, o.expected_close_date, o.stage, \
             COALESCE(o.probability_override, s.probability) AS probability, o.owner_id, \
             u.display_name AS owner_name, o.version FROM ("
            .to_owned(),
    });
    for (i, stage) in Stage::ALL.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        // Stage codes are the program's own constants, written as literals so each
        // subquery is planned for its stage. The limit is a literal too: with a bound limit
        // PostgreSQL judged every generic plan too costly and planned the statement afresh on
        // each request (about 1 ms of 3); with a literal one it keeps the connection's plan.
        q.push(
            "SELECT * FROM (SELECT o.id, o.name, o.customer_id, o.amount_fen, \
             o.expected_close_date, o.stage, o.probability_override, o.owner_id, o.version \
             FROM opportunities o",
        );
        filtered(&mut q, reach, f);
        q.push(" AND o.stage = '")
            .push(stage.as_str())
            .push("' ORDER BY o.id DESC LIMIT ")
            .push(&per_stage.to_string())
            .push(") newest");
    }
    // The kept rows carry what a card shows: joining them back to `opportunities` by id cost
    // a primary-key descent per card (1,640 buffers a board on PostgreSQL; 1,033 without).
    q.push(
        ") o JOIN customers c ON c.id = o.customer_id \
         JOIN users u ON u.id = o.owner_id \
         JOIN opportunity_stages s ON s.code = o.stage",
    );
    if dialect == Dialect::Sqlite {
        let mut cards: Vec<BoardCard> = json(&q.fetch_one(conn).await?, "cards")?;
        cards.sort_unstable_by(|a, b| a.stage.cmp(&b.stage).then(b.id.cmp(&a.id)));
        return Ok(cards);
    }
    q.push(" ORDER BY o.stage, o.id DESC");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(BoardCard {
                id: col(row, "id")?,
                name: col(row, "name")?,
                customer_id: col(row, "customer_id")?,
                customer_name: col(row, "customer_name")?,
                amount_fen: col(row, "amount_fen")?,
                expected_close_date: col(row, "expected_close_date")?,
                stage: col(row, "stage")?,
                probability: col(row, "probability")?,
                owner_id: col(row, "owner_id")?,
                owner_name: col(row, "owner_name")?,
                version: col(row, "version")?,
            })
        })
        .collect()
}

async fn transfer_open(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    to_department: i64,
    now: i64,
) -> Result<u64> {
    let mut q = Sql::new("UPDATE opportunities SET owner_id = ");
    q.bind(to)
        .push(", department_id = ")
        .bind(to_department)
        .push(", updated_at_ms = ")
        .bind(now);
    q.push(", version = version + 1 WHERE stage NOT IN ('won', 'lost') AND owner_id = ")
        .bind(from);
    q.execute(conn).await
}

async fn stage_history(conn: &mut AnyConnection, id: i64) -> Result<Vec<StageChange>> {
    let mut q = Sql::new(
        "SELECT h.from_stage, h.to_stage, h.actor_id, u.display_name AS actor_name, h.at_ms \
         FROM opportunity_stage_history h LEFT JOIN users u ON u.id = h.actor_id \
         WHERE h.opportunity_id = ",
    );
    q.bind(id).push(" ORDER BY h.id");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(StageChange {
                from_stage: col(row, "from_stage")?,
                to_stage: col(row, "to_stage")?,
                actor_id: col(row, "actor_id")?,
                actor_name: col(row, "actor_name")?,
                at_ms: col(row, "at_ms")?,
            })
        })
        .collect()
}

async fn record_stage(
    conn: &mut AnyConnection,
    id: i64,
    from: Option<Stage>,
    to: Stage,
    actor_id: Option<i64>,
    now: i64,
) -> Result<()> {
    let mut q = Sql::new("INSERT INTO opportunity_stage_history (opportunity_id, from_stage, to_stage, actor_id, at_ms) VALUES (");
    q.bind(id)
        .push(", ")
        .bind(from.map(|s| s.as_str().to_owned()))
        .push(", ")
        .bind(to.as_str());
    q.push(", ").bind(actor_id).push(", ").bind(now).push(")");
    q.execute(conn).await.map(drop)
}

fn competitors_json(d: &OpportunityData) -> Result<String> {
    serde_json::to_string(&d.competitors).map_err(|e| StoreError::Backend(e.to_string()))
}

async fn insert_lines(conn: &mut AnyConnection, id: i64, d: &OpportunityData) -> Result<()> {
    for (i, l) in d.lines.iter().enumerate() {
        let m = &l.money;
        let mut q = Sql::new("INSERT INTO opportunity_lines (opportunity_id, position, product_id, quantity, unit_price_fen, discount_bp, list_price_fen, unit_cost_fen, line_total_fen) VALUES (");
        q.bind(id)
            .push(", ")
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .push(", ")
            .bind(l.product_id)
            .push(", ");
        q.bind(m.quantity)
            .push(", ")
            .bind(m.unit_price_fen)
            .push(", ")
            .bind(m.discount_bp)
            .push(", ");
        q.bind(m.list_price_fen)
            .push(", ")
            .bind(m.unit_cost_fen)
            .push(", ")
            .bind(l.line_total_fen)
            .push(")");
        q.execute(conn).await?;
    }
    Ok(())
}

async fn insert_opportunity(
    conn: &mut AnyConnection,
    n: &NewOpportunity<'_>,
    now: i64,
) -> Result<Opportunity> {
    let d = n.data;
    let mut q = Sql::new("INSERT INTO opportunities (customer_id, lead_id, name, amount_fen, list_total_fen, cost_fen, \
        expected_close_date, stage, probability_override, competitors, owner_id, department_id, created_at_ms, updated_at_ms) VALUES (");
    q.bind(n.customer_id)
        .push(", ")
        .bind(n.lead_id)
        .push(", ")
        .bind(d.name.clone())
        .push(", ");
    q.bind(d.amount_fen)
        .push(", ")
        .bind(d.list_total_fen)
        .push(", ")
        .bind(d.cost_fen)
        .push(", ");
    q.bind(d.expected_close_date.clone())
        .push(", ")
        .bind(n.stage.as_str())
        .push(", ")
        .bind(d.probability_override)
        .push(", ");
    q.bind(competitors_json(d)?)
        .push(", ")
        .bind(n.owner_id)
        .push(", ")
        .bind(n.department_id)
        .push(", ");
    q.bind(now).push(", ").bind(now).push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    insert_lines(conn, id, d).await?;
    record_stage(conn, id, None, n.stage, n.created_by, now).await?;
    opportunity_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn update_opportunity(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    d: &OpportunityData,
    now: i64,
) -> Result<Opportunity> {
    let mut q = Sql::new("UPDATE opportunities SET name = ");
    q.bind(d.name.clone())
        .push(", amount_fen = ")
        .bind(d.amount_fen)
        .push(", list_total_fen = ")
        .bind(d.list_total_fen);
    q.push(", cost_fen = ")
        .bind(d.cost_fen)
        .push(", expected_close_date = ")
        .bind(d.expected_close_date.clone());
    q.push(", probability_override = ")
        .bind(d.probability_override)
        .push(", competitors = ")
        .bind(competitors_json(d)?);
    q.push(", updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "opportunities", id).await?;
    let mut q = Sql::new("DELETE FROM opportunity_lines WHERE opportunity_id = ");
    q.bind(id);
    q.execute(conn).await?;
    insert_lines(conn, id, d).await?;
    opportunity_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn set_stage(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    m: &StageMove,
    now: i64,
) -> Result<Opportunity> {
    let mut q = Sql::new("UPDATE opportunities SET stage = ");
    q.bind(m.to.as_str()).push(", probability_override = NULL");
    if let Some(c) = &m.closing {
        q.push(", close_reason = ")
            .bind(c.reason.as_str())
            .push(", close_note = ")
            .bind(c.note.clone());
        q.push(", winning_competitor = ")
            .bind(c.winning_competitor.clone())
            .push(", closed_at_ms = ")
            .bind(now);
    }
    q.push(", updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    q.push(" AND version = ")
        .bind(version)
        .push(" AND stage = ")
        .bind(m.from.as_str());
    let n = q.execute(conn).await?;
    versioned(conn, n, "opportunities", id).await?;
    record_stage(conn, id, Some(m.from), m.to, m.actor_id, now).await?;
    opportunity_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

// ---- the ports ------------------------------------------------------------------------------

#[async_trait]
impl OpportunityReads for SqlStore {
    async fn products(
        &self,
        filter: &ProductFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Product>> {
        products(&mut *self.conn().await?, filter, page).await
    }
    async fn product(&self, id: i64) -> StoreResult<Option<Product>> {
        product_by_id(&mut *self.conn().await?, id).await
    }
    async fn opportunity_stages(&self) -> StoreResult<StageSettings> {
        stages(&mut *self.conn().await?).await
    }
    async fn opportunities(
        &self,
        reach: &Reach,
        filter: &OpportunityFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Opportunity>> {
        opportunities(&mut *self.conn().await?, reach, filter, page).await
    }
    async fn opportunity(&self, reach: &Reach, id: i64) -> StoreResult<Option<Opportunity>> {
        opportunity_by_id(&mut *self.conn().await?, reach, id).await
    }
    async fn stage_history(&self, opportunity_id: i64) -> StoreResult<Vec<StageChange>> {
        stage_history(&mut *self.conn().await?, opportunity_id).await
    }
    async fn stage_totals(
        &self,
        reach: &Reach,
        filter: &OpportunityFilter,
    ) -> StoreResult<Vec<StageTotals>> {
        stage_totals(&mut *self.conn().await?, reach, filter).await
    }
    async fn board_cards(
        &self,
        reach: &Reach,
        filter: &OpportunityFilter,
        per_stage: u32,
    ) -> StoreResult<Vec<BoardCard>> {
        board_cards(
            &mut *self.conn().await?,
            self.dialect,
            reach,
            filter,
            per_stage,
        )
        .await
    }
    async fn gate_facts(&self, opportunity_id: i64) -> StoreResult<GateFacts> {
        crate::stage_documents::gate_facts(&mut *self.conn().await?, opportunity_id).await
    }
}

#[async_trait]
impl OpportunityWrites for SqlTx {
    async fn insert_product(&mut self, data: &ProductData, now_ms: i64) -> StoreResult<Product> {
        insert_product(self.conn().await?, data, now_ms).await
    }
    async fn update_product(
        &mut self,
        id: i64,
        version: i64,
        data: &ProductData,
        now_ms: i64,
    ) -> StoreResult<Product> {
        update_product(self.conn().await?, id, version, data, now_ms).await
    }
    async fn product_in_use(&mut self, id: i64) -> StoreResult<bool> {
        product_in_use(self.conn().await?, id).await
    }
    async fn delete_product(&mut self, id: i64, version: i64) -> StoreResult<()> {
        delete_product(self.conn().await?, id, version).await
    }
    async fn replace_opportunity_stages(
        &mut self,
        version: i64,
        stages: &[StageConfig],
        _now_ms: i64,
    ) -> StoreResult<StageSettings> {
        replace_stages(self.conn().await?, version, stages).await
    }
    async fn insert_opportunity(
        &mut self,
        new: &NewOpportunity<'_>,
        now_ms: i64,
    ) -> StoreResult<Opportunity> {
        insert_opportunity(self.conn().await?, new, now_ms).await
    }
    async fn update_opportunity(
        &mut self,
        id: i64,
        version: i64,
        data: &OpportunityData,
        now_ms: i64,
    ) -> StoreResult<Opportunity> {
        update_opportunity(self.conn().await?, id, version, data, now_ms).await
    }
    async fn transfer_open_opportunities(
        &mut self,
        from_user: i64,
        to_user: i64,
        to_department: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        transfer_open(
            self.conn().await?,
            from_user,
            to_user,
            to_department,
            now_ms,
        )
        .await
    }
    async fn set_opportunity_stage(
        &mut self,
        id: i64,
        version: i64,
        change: &StageMove,
        now_ms: i64,
    ) -> StoreResult<Opportunity> {
        set_stage(self.conn().await?, id, version, change, now_ms).await
    }
}
