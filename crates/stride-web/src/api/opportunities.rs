//! Opportunities, their stage moves and closes, the kanban board, and the stage configuration.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::opportunities::{
    BoardColumn, CloseInput, LineInput, NewOpportunityInput, Opportunity, OpportunityFilter,
    OpportunityLine, OpportunityPatch, StageChange, StageSettings, DEFAULT_CARDS_PER_COLUMN,
};
use stride_app::page::PageRequest;
use stride_app::AppError;
use stride_domain::access::{Action, RecordKind};
use stride_domain::opportunities::{Requirement, Stage, StageConfig};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::approvals::{request_dto, RequestDto};
use super::org::{all_pages, HasId};
use super::{rfc3339, PageDto};
use crate::export::{export_response, Format};
use crate::extract::{double_option, etag, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_opportunities, create_opportunity))
        .routes(routes!(export_opportunities))
        .routes(routes!(board))
        .routes(routes!(get_opportunity, update_opportunity))
        .routes(routes!(move_opportunity))
        .routes(routes!(close_opportunity))
        .routes(routes!(close_preview))
        .routes(routes!(stage_history))
        .routes(routes!(request_discount_approval))
        .routes(routes!(get_stages, update_stages))
}

impl HasId for Opportunity {
    fn id(&self) -> i64 {
        self.id
    }
}

// ---- representations ------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct LineDto {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub unit: String,
    pub quantity: i64,
    /// Agreed price of one unit before the line's discount, in fen.
    pub unit_price_fen: i64,
    /// 1000 = 10 %.
    pub discount_bp: i64,
    /// The catalogue price of one unit when the line was written, in fen.
    pub list_price_fen: i64,
    /// What one unit costs, in fen.
    pub unit_cost_fen: i64,
    /// quantity × unit price × (1 − discount), rounded once, half away from zero.
    pub line_total_fen: i64,
}

fn line_dto(l: OpportunityLine) -> LineDto {
    LineDto {
        product_id: l.product_id,
        product_code: l.product_code,
        product_name: l.product_name,
        unit: l.unit,
        quantity: l.quantity,
        unit_price_fen: l.unit_price_fen,
        discount_bp: l.discount_bp,
        list_price_fen: l.list_price_fen,
        unit_cost_fen: l.unit_cost_fen,
        line_total_fen: l.line_total_fen,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunityDto {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    /// The lead it was converted from.
    pub lead_id: Option<i64>,
    pub name: String,
    /// In fen; the sum of the line totals when there are lines.
    pub amount_fen: i64,
    /// Σ quantity × list price; absent without lines.
    pub list_total_fen: Option<i64>,
    /// Σ quantity × unit cost; absent without lines.
    pub cost_fen: Option<i64>,
    /// amount − cost; absent without lines.
    pub gross_profit_fen: Option<i64>,
    /// The whole deal's discount off the list, 1 − amount / list total, in basis points
    /// (negative above the list); absent without lines.
    pub deal_discount_bp: Option<i64>,
    /// YYYY-MM-DD.
    pub expected_close_date: Option<String>,
    /// first_contact, needs_analysis, proposal, negotiation, letter_of_intent, contract, won or lost.
    pub stage: String,
    /// open, won or lost.
    pub status: String,
    /// Percent: set by hand, else the stage's.
    pub probability: i64,
    /// Whether the probability follows the stage.
    pub probability_is_default: bool,
    /// amount × probability, rounded half away from zero.
    pub weighted_amount_fen: i64,
    pub competitors: Vec<String>,
    pub owner_id: i64,
    pub owner_name: String,
    pub department_id: i64,
    pub close_reason: Option<String>,
    pub close_note: Option<String>,
    pub winning_competitor: Option<String>,
    pub closed_at: Option<String>,
    /// The product lines; only on single reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineDto>>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn opportunity_dto(o: Opportunity, with_lines: bool) -> OpportunityDto {
    OpportunityDto {
        gross_profit_fen: o.gross_profit_fen(),
        deal_discount_bp: o.deal_discount_bp(),
        status: o.status().to_owned(),
        probability: o.probability(),
        probability_is_default: o.probability_override.is_none(),
        weighted_amount_fen: o.weighted_amount_fen(),
        id: o.id,
        customer_id: o.customer_id,
        customer_name: o.customer_name,
        lead_id: o.lead_id,
        name: o.name,
        amount_fen: o.amount_fen,
        list_total_fen: o.list_total_fen,
        cost_fen: o.cost_fen,
        expected_close_date: o.expected_close_date,
        stage: o.stage,
        competitors: o.competitors,
        owner_id: o.owner_id,
        owner_name: o.owner_name,
        department_id: o.department_id,
        close_reason: o.close_reason,
        close_note: o.close_note,
        winning_competitor: o.winning_competitor,
        closed_at: o.closed_at_ms.map(rfc3339),
        lines: with_lines.then(|| o.lines.into_iter().map(line_dto).collect()),
        version: o.version,
        created_at: rfc3339(o.created_at_ms),
        updated_at: rfc3339(o.updated_at_ms),
    }
}

fn opportunity_response(status: StatusCode, o: Opportunity) -> Response {
    (status, etag(o.version), Json(opportunity_dto(o, true))).into_response()
}

// ---- list, create, read, change -------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OpportunityListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// A stage code.
    pub stage: Option<String>,
    /// open, won, lost or closed.
    pub status: Option<String>,
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// Part of the name.
    pub q: Option<String>,
}

impl OpportunityListQuery {
    fn filter(&self) -> Result<OpportunityFilter, AppError> {
        OpportunityFilter::parse(
            self.stage.as_deref(),
            self.status.as_deref(),
            self.owner_id,
            self.customer_id,
            self.q.as_deref(),
        )
    }
}

#[utoipa::path(get, path = "/api/v1/opportunities", tag = "opportunities", params(OpportunityListQuery),
    responses((status = 200, body = PageDto<OpportunityDto>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_opportunities(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<OpportunityListQuery>,
) -> ApiResult<Json<PageDto<OpportunityDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    Ok(Json(PageDto::from_page(
        s.app.list_opportunities(&actor, &filter, page).await?,
        |o| opportunity_dto(o, false),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInputDto {
    pub product_id: i64,
    /// A whole number of units, at least 1.
    pub quantity: i64,
    /// In fen; default the product's list price.
    pub unit_price_fen: Option<i64>,
    /// 0–10000 basis points (1000 = 10 %); default 0.
    pub discount_bp: Option<i64>,
}

fn lines_in(lines: Vec<LineInputDto>) -> Vec<LineInput> {
    lines
        .into_iter()
        .map(|l| LineInput {
            product_id: l.product_id,
            quantity: l.quantity,
            unit_price_fen: l.unit_price_fen,
            discount_bp: l.discount_bp,
        })
        .collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunityDto {
    /// A customer in your scope.
    pub customer_id: i64,
    pub name: String,
    /// In fen. With lines the amount is their sum: leave it out (or send exactly that).
    pub amount_fen: Option<i64>,
    /// YYYY-MM-DD.
    pub expected_close_date: Option<String>,
    /// An open stage; default first_contact. A gated stage needs its gate to hold.
    pub stage: Option<String>,
    /// Percent; default the stage's.
    pub probability: Option<i64>,
    /// A user in your scope; default you.
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub competitors: Vec<String>,
    #[serde(default)]
    pub lines: Vec<LineInputDto>,
}

#[utoipa::path(post, path = "/api/v1/opportunities", tag = "opportunities", request_body = NewOpportunityDto,
    responses((status = 201, body = OpportunityDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_opportunity(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<NewOpportunityDto>,
) -> ApiResult<Response> {
    let input = NewOpportunityInput {
        customer_id: r.customer_id,
        name: r.name,
        amount_fen: r.amount_fen,
        expected_close_date: r.expected_close_date,
        stage: r.stage,
        probability: r.probability,
        owner_id: r.owner_id,
        competitors: r.competitors,
        lines: lines_in(r.lines),
    };
    Ok(opportunity_response(
        StatusCode::CREATED,
        s.app.create_opportunity(&actor, input).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "opportunities", params(("id" = i64, Path)),
    responses((status = 200, body = OpportunityDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_opportunity(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(opportunity_response(
        StatusCode::OK,
        s.app.get_opportunity(&actor, id).await?,
    ))
}

/// What a PATCH may change; stage, owner and customer change only through their own actions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityUpdate {
    pub name: Option<String>,
    /// In fen; only without lines (with lines the amount is their sum).
    pub amount_fen: Option<i64>,
    /// YYYY-MM-DD; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub expected_close_date: Option<Option<String>>,
    /// Percent; `null` follows the stage again.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub probability: Option<Option<i64>>,
    pub competitors: Option<Vec<String>>,
    /// Replaces every line; `[]` removes them.
    pub lines: Option<Vec<LineInputDto>>,
}

#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "opportunities", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = OpportunityUpdate,
    responses((status = 200, body = OpportunityDto), (status = 404, body = Problem), (status = 409, body = Problem, description = "Closed"), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_opportunity(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<OpportunityUpdate>,
) -> ApiResult<Response> {
    let patch = OpportunityPatch {
        name: r.name,
        amount_fen: r.amount_fen,
        expected_close_date: r.expected_close_date,
        probability: r.probability,
        competitors: r.competitors,
        lines: r.lines.map(lines_in),
    };
    Ok(opportunity_response(
        StatusCode::OK,
        s.app.update_opportunity(&actor, id, version, patch).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageMoveDto {
    /// An open stage code.
    pub stage: String,
}

/// Moves an open opportunity to another open stage. Gates add up: moving forward, the gate of
/// every stage entered on the way must hold (first contact → contract asks for the confirmed
/// needs analysis, the approved proposal and the signed letter of intent). Otherwise 422 with
/// one `errors` entry per missing requirement: field `stage`, code the requirement
/// (`needs_analysis_confirmed`, `proposal_approved`, `letter_of_intent_signed`).
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/stage", tag = "opportunities", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = StageMoveDto,
    responses((status = 200, body = OpportunityDto), (status = 404, body = Problem), (status = 409, body = Problem, description = "Closed"), (status = 412, body = Problem), (status = 422, body = Problem, description = "Unknown or terminal stage, or the gate does not hold")))]
async fn move_opportunity(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<StageMoveDto>,
) -> ApiResult<Response> {
    Ok(opportunity_response(
        StatusCode::OK,
        s.app
            .move_opportunity(&actor, id, version, &r.stage)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseDto {
    /// won or lost.
    pub outcome: String,
    /// price, product_fit, relationship, timing, competitor, budget, no_decision or other.
    pub reason: String,
    pub note: Option<String>,
    /// Who won the deal; required when the reason is competitor (lost deals only).
    pub winning_competitor: Option<String>,
}

/// Wins or loses an open opportunity with a reason. Terminal. Winning passes the gates of every
/// stage still ahead (refused like a move). Closing withdraws the deal's pending proposal reviews
/// and discount requests, and when lost its pending contract reviews, in the same transaction.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/close", tag = "opportunities", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = CloseDto,
    responses((status = 200, body = OpportunityDto), (status = 404, body = Problem), (status = 409, body = Problem, description = "Closed already"), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn close_opportunity(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<CloseDto>,
) -> ApiResult<Response> {
    let input = CloseInput {
        outcome: r.outcome,
        reason: r.reason,
        note: r.note,
        winning_competitor: r.winning_competitor,
    };
    Ok(opportunity_response(
        StatusCode::OK,
        s.app.close_opportunity(&actor, id, version, input).await?,
    ))
}

/// What closing the deal would withdraw.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosePreviewDto {
    /// Pending proposal reviews and discount requests, withdrawn whether the deal is won or lost.
    pub either_way: Vec<RequestDto>,
    /// Pending contract reviews, withdrawn only when the deal is lost.
    pub if_lost: Vec<RequestDto>,
    /// Pending reviews the caller may not see, withdrawn all the same.
    pub hidden: usize,
}

/// The pending reviews that closing the opportunity would withdraw, asked before closing it.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}/close-preview", tag = "opportunities", params(("id" = i64, Path)),
    responses((status = 200, body = ClosePreviewDto), (status = 404, body = Problem)))]
async fn close_preview(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ClosePreviewDto>> {
    let p = s.app.close_preview(&actor, id).await?;
    Ok(Json(ClosePreviewDto {
        either_way: p.either_way.into_iter().map(request_dto).collect(),
        if_lost: p.if_lost.into_iter().map(request_dto).collect(),
        hidden: p.hidden,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageChangeDto {
    /// Absent for the stage it was created in.
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub at: String,
}

fn change_dto(c: StageChange) -> StageChangeDto {
    StageChangeDto {
        from_stage: c.from_stage,
        to_stage: c.to_stage,
        actor_id: c.actor_id,
        actor_name: c.actor_name,
        at: rfc3339(c.at_ms),
    }
}

/// Every stage change of an opportunity, oldest first.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}/history", tag = "opportunities", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<StageChangeDto>), (status = 404, body = Problem)))]
async fn stage_history(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<StageChangeDto>>> {
    let history = s.app.opportunity_history(&actor, id).await?;
    Ok(Json(history.into_iter().map(change_dto).collect()))
}

// ---- export ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OpportunityExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub q: Option<String>,
}

fn fen(v: i64) -> String {
    stride_domain::money::Money::new(v, stride_domain::money::Currency::CNY).to_decimal_string()
}

/// Every opportunity in your scope matching the filters, as CSV or XLSX (amounts in yuan).
#[utoipa::path(get, path = "/api/v1/opportunities/export", tag = "opportunities", params(OpportunityExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_opportunities(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<OpportunityExportQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(_) => {
            return Err(
                AppError::field("format", "unsupported", "format must be csv or xlsx").into(),
            )
        }
    };
    actor.require(RecordKind::Opportunity, Action::Export)?;
    let filter = OpportunityFilter::parse(
        q.stage.as_deref(),
        q.status.as_deref(),
        q.owner_id,
        q.customer_id,
        q.q.as_deref(),
    )?;
    let rows = all_pages(|p| s.app.list_opportunities(&actor, &filter, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Opportunity, rows.len())
        .await?;
    let opt = |v: Option<i64>| v.map(fen).unwrap_or_default();
    let rows = rows
        .into_iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.name.clone(),
                o.customer_id.to_string(),
                o.customer_name.clone(),
                o.stage.clone(),
                o.status().to_owned(),
                fen(o.amount_fen),
                o.probability().to_string(),
                fen(o.weighted_amount_fen()),
                opt(o.gross_profit_fen()),
                o.deal_discount_bp()
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                o.expected_close_date.clone().unwrap_or_default(),
                o.owner_name.clone(),
                o.competitors.join("; "),
                o.close_reason.clone().unwrap_or_default(),
                o.winning_competitor.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "opportunities",
        &[
            "id",
            "name",
            "customer_id",
            "customer",
            "stage",
            "status",
            "amount",
            "probability",
            "weighted_amount",
            "gross_profit",
            "deal_discount_bp",
            "expected_close_date",
            "owner",
            "competitors",
            "close_reason",
            "winning_competitor",
        ],
        rows,
    ))
}

// ---- board ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// Cards per column, 0–100; default 20.
    pub cards: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardDto {
    pub id: i64,
    pub name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub amount_fen: i64,
    pub probability: i64,
    pub weighted_amount_fen: i64,
    pub owner_id: i64,
    pub owner_name: String,
    pub expected_close_date: Option<String>,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumnDto {
    pub stage: String,
    pub name_zh: String,
    pub name_en: String,
    pub probability: i64,
    /// Won and lost.
    pub terminal: bool,
    /// Every opportunity of the stage in your scope, not only the cards shown.
    pub count: i64,
    pub total_fen: i64,
    /// Σ of each opportunity's weighted amount.
    pub weighted_fen: i64,
    /// The newest cards.
    pub cards: Vec<CardDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardDto {
    /// Open stages in pipeline order, then won and lost.
    pub columns: Vec<BoardColumnDto>,
    /// Sums over the open stages.
    pub open_count: i64,
    pub open_total_fen: i64,
    pub open_weighted_fen: i64,
}

fn board_dto(columns: Vec<BoardColumn>) -> BoardDto {
    let open = columns.iter().filter(|c| !c.stage.stage.is_terminal());
    let (open_count, open_total_fen, open_weighted_fen) =
        open.fold((0i64, 0i64, 0i64), |(n, t, w), c| {
            (
                n.saturating_add(c.count),
                t.saturating_add(c.total_fen),
                w.saturating_add(c.weighted_fen),
            )
        });
    BoardDto {
        open_count,
        open_total_fen,
        open_weighted_fen,
        columns: columns
            .into_iter()
            .map(|c| BoardColumnDto {
                stage: c.stage.stage.as_str().to_owned(),
                terminal: c.stage.stage.is_terminal(),
                name_zh: c.stage.name_zh,
                name_en: c.stage.name_en,
                probability: c.stage.probability,
                count: c.count,
                total_fen: c.total_fen,
                weighted_fen: c.weighted_fen,
                cards: c
                    .cards
                    .into_iter()
                    .map(|o| CardDto {
                        probability: o.probability,
                        weighted_amount_fen: o.weighted_amount_fen(),
                        id: o.id,
                        name: o.name,
                        customer_id: o.customer_id,
                        customer_name: o.customer_name,
                        amount_fen: o.amount_fen,
                        owner_id: o.owner_id,
                        owner_name: o.owner_name,
                        expected_close_date: o.expected_close_date,
                        version: o.version,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The kanban board within your scope: per stage the count, total and weighted total (summed by
/// the database over every opportunity in scope) and the newest cards.
#[utoipa::path(get, path = "/api/v1/opportunities/board", tag = "opportunities", params(BoardQuery),
    responses((status = 200, body = BoardDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn board(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> ApiResult<Json<BoardDto>> {
    let filter = OpportunityFilter {
        owner_id: q.owner_id,
        customer_id: q.customer_id,
        ..OpportunityFilter::default()
    };
    let columns = s
        .app
        .opportunity_board(&actor, &filter, q.cards.unwrap_or(DEFAULT_CARDS_PER_COLUMN))
        .await?;
    Ok(Json(board_dto(columns)))
}

// ---- stage configuration --------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDto {
    /// The stage's fixed code.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Percent; won is always 100 and lost 0.
    pub probability: i64,
    /// What must hold before an opportunity enters the stage: needs_analysis_confirmed,
    /// proposal_approved, letter_of_intent_signed. `[]` switches the gate off.
    #[serde(default)]
    pub requires: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StagesDto {
    /// In pipeline order: open stages, then won, then lost.
    pub stages: Vec<StageDto>,
    pub version: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StagesUpdate {
    /// Every stage exactly once, in the new order; won and lost last.
    pub stages: Vec<StageDto>,
}

fn stages_response(settings: StageSettings) -> Response {
    let body = StagesDto {
        version: settings.version,
        stages: settings
            .stages
            .into_iter()
            .map(|c| StageDto {
                code: c.stage.as_str().to_owned(),
                name_zh: c.name_zh,
                name_en: c.name_en,
                probability: c.probability,
                requires: c.requires.iter().map(|r| r.as_str().to_owned()).collect(),
            })
            .collect(),
    };
    (etag(settings.version), Json(body)).into_response()
}

/// The pipeline's stages with names, probabilities and gates.
#[utoipa::path(get, path = "/api/v1/opportunity-stages", tag = "opportunities",
    responses((status = 200, body = StagesDto, headers(("ETag" = String)))))]
async fn get_stages(State(s): State<AppState>, ApiActor(_): ApiActor) -> ApiResult<Response> {
    Ok(stages_response(s.app.opportunity_stages().await?))
}

/// Renames, reorders, re-weights and re-gates the stages (settings.edit); send every stage.
#[utoipa::path(put, path = "/api/v1/opportunity-stages", tag = "opportunities", params(("If-Match" = String, Header)),
    request_body = StagesUpdate,
    responses((status = 200, body = StagesDto), (status = 403, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_stages(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<StagesUpdate>,
) -> ApiResult<Response> {
    let mut problems = Vec::new();
    let mut configs = Vec::new();
    for (i, d) in r.stages.into_iter().enumerate() {
        let stage = match d.code.parse::<Stage>() {
            Ok(s) => s,
            Err(_) => {
                problems.push(stride_app::FieldError::new(
                    &format!("stages[{i}].code"),
                    "invalid",
                    "not a stage",
                ));
                continue;
            }
        };
        let mut requires = Vec::new();
        for r in &d.requires {
            match r.parse::<Requirement>() {
                Ok(r) => requires.push(r),
                Err(_) => problems.push(stride_app::FieldError::new(
                    &format!("stages[{i}].requires"),
                    "invalid",
                    "needs_analysis_confirmed, proposal_approved or letter_of_intent_signed",
                )),
            }
        }
        configs.push(StageConfig {
            stage,
            name_zh: d.name_zh,
            name_en: d.name_en,
            probability: d.probability,
            requires,
        });
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems).into());
    }
    Ok(stages_response(
        s.app
            .update_opportunity_stages(&actor, version, configs)
            .await?,
    ))
}

/// Asks for approval of the deal's cumulative discount through the discount flow; within the
/// rep's authority the request is approved at once. Deals with a discount above authority may not
/// enter the letter of intent, the contract or "won" until it is approved.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/discount-approval", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 201, body = super::approvals::RequestDto), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn request_discount_approval(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let request = s.app.request_discount_approval(&actor, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(super::approvals::request_dto(request)),
    )
        .into_response())
}
