# opportunities
