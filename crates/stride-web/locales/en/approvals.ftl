# approvals
