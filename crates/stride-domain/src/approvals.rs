//! The approval engine's rules (APPR-1…3): flows of steps per document kind, who approves a
//! step, when a step applies, and what the approvers' decisions add up to. No I/O here; the
//! use cases in `stride-app` persist requests and tasks and call these functions.

use serde::{Deserialize, Serialize};

use crate::text_enum;

text_enum!(
    /// The document kinds that go through a flow (APPR-1). Each has exactly one flow.
    FlowKind {
        ProposalReview => "proposal_review",
        Discount => "discount",
        Contract => "contract",
        Expense => "expense",
        Budget => "budget",
        OverBudget => "over_budget",
        ChangeConfirmation => "change_confirmation",
    }
);

text_enum!(
    /// How the approvers of one step decide: every one of them, or the first to act.
    StepMode {
        All => "all",
        Any => "any",
    }
);

text_enum!(
    /// What an approver may answer.
    Decision {
        Approve => "approve",
        Reject => "reject",
        /// Back to the requester for changes; a later resubmission starts the flow again.
        Return => "return",
    }
);

text_enum!(
    /// Where one approver's task stands.
    TaskState {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Returned => "returned",
        /// Another approver of an `any` step decided first, or the request ended.
        Skipped => "skipped",
        /// The record changed under review; the task was replaced by a fresh one.
        Superseded => "superseded",
    }
);

text_enum!(
    /// Where a whole request stands.
    RequestStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Returned => "returned",
        Withdrawn => "withdrawn",
    }
);

impl RequestStatus {
    /// While pending, the record is locked against edits by anyone but its requester (APPR-3).
    pub fn is_open(self) -> bool {
        self == Self::Pending
    }
}

/// Who approves a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ApproverRule {
    /// Every active user holding the role (e.g. `legal`, `finance`).
    Role { role: String },
    /// The supervisors and managers of the requester's department, else of the nearest
    /// department above it that has one.
    DepartmentHead,
    /// The requester's manager, and `levels - 1` managers above them.
    ReportingLine { levels: u8 },
    /// One named user.
    User { user_id: i64 },
}

/// When a step applies. A step with no condition always applies; with both bounds, either suffices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepCondition {
    /// Applies when the amount is at least this many fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount_fen: Option<i64>,
    /// Applies when the discount is at least this many basis points (100 = 1 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_discount_bp: Option<i64>,
}

impl StepCondition {
    pub fn holds(&self, facts: &Facts) -> bool {
        match (self.min_amount_fen, self.min_discount_bp) {
            (None, None) => true,
            (amount, discount) => {
                amount.is_some_and(|a| facts.amount_fen >= a)
                    || discount.is_some_and(|d| facts.discount_bp >= d)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowStep {
    pub name: String,
    pub mode: StepMode,
    pub approvers: Vec<ApproverRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<StepCondition>,
}

/// A flow: steps in sequence; the approvers of one step decide in parallel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDefinition {
    pub steps: Vec<FlowStep>,
}

/// What a flow's conditions look at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub amount_fen: i64,
    pub discount_bp: i64,
}

/// A problem with a flow definition: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowProblem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FlowDefinition {
    pub const MAX_STEPS: usize = 12;

    /// Refuses flows that could never finish or that name nobody.
    pub fn check(&self) -> Result<(), Vec<FlowProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: String, code, message: &str| {
            problems.push(FlowProblem {
                field,
                code,
                message: message.to_owned(),
            })
        };
        if self.steps.is_empty() {
            problem("steps".into(), "required", "a flow needs at least one step");
        }
        if self.steps.len() > Self::MAX_STEPS {
            problem("steps".into(), "too_many", "at most 12 steps");
        }
        for (i, step) in self.steps.iter().enumerate() {
            let name = step.name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                problem(
                    format!("steps[{i}].name"),
                    "invalid",
                    "a step needs a name of 1–80 characters",
                );
            }
            if step.approvers.is_empty() {
                problem(
                    format!("steps[{i}].approvers"),
                    "required",
                    "a step needs at least one approver rule",
                );
            }
            for (j, rule) in step.approvers.iter().enumerate() {
                let bad = match rule {
                    ApproverRule::Role { role } => role.trim().is_empty(),
                    ApproverRule::ReportingLine { levels } => !(1..=5).contains(levels),
                    ApproverRule::User { user_id } => *user_id <= 0,
                    ApproverRule::DepartmentHead => false,
                };
                if bad {
                    problem(
                        format!("steps[{i}].approvers[{j}]"),
                        "invalid",
                        "role must be named, reporting line levels 1–5, user id positive",
                    );
                }
            }
            if let Some(c) = &step.when {
                if c.min_amount_fen.is_some_and(|a| a < 0)
                    || c.min_discount_bp
                        .is_some_and(|d| !(0..=10_000).contains(&d))
                {
                    problem(
                        format!("steps[{i}].when"),
                        "invalid",
                        "amount must not be negative; discount is 0–10000 basis points",
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The first step at or after `from` whose condition holds, if any.
    pub fn next_applicable(&self, from: usize, facts: &Facts) -> Option<usize> {
        (from..self.steps.len()).find(|&i| {
            self.steps[i]
                .when
                .as_ref()
                .is_none_or(|condition| condition.holds(facts))
        })
    }

    /// The flows Stride ships with, following the seed documents: proposals reviewed by product,
    /// technical, legal and finance together; discounts by the reporting line, large ones also by
    /// leadership; contracts legal → sales → finance.
    pub fn default_for(kind: FlowKind) -> Self {
        let role = |r: &str| ApproverRule::Role { role: r.into() };
        let step = |name: &str, mode, approvers, when| FlowStep {
            name: name.into(),
            mode,
            approvers,
            when,
        };
        let steps = match kind {
            FlowKind::ProposalReview => vec![step(
                "产品·技术·法务·财务 product, technical, legal, finance",
                StepMode::All,
                vec![role("expert"), role("legal"), role("finance")],
                None,
            )],
            FlowKind::Discount => vec![
                // A rep grants up to 5 % alone; the manager approves beyond, leadership from 20 %.
                step(
                    "销售经理 manager",
                    StepMode::Any,
                    vec![ApproverRule::ReportingLine { levels: 1 }],
                    Some(StepCondition {
                        min_amount_fen: None,
                        min_discount_bp: Some(501),
                    }),
                ),
                step(
                    "公司领导 leadership",
                    StepMode::Any,
                    vec![role("leadership")],
                    Some(StepCondition {
                        min_amount_fen: None,
                        min_discount_bp: Some(2_000),
                    }),
                ),
            ],
            FlowKind::Contract => vec![
                step("法务 legal", StepMode::Any, vec![role("legal")], None),
                step(
                    "销售负责人 sales",
                    StepMode::Any,
                    vec![ApproverRule::DepartmentHead],
                    None,
                ),
                step("财务 finance", StepMode::Any, vec![role("finance")], None),
            ],
            FlowKind::Expense
            | FlowKind::Budget
            | FlowKind::OverBudget
            | FlowKind::ChangeConfirmation => vec![
                step(
                    "销售经理 manager",
                    StepMode::Any,
                    vec![ApproverRule::ReportingLine { levels: 1 }],
                    None,
                ),
                step("财务 finance", StepMode::Any, vec![role("finance")], None),
            ],
        };
        Self { steps }
    }
}

/// What the tasks of one step add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Waiting,
    Passed,
    Rejected,
    Returned,
}

/// A rejection or return by anyone ends the step at once; otherwise `all` waits for every
/// approver and `any` for the first.
pub fn step_outcome(mode: StepMode, tasks: &[TaskState]) -> StepOutcome {
    if tasks.contains(&TaskState::Rejected) {
        return StepOutcome::Rejected;
    }
    if tasks.contains(&TaskState::Returned) {
        return StepOutcome::Returned;
    }
    let approved = tasks.iter().filter(|t| **t == TaskState::Approved).count();
    let passed = match mode {
        StepMode::All => approved > 0 && approved == tasks.len(),
        StepMode::Any => approved > 0,
    };
    if passed {
        StepOutcome::Passed
    } else {
        StepOutcome::Waiting
    }
}

impl Decision {
    pub fn task_state(self) -> TaskState {
        match self {
            Self::Approve => TaskState::Approved,
            Self::Reject => TaskState::Rejected,
            Self::Return => TaskState::Returned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskState::*;

    #[test]
    fn all_waits_for_everyone_any_for_the_first() {
        assert_eq!(
            step_outcome(StepMode::All, &[Approved, Pending]),
            StepOutcome::Waiting
        );
        assert_eq!(
            step_outcome(StepMode::All, &[Approved, Approved]),
            StepOutcome::Passed
        );
        assert_eq!(
            step_outcome(StepMode::Any, &[Pending, Approved]),
            StepOutcome::Passed
        );
        assert_eq!(step_outcome(StepMode::Any, &[]), StepOutcome::Waiting);
    }

    #[test]
    fn one_rejection_or_return_ends_the_step() {
        assert_eq!(
            step_outcome(StepMode::Any, &[Approved, Rejected]),
            StepOutcome::Rejected
        );
        assert_eq!(
            step_outcome(StepMode::All, &[Pending, Returned]),
            StepOutcome::Returned
        );
    }

    #[test]
    fn conditional_steps_apply_only_when_the_facts_reach_them() {
        let flow = FlowDefinition::default_for(FlowKind::Discount);
        let small = Facts {
            amount_fen: 10_000_000,
            discount_bp: 1_000,
        };
        let large = Facts {
            amount_fen: 10_000_000,
            discount_bp: 2_500,
        };
        let within_authority = Facts {
            amount_fen: 10_000_000,
            discount_bp: 500,
        };
        assert_eq!(flow.next_applicable(0, &within_authority), None);
        assert_eq!(flow.next_applicable(0, &small), Some(0));
        assert_eq!(flow.next_applicable(1, &small), None);
        assert_eq!(flow.next_applicable(1, &large), Some(1));
    }

    #[test]
    fn a_condition_on_amount_or_discount_holds_when_either_is_reached() {
        let c = StepCondition {
            min_amount_fen: Some(100_000_000),
            min_discount_bp: Some(1_500),
        };
        let facts = |amount_fen, discount_bp| Facts {
            amount_fen,
            discount_bp,
        };
        assert!(c.holds(&facts(100_000_000, 0)));
        assert!(c.holds(&facts(0, 1_500)));
        assert!(!c.holds(&facts(99_999_999, 1_499)));
        assert!(StepCondition::default().holds(&facts(0, 0)));
    }

    #[test]
    fn every_shipped_flow_is_valid_and_bad_ones_are_refused_by_field() {
        for kind in FlowKind::ALL {
            assert_eq!(FlowDefinition::default_for(*kind).check(), Ok(()), "{kind}");
        }
        let bad = FlowDefinition {
            steps: vec![FlowStep {
                name: " ".into(),
                mode: StepMode::All,
                approvers: vec![ApproverRule::ReportingLine { levels: 9 }],
                when: None,
            }],
        };
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["steps[0].name", "steps[0].approvers[0]"]);
        assert!(FlowDefinition { steps: vec![] }.check().is_err());
    }

    #[test]
    fn rules_read_and_write_as_tagged_json() {
        let rule: ApproverRule = serde_json::from_str(r#"{"type":"role","role":"legal"}"#).unwrap();
        assert_eq!(
            rule,
            ApproverRule::Role {
                role: "legal".into()
            }
        );
        assert!(serde_json::from_str::<ApproverRule>(r#"{"type":"anyone"}"#).is_err());
    }
}
