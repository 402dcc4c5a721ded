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
