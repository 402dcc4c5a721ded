//! Organisation settings: name, time zone, currency.

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::money::Currency;
use stride_domain::validate;

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppResult, Problems};
use crate::App;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgSettings {
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    /// The department whose queue receives leads from the public web form; `None` turns it off.
    pub lead_form_department_id: Option<i64>,
    pub version: i64,
}

#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    pub lead_form_department_id: Option<Option<i64>>,
}

impl App {
    /// Everyone signed in reads the settings: they decide how every page shows times and money.
    pub async fn org_settings(&self) -> AppResult<OrgSettings> {
        Ok(self.store.org_settings().await?)
    }

    pub async fn update_org_settings(
        &self,
        actor: &Actor,
        version: i64,
        patch: SettingsPatch,
    ) -> AppResult<OrgSettings> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        let before = self.store.org_settings().await?;
        let mut next = OrgSettings {
            name: patch.name.unwrap_or_else(|| before.name.clone()),
            time_zone: patch.time_zone.unwrap_or_else(|| before.time_zone.clone()),
            currency: patch.currency.unwrap_or_else(|| before.currency.clone()),
            lead_form_department_id: patch
                .lead_form_department_id
                .unwrap_or(before.lead_form_department_id),
            version,
        };
        let mut p = Problems::default();
        match validate::required_text(&next.name, 100) {
            Some(n) => next.name = n,
            None => p.add(
                "name",
                "required",
                "the organisation needs a name (at most 100 characters)",
            ),
        }
        p.check(
            validate::is_valid_time_zone(&next.time_zone),
            "time_zone",
            "invalid",
            "unknown time zone",
        );
        match Currency::parse(&next.currency) {
            Ok(c) => next.currency = c.as_str().to_owned(),
            Err(_) => p.add(
                "currency",
                "invalid",
                "a three-letter ISO 4217 code such as CNY",
            ),
        }
        if let Some(department) = next.lead_form_department_id {
            if self
                .store
                .department(&crate::Reach::All, department)
                .await?
                .is_none()
            {
                p.add(
                    "lead_form_department_id",
                    "not_found",
                    "the department does not exist",
                );
            }
        }
        p.into_result()?;
        let mut tx = self.store.begin().await?;
        let after = tx
            .update_org_settings(version, &next, self.now_ms())
            .await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Settings,
            1,
            &before,
            &after,
            self.now_ms(),
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// How the sales process is tuned (LEAD-3, LEAD-4, CUST-3, CUST-4); every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesPolicy {
    pub grading: stride_domain::leads::GradingRules,
    pub response: stride_domain::leads::ResponsePolicy,
    pub pool: PoolPolicy,
    pub tier_weights: stride_domain::customers::TierWeights,
    pub tier_thresholds: stride_domain::customers::TierThresholds,
}

/// The public pool's tides and the per-rep ownership cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolPolicy {
    /// Days without a follow-up before an owned customer returns to the pool.
    pub return_days: i64,
    /// Days before that return when the owner is warned.
    pub warning_days: i64,
    /// Most customers one rep may own.
    pub ownership_cap: i64,
}

impl Default for PoolPolicy {
    fn default() -> Self {
        Self {
            return_days: 30,
            warning_days: 3,
            ownership_cap: crate::customers::DEFAULT_OWNERSHIP_CAP,
        }
    }
}

impl SalesPolicy {
    fn check(&self) -> AppResult<()> {
        let mut p = Problems::default();
        let r = &self.response;
        p.check(
            (1..=720).contains(&r.a_hours) && (1..=720).contains(&r.b_hours),
            "response",
            "out_of_range",
            "response hours are 1 to 720",
        );
        p.check(
            (1..=365).contains(&r.c_nurture_days),
            "response",
            "out_of_range",
            "nurture days are 1 to 365",
        );
        let pool = &self.pool;
        p.check(
            (1..=3650).contains(&pool.return_days),
            "pool",
            "out_of_range",
            "return days are 1 to 3650",
        );
        p.check(
            (0..pool.return_days).contains(&pool.warning_days),
            "pool",
            "out_of_range",
            "warn fewer days before than the return itself",
        );
        p.check(
            (1..=100_000).contains(&pool.ownership_cap),
            "pool",
            "out_of_range",
            "the ownership cap is 1 to 100000",
        );
        let t = &self.tier_thresholds;
        p.check(
            t.core <= t.strategic && t.strategic <= 100,
            "tier_thresholds",
            "order",
            "core ≤ strategic ≤ 100",
        );
        let w = &self.tier_weights;
        p.check(
            w.contribution + w.potential + w.payment > 0,
            "tier_weights",
            "zero",
            "at least one weight above 0",
        );
        p.into_result()
    }
}

impl App {
    /// The organisation's sales policy and the settings version it belongs to.
    pub async fn sales_policy(&self) -> AppResult<(SalesPolicy, i64)> {
        let (json, version) = self.store.sales_policy().await?;
        let policy = match json {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| crate::AppError::Internal(format!("stored sales policy: {e}")))?,
            None => SalesPolicy::default(),
        };
        Ok((policy, version))
    }

    pub async fn update_sales_policy(
        &self,
        actor: &Actor,
        version: i64,
        policy: SalesPolicy,
    ) -> AppResult<(SalesPolicy, i64)> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        policy.check()?;
        let (before, _) = self.sales_policy().await?;
        let json =
            serde_json::to_string(&policy).map_err(|e| crate::AppError::Internal(e.to_string()))?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let version = tx.set_sales_policy(version, &json, now).await?;
        let mut entry =
            NewAuditEntry::updated(actor, RecordKind::Settings, 1, &before, &policy, now);
        entry.action = "update_sales_policy";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok((policy, version))
    }
}
