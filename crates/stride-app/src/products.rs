//! The product catalogue (OPP-2): what opportunities sell, with list price and cost in fen.
//! Everyone in sales reads it; managers and admins keep it. A product already sold on an
//! opportunity is deactivated rather than deleted, so old lines keep their product.

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::opportunities::MAX_AMOUNT_FEN;
use stride_domain::validate;

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, Problems};
use crate::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub id: i64,
    #[serde(flatten)]
    pub data: ProductData,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What a user writes about a product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProductData {
    /// Unique, e.g. `CRM-STD`.
    pub code: String,
    pub name: String,
    /// 套, 个, licence, user/year…
    pub unit: String,
    pub list_price_fen: i64,
    pub cost_fen: i64,
    /// Inactive products stay on old opportunities but cannot be added to lines.
    pub active: bool,
}

/// A partial change: absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub list_price_fen: Option<i64>,
    pub cost_fen: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Part of the code or the name.
    pub q: Option<String>,
    pub active: Option<bool>,
}

/// What deleting a product did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductRemoval {
    Deleted,
    /// The product is on opportunity lines, so it was deactivated instead.
    Deactivated(Product),
}

fn checked_product(mut d: ProductData) -> AppResult<ProductData> {
    let mut p = Problems::default();
    match validate::required_text(&d.code, 50) {
        Some(c) if !c.contains(char::is_whitespace) => d.code = c,
        _ => p.add(
            "code",
            "required",
            "a code of 1 to 50 characters without spaces",
        ),
    }
    match validate::required_text(&d.name, 200) {
        Some(n) => d.name = n,
        None => p.add(
            "name",
            "required",
            "the product's name is required (at most 200 characters)",
        ),
    }
    match validate::required_text(&d.unit, 20) {
        Some(u) => d.unit = u,
        None => p.add("unit", "required", "a unit of 1 to 20 characters"),
    }
    for (field, v) in [
        ("list_price_fen", d.list_price_fen),
        ("cost_fen", d.cost_fen),
    ] {
        if v < 0 {
            p.add(field, "negative", "cannot be negative");
        } else if v > MAX_AMOUNT_FEN {
            p.add(field, "out_of_range", "larger than Stride accepts");
        }
    }
    p.into_result()?;
    Ok(d)
}

impl App {
    pub async fn list_products(
        &self,
        actor: &Actor,
        filter: &ProductFilter,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        actor.require(RecordKind::Product, Action::View)?;
        let rows = self.store.products(filter, page).await?;
        Ok(Page::from_rows(rows, page, |p| p.id))
    }

    pub async fn get_product(&self, actor: &Actor, id: i64) -> AppResult<Product> {
        actor.require(RecordKind::Product, Action::View)?;
        self.store.product(id).await?.ok_or(AppError::NotFound)
    }

    pub async fn create_product(&self, actor: &Actor, data: ProductData) -> AppResult<Product> {
        actor.require(RecordKind::Product, Action::Create)?;
        let data = checked_product(data)?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx.insert_product(&data, now).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Product,
            created.id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_product(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        patch: ProductPatch,
    ) -> AppResult<Product> {
        let before = self.get_product(actor, id).await?;
        actor.require(RecordKind::Product, Action::Edit)?;
        let b = before.data.clone();
        let data = checked_product(ProductData {
            code: patch.code.unwrap_or(b.code),
            name: patch.name.unwrap_or(b.name),
            unit: patch.unit.unwrap_or(b.unit),
            list_price_fen: patch.list_price_fen.unwrap_or(b.list_price_fen),
            cost_fen: patch.cost_fen.unwrap_or(b.cost_fen),
            active: patch.active.unwrap_or(b.active),
        })?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx.update_product(id, version, &data, now).await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Product,
            id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a product nobody sold yet; one already on opportunity lines is deactivated
    /// instead, so those lines keep their product.
    pub async fn remove_product(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
    ) -> AppResult<ProductRemoval> {
        let before = self.get_product(actor, id).await?;
        actor.require(RecordKind::Product, Action::Delete)?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let removal = if tx.product_in_use(id).await? {
            let data = ProductData {
                active: false,
                ..before.data.clone()
            };
            let after = tx.update_product(id, version, &data, now).await?;
            let mut entry =
                NewAuditEntry::updated(actor, RecordKind::Product, id, &before, &after, now);
            entry.action = "deactivate";
            tx.audit(&entry).await?;
            ProductRemoval::Deactivated(after)
        } else {
            tx.delete_product(id, version).await?;
            tx.audit(&NewAuditEntry::deleted(
                actor,
                RecordKind::Product,
                id,
                &before,
                now,
            ))
            .await?;
            ProductRemoval::Deleted
        };
        tx.commit().await?;
        Ok(removal)
    }
}
