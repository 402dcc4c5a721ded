//! The product catalogue.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::page::PageRequest;
use stride_app::products::{Product, ProductData, ProductFilter, ProductPatch, ProductRemoval};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{rfc3339, PageDto};
use crate::extract::{etag, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product, delete_product))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    pub id: i64,
    /// Unique.
    pub code: String,
    pub name: String,
    pub unit: String,
    pub list_price_fen: i64,
    pub cost_fen: i64,
    /// Inactive products stay on old opportunities but cannot be added to new lines.
    pub active: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn product_dto(p: Product) -> ProductDto {
    ProductDto {
        id: p.id,
        code: p.data.code,
        name: p.data.name,
        unit: p.data.unit,
        list_price_fen: p.data.list_price_fen,
        cost_fen: p.data.cost_fen,
        active: p.data.active,
        version: p.version,
        created_at: rfc3339(p.created_at_ms),
        updated_at: rfc3339(p.updated_at_ms),
    }
}

fn product_response(status: StatusCode, p: Product) -> Response {
    (status, etag(p.version), Json(product_dto(p))).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProductListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Part of the code or the name.
    pub q: Option<String>,
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/products", tag = "opportunities", params(ProductListQuery),
    responses((status = 200, body = PageDto<ProductDto>), (status = 403, body = Problem)))]
async fn list_products(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ProductListQuery>,
) -> ApiResult<Json<PageDto<ProductDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = ProductFilter {
        q: q.q,
        active: q.active,
    };
    Ok(Json(PageDto::from_page(
        s.app.list_products(&actor, &filter, page).await?,
        product_dto,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub code: String,
    pub name: String,
    /// 套, 个, licence…
    pub unit: String,
    pub list_price_fen: i64,
    /// Default 0.
    #[serde(default)]
    pub cost_fen: i64,
    /// Default true.
    pub active: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/products", tag = "opportunities", request_body = NewProduct,
    responses((status = 201, body = ProductDto), (status = 403, body = Problem), (status = 422, body = Problem, description = "Invalid fields, or the code is taken (code `taken`)")))]
async fn create_product(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<NewProduct>,
) -> ApiResult<Response> {
    let data = ProductData {
        code: r.code,
        name: r.name,
        unit: r.unit,
        list_price_fen: r.list_price_fen,
        cost_fen: r.cost_fen,
        active: r.active.unwrap_or(true),
    };
    Ok(product_response(
        StatusCode::CREATED,
        s.app.create_product(&actor, data).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "opportunities", params(("id" = i64, Path)),
    responses((status = 200, body = ProductDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_product(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(product_response(
        StatusCode::OK,
        s.app.get_product(&actor, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub code: Option<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub list_price_fen: Option<i64>,
    pub cost_fen: Option<i64>,
    /// false deactivates the product.
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "opportunities", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = ProductUpdate,
    responses((status = 200, body = ProductDto), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_product(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<ProductUpdate>,
) -> ApiResult<Response> {
    let patch = ProductPatch {
        code: r.code,
        name: r.name,
        unit: r.unit,
        list_price_fen: r.list_price_fen,
        cost_fen: r.cost_fen,
        active: r.active,
    };
    Ok(product_response(
        StatusCode::OK,
        s.app.update_product(&actor, id, version, patch).await?,
    ))
}

/// Deletes a product no opportunity sells (204). A product already on opportunity lines is
/// deactivated instead, and the deactivated product is returned (200).
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "opportunities", params(("id" = i64, Path), ("If-Match" = String, Header)),
    responses((status = 204, description = "Deleted"), (status = 200, body = ProductDto, description = "In use: deactivated instead"), (status = 404, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
async fn delete_product(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
) -> ApiResult<Response> {
    Ok(match s.app.remove_product(&actor, id, version).await? {
        ProductRemoval::Deleted => StatusCode::NO_CONTENT.into_response(),
        ProductRemoval::Deactivated(p) => product_response(StatusCode::OK, p),
    })
}
