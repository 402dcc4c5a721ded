//! The approval-flow editor (APPR-1): each document kind's flow as a form of step rows — the
//! step's name, how its approvers decide, who they are, and when the step applies. Adding,
//! removing and moving rows post the form with an `action` and come back re-rendered, so the
//! editor works without scripts; only saving stores anything, through the same use case as the
//! API, whose field errors are shown next to the step and field they name.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use stride_app::approvals::Flow;
use stride_app::page::PageRequest;
use stride_app::{AppError, FieldError};
use stride_domain::access::{Action, RecordKind};
use stride_domain::approvals::{
    ApproverRule, FlowDefinition, FlowKind, FlowStep, StepCondition, StepMode,
};
use stride_domain::money::{Currency, Money};

use super::approvals::kind_label;
use super::user_names;
use super::{app_error_page, render, see_other, Chrome, Fields, PageActor};
use crate::i18n::Tr;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/approval-flows", get(flows_page))
        .route("/admin/approval-flows/{kind}", post(post_flow))
}

// ---- the form as typed ------------------------------------------------------------------------

/// Row indices beyond this are ignored; the domain allows far fewer steps anyway.
const MAX_ROWS: usize = 100;

const RULE_KINDS: [&str; 4] = ["role", "department_head", "reporting_line", "user"];

/// One approver rule as typed. The fields of every kind of rule are kept (without scripts the
/// form shows them all), so switching the kind back and forth loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RuleInput {
    kind: String,
    role: String,
    levels: String,
    user_id: String,
}

/// One step as typed; the conditions are yuan and percent, blank for none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StepInput {
    name: String,
    mode: String,
    rules: Vec<RuleInput>,
    min_amount: String,
    min_discount: String,
}

/// A flow as the form holds it: what the admin typed, even where it is not valid yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FlowInput {
    steps: Vec<StepInput>,
}

/// What a press of one of the form's buttons asks for; anything unknown saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Save,
    AddStep,
    RemoveStep(usize),
    MoveUp(usize),
    MoveDown(usize),
    AddRule(usize),
    RemoveRule(usize, usize),
}

impl Edit {
    /// `add_step`, `remove_step:2`, `up:2`, `down:2`, `add_approver:2`, `remove_approver:2:0`.
    fn parse(action: &str) -> Self {
        let mut parts = action.split(':');
        let name = parts.next().unwrap_or_default();
        let mut index = || parts.next().and_then(|p| p.parse::<usize>().ok());
        match (name, index(), index()) {
            ("add_step", None, None) => Self::AddStep,
            ("remove_step", Some(i), None) => Self::RemoveStep(i),
            ("up", Some(i), None) => Self::MoveUp(i),
            ("down", Some(i), None) => Self::MoveDown(i),
            ("add_approver", Some(i), None) => Self::AddRule(i),
            ("remove_approver", Some(i), Some(j)) => Self::RemoveRule(i, j),
            _ => Self::Save,
        }
    }
}

/// `steps[3].approvers[1].role` with prefix `steps` is `(3, "approvers[1].role")`.
fn indexed<'a>(key: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('[')?;
    let (index, rest) = rest.split_once(']')?;
    let index = index.parse().ok().filter(|i| *i < MAX_ROWS)?;
    Some((index, rest.strip_prefix('.').unwrap_or(rest)))
}

/// Yuan into fen and percent into basis points are the same step: a decimal with at most two
/// places, counted in hundredths. Blank is no value.
fn parse_hundredths(text: &str) -> Result<Option<i64>, ()> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Money::parse_decimal(text, Currency::CNY)
        .map(|m| Some(m.minor))
        .map_err(|_| ())
}

/// Hundredths as the shortest decimal: `5000000` → `50000`, `1250` → `12.5`, `501` → `5.01`.
fn show_hundredths(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let (whole, rest) = (v.unsigned_abs() / 100, v.unsigned_abs() % 100);
    match rest {
        0 => format!("{sign}{whole}"),
        r if r % 10 == 0 => format!("{sign}{whole}.{}", r / 10),
        r => format!("{sign}{whole}.{r:02}"),
    }
}

impl RuleInput {
    fn new_rule() -> Self {
        Self {
            kind: "role".into(),
            levels: "1".into(),
            ..Self::default()
        }
    }

    fn from_rule(rule: &ApproverRule) -> Self {
        let mut input = Self::new_rule();
        match rule {
            ApproverRule::Role { role } => input.role = role.clone(),
            ApproverRule::DepartmentHead => input.kind = "department_head".into(),
            ApproverRule::ReportingLine { levels } => {
                input.kind = "reporting_line".into();
                input.levels = levels.to_string();
            }
            ApproverRule::User { user_id } => {
                input.kind = "user".into();
                input.user_id = user_id.to_string();
            }
        }
        input
    }

    /// The rule, or a problem at `field` when the text cannot be one (a placeholder is returned
    /// then; the flow is not saved).
    fn rule(&self, field: &str, problems: &mut Vec<FieldError>) -> ApproverRule {
        let mut refuse = |code| {
            problems.push(FieldError::new(field, code, "choose who approves"));
            ApproverRule::DepartmentHead
        };
        match self.kind.as_str() {
            // A blank role goes through: the flow's own check refuses it.
            "role" => ApproverRule::Role {
                role: self.role.trim().to_owned(),
            },
            "department_head" => ApproverRule::DepartmentHead,
            "reporting_line" => match self.levels.trim().parse() {
                Ok(levels) => ApproverRule::ReportingLine { levels },
                Err(_) => refuse("invalid"),
            },
            "user" => match self.user_id.trim().parse() {
                Ok(user_id) => ApproverRule::User { user_id },
                Err(_) => refuse("required"),
            },
            _ => refuse("required"),
        }
    }
}

impl StepInput {
    fn new_step() -> Self {
        Self {
            mode: StepMode::Any.to_string(),
            rules: vec![RuleInput::new_rule()],
            ..Self::default()
        }
    }

    fn from_step(step: &FlowStep) -> Self {
        let when = step.when.clone().unwrap_or_default();
        Self {
            name: step.name.clone(),
            mode: step.mode.to_string(),
            rules: step.approvers.iter().map(RuleInput::from_rule).collect(),
            min_amount: when.min_amount_fen.map(show_hundredths).unwrap_or_default(),
            min_discount: when
                .min_discount_bp
                .map(show_hundredths)
                .unwrap_or_default(),
        }
    }

    fn step(&self, i: usize, problems: &mut Vec<FieldError>) -> FlowStep {
        let mode = self.mode.parse().unwrap_or_else(|_| {
            problems.push(FieldError::new(
                &format!("steps[{i}].mode"),
                "required",
                "choose all or any",
            ));
            StepMode::Any
        });
        let approvers = (self.rules.iter().enumerate())
            .map(|(j, r)| r.rule(&format!("steps[{i}].approvers[{j}]"), problems))
            .collect();
        let mut bound = |text: &str, field: &str| {
            parse_hundredths(text).unwrap_or_else(|()| {
                let field = format!("steps[{i}].when.{field}");
                problems.push(FieldError::new(&field, "invalid", "not a number"));
                None
            })
        };
        let when = StepCondition {
            min_amount_fen: bound(&self.min_amount, "min_amount_yuan"),
            min_discount_bp: bound(&self.min_discount, "min_discount_percent"),
        };
        FlowStep {
            name: self.name.trim().to_owned(),
            mode,
            approvers,
            when: Some(when).filter(|w| *w != StepCondition::default()),
        }
    }
}

impl FlowInput {
    fn from_definition(definition: &FlowDefinition) -> Self {
        Self {
            steps: definition.steps.iter().map(StepInput::from_step).collect(),
        }
    }

    /// The posted form — rows in the order of their indices, gaps closed — and what was asked.
    /// Fields are named like the flow's own error paths: `steps[0].name`, `steps[0].mode`,
    /// `steps[0].approvers[1].type|role|levels|user_id`, `steps[0].when.min_amount_yuan`,
    /// `steps[0].when.min_discount_percent`.
    fn from_pairs(pairs: &[(String, String)]) -> (Self, Edit) {
        let mut steps: BTreeMap<usize, (StepInput, BTreeMap<usize, RuleInput>)> = BTreeMap::new();
        let mut edit = Edit::Save;
        for (key, value) in pairs {
            if key == "action" {
                edit = Edit::parse(value);
                continue;
            }
            let Some((i, field)) = indexed(key, "steps") else {
                continue;
            };
            let (step, rules) = steps.entry(i).or_default();
            let value = value.clone();
            match field {
                "name" => step.name = value,
                "mode" => step.mode = value,
                "when.min_amount_yuan" => step.min_amount = value,
                "when.min_discount_percent" => step.min_discount = value,
                _ => {
                    let Some((j, field)) = indexed(field, "approvers") else {
                        continue;
                    };
                    let rule = rules.entry(j).or_default();
                    match field {
                        "type" => rule.kind = value,
                        "role" => rule.role = value,
                        "levels" => rule.levels = value,
                        "user_id" => rule.user_id = value,
                        _ => {}
                    }
                }
            }
        }
        let steps = steps
            .into_values()
            .map(|(mut step, rules)| {
                step.rules = rules.into_values().collect();
                step
            })
            .collect();
        (Self { steps }, edit)
    }

    /// The flow to save, or the fields whose text is not a value at all. Whether the values
    /// make a sound flow is the use case's check.
    fn definition(&self) -> Result<FlowDefinition, Vec<FieldError>> {
        let mut problems = Vec::new();
        let steps = (self.steps.iter().enumerate())
            .map(|(i, s)| s.step(i, &mut problems))
            .collect();
        if problems.is_empty() {
            Ok(FlowDefinition { steps })
        } else {
            Err(problems)
        }
    }

    fn apply(&mut self, edit: Edit) {
        let steps = &mut self.steps;
        match edit {
            Edit::Save => {}
            Edit::AddStep => steps.push(StepInput::new_step()),
            Edit::RemoveStep(i) if i < steps.len() => {
                steps.remove(i);
            }
            Edit::MoveUp(i) if i > 0 && i < steps.len() => steps.swap(i - 1, i),
            Edit::MoveDown(i) if i + 1 < steps.len() => steps.swap(i, i + 1),
            Edit::AddRule(i) => {
                if let Some(step) = steps.get_mut(i) {
                    step.rules.push(RuleInput::new_rule());
                }
            }
            Edit::RemoveRule(i, j) => {
                if let Some(step) = steps.get_mut(i).filter(|s| j < s.rules.len()) {
                    step.rules.remove(j);
                }
            }
            Edit::RemoveStep(_) | Edit::MoveUp(_) | Edit::MoveDown(_) => {}
        }
    }
}

// ---- where a refused field shows --------------------------------------------------------------

/// The flow as a whole, or one step's name, mode, approvers, one approver rule, or conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spot {
    Flow,
    Name(usize),
    Mode(usize),
    Approvers(usize),
    Rule(usize, usize),
    When(usize),
}

fn spot(field: &str) -> Spot {
    let Some((i, rest)) = indexed(field, "steps") else {
        return Spot::Flow;
    };
    match rest {
        "name" => Spot::Name(i),
        "mode" => Spot::Mode(i),
        "approvers" => Spot::Approvers(i),
        when if when.starts_with("when") => Spot::When(i),
        other => match indexed(other, "approvers") {
            Some((j, _)) => Spot::Rule(i, j),
            None => Spot::Flow,
        },
    }
}

/// A problem in words that fit where it shows; a rule's problem depends on its kind.
fn error_text(tr: &Tr, input: &FlowInput, e: &FieldError) -> String {
    let key = match spot(&e.field) {
        Spot::Flow => e.code.clone(),
        Spot::Name(_) => "name".into(),
        Spot::Mode(_) => "mode".into(),
        Spot::Approvers(_) => "no_approver".into(),
        // A well-formed rule naming a role or user that is not there (checked by the app).
        Spot::Rule(..) if matches!(e.code.as_str(), "unknown_role" | "unknown_user") => {
            e.code.clone()
        }
        Spot::Rule(i, j) => {
            let kind = input
                .steps
                .get(i)
                .and_then(|s| s.rules.get(j))
                .map(|r| r.kind.as_str())
                .filter(|k| RULE_KINDS.contains(k))
                .unwrap_or("none");
            format!("rule_{kind}")
        }
        Spot::When(_) if e.field.ends_with("min_amount_yuan") => "amount".into(),
        Spot::When(_) if e.field.ends_with("min_discount_percent") => "discount".into(),
        Spot::When(_) => "when".into(),
    };
    let fallback = tr.t_or(&format!("field_error.{}", e.code), &e.message);
    tr.t_or(&format!("approval.flows.error.{key}"), &fallback)
}

// ---- the page ---------------------------------------------------------------------------------

type Errors = Vec<(String, String)>;

struct RuleView {
    index: usize,
    input: RuleInput,
    errors: Errors,
}

struct StepView {
    index: usize,
    title: String,
    first: bool,
    last: bool,
    name: String,
    mode: String,
    min_amount: String,
    min_discount: String,
    rules: Vec<RuleView>,
    name_errors: Errors,
    mode_errors: Errors,
    approver_errors: Errors,
    when_errors: Errors,
}

struct FlowView {
    kind: String,
    label: String,
    version: i64,
    customized: bool,
    /// The stored flow, for the read-only advanced view.
    json: String,
    steps: Vec<StepView>,
    /// Changes shown in the form but not saved yet.
    unsaved: bool,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "admin_approval_flows.html")]
struct FlowsPage {
    chrome: Chrome,
    flows: Vec<FlowView>,
    modes: Vec<(String, String)>,
    rule_kinds: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    users: Vec<(String, String)>,
}

/// A flow being edited: what the form held, what was refused, and the version it edits.
struct Edited {
    kind: FlowKind,
    input: FlowInput,
    problems: Vec<FieldError>,
    /// None when the flow changed under the admin: the form then edits the current version.
    version: Option<i64>,
}

fn flow_view(tr: &Tr, flow: Flow, edited: Option<&Edited>) -> FlowView {
    let stored;
    let (input, problems): (&FlowInput, &[FieldError]) = match edited {
        Some(e) => (&e.input, &e.problems),
        None => {
            stored = FlowInput::from_definition(&flow.definition);
            (&stored, &[])
        }
    };
    let count = input.steps.len();
    let steps = (input.steps.iter().enumerate())
        .map(|(i, s)| StepView {
            index: i,
            title: tr.f("approval.flows.step", &[("n", &(i + 1).to_string())]),
            first: i == 0,
            last: i + 1 == count,
            name: s.name.clone(),
            mode: s.mode.clone(),
            min_amount: s.min_amount.clone(),
            min_discount: s.min_discount.clone(),
            rules: (s.rules.iter().enumerate())
                .map(|(j, r)| RuleView {
                    index: j,
                    input: r.clone(),
                    errors: vec![],
                })
                .collect(),
            name_errors: vec![],
            mode_errors: vec![],
            approver_errors: vec![],
            when_errors: vec![],
        })
        .collect();
    let mut view = FlowView {
        kind: flow.kind.to_string(),
        label: kind_label(tr, flow.kind),
        version: edited.and_then(|e| e.version).unwrap_or(flow.version),
        customized: flow.customized,
        json: serde_json::to_string_pretty(&flow.definition).unwrap_or_default(),
        steps,
        unsaved: edited.is_some(),
        errors: vec![],
    };
    if edited.is_some_and(|e| e.version.is_none()) {
        view.errors
            .push(("version".into(), tr.t("approval.flows.stale")));
    }
    for p in problems {
        let entry = (p.field.clone(), error_text(tr, input, p));
        let steps = &mut view.steps;
        let slot = match spot(&p.field) {
            Spot::Flow => None,
            Spot::Name(i) => steps.get_mut(i).map(|s| &mut s.name_errors),
            Spot::Mode(i) => steps.get_mut(i).map(|s| &mut s.mode_errors),
            Spot::Approvers(i) => steps.get_mut(i).map(|s| &mut s.approver_errors),
            Spot::When(i) => steps.get_mut(i).map(|s| &mut s.when_errors),
            Spot::Rule(i, j) => (steps.get_mut(i))
                .and_then(|s| s.rules.get_mut(j))
                .map(|r| &mut r.errors),
        };
        match slot {
            Some(errors) => errors.push(entry),
            None => view.errors.push(entry),
        }
    }
    view
}

/// The roles and users to choose from, plus any the flows name that are not among them (a
/// disabled user, a role since removed), so showing a flow never changes it.
async fn choices(
    state: &AppState,
    page: &PageActor,
    flows: &[FlowView],
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let (app, actor, locale) = (&state.app, &page.actor, page.chrome.tr.locale);
    let mut roles: Vec<(String, String)> = match app.list_roles(actor).await {
        Ok(list) => list
            .iter()
            .map(|r| (r.code.clone(), r.name(locale).to_owned()))
            .collect(),
        Err(_) => vec![],
    };
    let req = PageRequest::parse(Some(200), None).unwrap_or_default();
    let filter = stride_app::org::UserFilter::default();
    let mut users: Vec<(String, String)> = match app.list_users(actor, &filter, req).await {
        Ok(p) => (p.items.into_iter())
            .filter(|u| u.active)
            .map(|u| (u.id.to_string(), u.display_name))
            .collect(),
        Err(_) => vec![],
    };
    let rules = || flows.iter().flat_map(|f| &f.steps).flat_map(|s| &s.rules);
    let known: HashSet<String> = roles.iter().map(|(code, _)| code.clone()).collect();
    let mut missing_roles: Vec<String> = rules()
        .map(|r| r.input.role.trim().to_owned())
        .filter(|code| !code.is_empty() && !known.contains(code))
        .collect();
    missing_roles.sort();
    missing_roles.dedup();
    roles.extend(missing_roles.into_iter().map(|code| (code.clone(), code)));
    let known: HashSet<String> = users.iter().map(|(id, _)| id.clone()).collect();
    let mut missing_users: Vec<i64> = rules()
        .filter_map(|r| r.input.user_id.trim().parse().ok())
        .filter(|id: &i64| !known.contains(&id.to_string()))
        .collect();
    missing_users.sort_unstable();
    missing_users.dedup();
    let names = user_names(app, actor, missing_users.clone()).await;
    users.extend(missing_users.into_iter().map(|id| {
        let name = names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        (id.to_string(), name)
    }));
    (roles, users)
}

async fn flows_view(
    state: &AppState,
    page: PageActor,
    edited: Option<Edited>,
    status: StatusCode,
) -> Response {
    let flows = match state.app.approval_flows(&page.actor).await {
        Ok(f) => f,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let tr = page.chrome.tr;
    let flows: Vec<FlowView> = flows
        .into_iter()
        .map(|f| {
            let mine = edited.as_ref().filter(|e| e.kind == f.kind);
            flow_view(&tr, f, mine)
        })
        .collect();
    let (roles, users) = choices(state, &page, &flows).await;
    let modes = [StepMode::All, StepMode::Any]
        .iter()
        .map(|m| (m.to_string(), tr.t(&format!("approval.mode.{m}"))))
        .collect();
    let rule_kinds = RULE_KINDS
        .iter()
        .map(|k| (k.to_string(), tr.t(&format!("approval.flows.rule.{k}"))))
        .collect();
    let page = FlowsPage {
        flows,
        modes,
        rule_kinds,
        roles,
        users,
        chrome: page.chrome,
    };
    (status, render(&page)).into_response()
}

async fn flows_page(State(state): State<AppState>, page: PageActor) -> Response {
    flows_view(&state, page, None, StatusCode::OK).await
}

/// Saves a flow, or applies a row edit and shows the form again with nothing stored.
async fn post_flow(
    State(state): State<AppState>,
    page: PageActor,
    Path(kind): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    if let Err(r) = page.check_csrf(fields.one("_csrf")) {
        return r;
    }
    let Ok(kind) = kind.parse::<FlowKind>() else {
        return app_error_page(&page.chrome, AppError::NotFound);
    };
    if let Err(e) = page.actor.require(RecordKind::Settings, Action::Edit) {
        return app_error_page(&page.chrome, e);
    }
    let version = fields.version();
    let (mut input, edit) = FlowInput::from_pairs(&fields.0);
    let edited = |input, problems, version| {
        Some(Edited {
            kind,
            input,
            problems,
            version,
        })
    };
    if edit != Edit::Save {
        input.apply(edit);
        let edited = edited(input, vec![], Some(version));
        return flows_view(&state, page, edited, StatusCode::OK).await;
    }
    let result = match input.definition() {
        Ok(definition) => {
            state
                .app
                .set_approval_flow(&page.actor, kind, definition, version)
                .await
        }
        Err(problems) => Err(AppError::Validation(problems)),
    };
    match result {
        Ok(_) => see_other(&format!("/admin/approval-flows?notice=saved#flow-{kind}")),
        Err(AppError::Validation(problems)) => {
            let edited = edited(input, problems, Some(version));
            flows_view(&state, page, edited, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        // Keep what the admin typed; saving again knowingly replaces the other version.
        Err(AppError::Stale) => {
            let edited = edited(input, vec![], None);
            flows_view(&state, page, edited, StatusCode::PRECONDITION_FAILED).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_posted_rows_become_the_flow_in_index_order() {
        let (input, edit) = FlowInput::from_pairs(&pairs(&[
            ("_csrf", "x"),
            ("version", "3"),
            ("steps[5].name", " 财务 finance "),
            ("steps[5].mode", "any"),
            ("steps[5].approvers[0].type", "role"),
            ("steps[5].approvers[0].role", "finance"),
            ("steps[5].approvers[0].levels", "1"),
            ("steps[5].when.min_amount_yuan", "50,000.5"),
            ("steps[5].when.min_discount_percent", ""),
            ("steps[1].name", "经理 manager"),
            ("steps[1].mode", "all"),
            ("steps[1].approvers[2].type", "user"),
            ("steps[1].approvers[2].user_id", "7"),
            ("steps[1].approvers[0].type", "reporting_line"),
            ("steps[1].approvers[0].levels", "2"),
            ("steps[1].approvers[1].type", "department_head"),
            ("steps[1].when.min_discount_percent", "12.5"),
            ("action", "save"),
        ]));
        assert_eq!(edit, Edit::Save);
        let flow = input.definition().unwrap();
        assert_eq!(
            flow,
            FlowDefinition {
                steps: vec![
                    FlowStep {
                        name: "经理 manager".into(),
                        mode: StepMode::All,
                        approvers: vec![
                            ApproverRule::ReportingLine { levels: 2 },
                            ApproverRule::DepartmentHead,
                            ApproverRule::User { user_id: 7 },
                        ],
                        when: Some(StepCondition {
                            min_amount_fen: None,
                            min_discount_bp: Some(1_250),
                        }),
                    },
                    FlowStep {
                        name: "财务 finance".into(),
                        mode: StepMode::Any,
                        approvers: vec![ApproverRule::Role {
                            role: "finance".into()
                        }],
                        when: Some(StepCondition {
                            min_amount_fen: Some(5_000_050),
                            min_discount_bp: None,
                        }),
                    },
                ],
            }
        );
    }

    #[test]
    fn every_shipped_flow_survives_the_form_unchanged() {
        for kind in FlowKind::ALL {
            let flow = FlowDefinition::default_for(*kind);
            let input = FlowInput::from_definition(&flow);
            assert_eq!(input.definition(), Ok(flow), "{kind}");
        }
        let input = FlowInput::from_definition(&FlowDefinition::default_for(FlowKind::Discount));
        assert_eq!(input.steps[0].min_discount, "5.01");
        assert_eq!(input.steps[1].min_discount, "20");
    }

    #[test]
    fn text_that_is_no_value_is_refused_by_field() {
        let (input, _) = FlowInput::from_pairs(&pairs(&[
            ("steps[0].name", "a"),
            ("steps[0].mode", "some"),
            ("steps[0].approvers[0].type", "reporting_line"),
            ("steps[0].approvers[0].levels", "many"),
            ("steps[0].approvers[1].type", "user"),
            ("steps[0].approvers[1].user_id", ""),
            ("steps[0].approvers[2].role", "legal"),
            ("steps[0].when.min_amount_yuan", "abc"),
            ("steps[0].when.min_discount_percent", "1.234"),
        ]));
        let fields: Vec<String> = input
            .definition()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "steps[0].mode",
                "steps[0].approvers[0]",
                "steps[0].approvers[1]",
                "steps[0].approvers[2]",
                "steps[0].when.min_amount_yuan",
                "steps[0].when.min_discount_percent",
            ]
        );
        // Values that parse but make no sound flow are left to the flow's own check.
        let (input, _) = FlowInput::from_pairs(&pairs(&[
            ("steps[0].name", "a"),
            ("steps[0].mode", "any"),
            ("steps[0].approvers[0].type", "role"),
            ("steps[0].approvers[0].role", ""),
            ("steps[0].when.min_amount_yuan", "-1"),
        ]));
        let flow = input.definition().unwrap();
        let refused: Vec<String> = flow
            .check()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(refused, ["steps[0].approvers[0]", "steps[0].when"]);
    }

    #[test]
    fn buttons_add_remove_and_move_rows() {
        let step = |name: &str| StepInput {
            name: name.into(),
            ..StepInput::new_step()
        };
        let mut flow = FlowInput {
            steps: vec![step("a"), step("b"), step("c")],
        };
        let names = |f: &FlowInput| f.steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        for (action, want) in [
            ("up:2", ["a", "c", "b"].as_slice()),
            ("up:0", &["a", "c", "b"]),
            ("down:0", &["c", "a", "b"]),
            ("down:2", &["c", "a", "b"]),
            ("remove_step:1", &["c", "b"]),
            ("remove_step:9", &["c", "b"]),
            ("add_step", &["c", "b", ""]),
        ] {
            flow.apply(Edit::parse(action));
            assert_eq!(names(&flow), want, "{action}");
        }
        flow.apply(Edit::parse("add_approver:0"));
        assert_eq!(flow.steps[0].rules.len(), 2);
        flow.apply(Edit::parse("remove_approver:0:0"));
        flow.apply(Edit::parse("remove_approver:0:5"));
        assert_eq!(flow.steps[0].rules, [RuleInput::new_rule()]);
        assert_eq!(Edit::parse("up:x"), Edit::Save);
        assert_eq!(Edit::parse(""), Edit::Save);
    }

    #[test]
    fn errors_show_at_their_step_and_field() {
        assert_eq!(spot("steps"), Spot::Flow);
        assert_eq!(spot("steps[2].name"), Spot::Name(2));
        assert_eq!(spot("steps[2].mode"), Spot::Mode(2));
        assert_eq!(spot("steps[2].approvers"), Spot::Approvers(2));
        assert_eq!(spot("steps[2].approvers[1]"), Spot::Rule(2, 1));
        assert_eq!(spot("steps[2].when"), Spot::When(2));
        assert_eq!(spot("steps[2].when.min_amount_yuan"), Spot::When(2));
        assert_eq!(spot("version"), Spot::Flow);
    }

    #[test]
    fn every_text_the_editor_builds_exists_in_both_languages() {
        let errors = [
            "required",
            "too_many",
            "unknown_user",
            "name",
            "mode",
            "no_approver",
            "unknown_role",
            "unknown_user",
            "rule_role",
            "rule_reporting_line",
            "rule_user",
            "rule_none",
            "when",
            "amount",
            "discount",
        ];
        let keys = (RULE_KINDS
            .iter()
            .map(|k| format!("approval.flows.rule.{k}")))
        .chain(errors.iter().map(|e| format!("approval.flows.error.{e}")))
        .chain(["approval.flows.step".into(), "approval.flows.stale".into()]);
        for key in keys {
            for locale in ["zh-CN", "en"] {
                assert_ne!(Tr::new(locale).t(&key), key, "{locale}");
            }
        }
        let tr = Tr::new("en");
        assert_eq!(tr.f("approval.flows.step", &[("n", "2")]), "Step 2");
        let (input, _) = FlowInput::from_pairs(&pairs(&[("steps[0].approvers[0].type", "user")]));
        let refused = FieldError::new("steps[0].approvers[0]", "invalid", "…");
        assert_eq!(error_text(&tr, &input, &refused), "Choose a user.");
    }

    #[test]
    fn hundredths_read_and_show_as_short_decimals() {
        assert_eq!(show_hundredths(5_000_000), "50000");
        assert_eq!(show_hundredths(1_250), "12.5");
        assert_eq!(show_hundredths(501), "5.01");
        assert_eq!(show_hundredths(-100), "-1");
        assert_eq!(parse_hundredths(" "), Ok(None));
        assert_eq!(parse_hundredths("5.01"), Ok(Some(501)));
        assert_eq!(parse_hundredths("5%"), Err(()));
    }
}
