//! Organisation settings: name, time zone, currency.

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::customers::CustomerTier;
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesPolicy {
    pub grading: stride_domain::leads::GradingRules,
    pub response: stride_domain::leads::ResponsePolicy,
    pub pool: PoolPolicy,
    pub tier_weights: stride_domain::customers::TierWeights,
    pub tier_thresholds: stride_domain::customers::TierThresholds,
    /// Each tier's service policy; a policy stored before tiers had their own takes the defaults.
    pub tiers: TierPolicies,
}

/// The per-rep ownership cap of the public pool; how long a quiet customer stays owned is
/// each tier's own (see [`TierService`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolPolicy {
    /// Most customers one rep may own.
    pub ownership_cap: i64,
}

impl Default for PoolPolicy {
    fn default() -> Self {
        Self {
            ownership_cap: crate::customers::DEFAULT_OWNERSHIP_CAP,
        }
    }
}

/// How the organisation serves the customers of one tier (CUST-3, CUST-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierService {
    /// Days without a follow-up before an owned customer returns to the public pool.
    pub return_days: i64,
    /// Days before that return when the owner is warned.
    pub warning_days: i64,
    /// Hours within which the customer's requests are answered.
    pub response_hours: i64,
    /// Days between visits or calls; a customer left longer is due a revisit.
    pub revisit_days: i64,
    /// Who serves the tier, in words: a team or a role such as "cross-department VIP team".
    /// Words rather than a department because a tier is often served across departments.
    #[serde(default)]
    pub served_by: String,
}

/// The service policy of each tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierPolicies {
    pub strategic: TierService,
    pub core: TierService,
    pub ordinary: TierService,
}

impl Default for TierPolicies {
    fn default() -> Self {
        let service = |days: [i64; 4], served_by: &str| TierService {
            return_days: days[0],
            warning_days: days[1],
            response_hours: days[2],
            revisit_days: days[3],
            served_by: served_by.to_owned(),
        };
        Self {
            strategic: service(
                [90, 7, 4, 14],
                "跨部门 VIP 团队 / cross-department VIP team",
            ),
            core: service([60, 7, 24, 30], "区域经理 / regional manager"),
            ordinary: service([30, 5, 48, 60], "标准流程 / standard process"),
        }
    }
}

impl TierPolicies {
    pub fn of(&self, tier: CustomerTier) -> &TierService {
        match tier {
            CustomerTier::Strategic => &self.strategic,
            CustomerTier::Core => &self.core,
            CustomerTier::Ordinary => &self.ordinary,
        }
    }

    /// The policy of a stored tier name; anything unknown is served as ordinary.
    pub fn of_name(&self, tier: &str) -> &TierService {
        self.of(tier.parse().unwrap_or(CustomerTier::Ordinary))
    }
}

impl SalesPolicy {
    /// Reads a stored policy. Before tiers had their own service policies the pool had one
    /// return period for everybody; those two fields are superseded by the tiers' and dropped.
    fn from_stored(text: &str) -> serde_json::Result<Self> {
        let mut doc: serde_json::Value = serde_json::from_str(text)?;
        if let Some(pool) = doc.get_mut("pool").and_then(|p| p.as_object_mut()) {
            pool.remove("return_days");
            pool.remove("warning_days");
        }
        serde_json::from_value(doc)
    }

    /// Validates every value and tidies the texts; errors name the field, e.g. `tiers.core.return_days`.
    fn checked(mut self) -> AppResult<Self> {
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
        p.check(
            (1..=100_000).contains(&self.pool.ownership_cap),
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
        for tier in CustomerTier::ALL {
            let s = match tier {
                CustomerTier::Strategic => &mut self.tiers.strategic,
                CustomerTier::Core => &mut self.tiers.core,
                CustomerTier::Ordinary => &mut self.tiers.ordinary,
            };
            let field = |name: &str| format!("tiers.{tier}.{name}");
            let return_ok = (1..=3650).contains(&s.return_days);
            p.check(
                return_ok,
                &field("return_days"),
                "out_of_range",
                "return days are 1 to 3650",
            );
            // Measured against the return days only when those are right themselves.
            p.check(
                !return_ok || (0..s.return_days).contains(&s.warning_days),
                &field("warning_days"),
                "out_of_range",
                "warn 0 or more days before, and fewer than the return days",
            );
            p.check(
                (1..=720).contains(&s.response_hours),
                &field("response_hours"),
                "out_of_range",
                "response hours are 1 to 720",
            );
            p.check(
                (1..=365).contains(&s.revisit_days),
                &field("revisit_days"),
                "out_of_range",
                "revisit days are 1 to 365",
            );
            s.served_by = s.served_by.trim().to_owned();
            p.check(
                s.served_by.chars().count() <= 200,
                &field("served_by"),
                "too_long",
                "at most 200 characters",
            );
        }
        p.into_result()?;
        Ok(self)
    }
}

impl App {
    /// The organisation's sales policy and the settings version it belongs to.
    pub async fn sales_policy(&self) -> AppResult<(SalesPolicy, i64)> {
        let (json, version) = self.store.sales_policy().await?;
        let policy = match json {
            Some(text) => SalesPolicy::from_stored(&text)
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
        let policy = policy.checked()?;
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
