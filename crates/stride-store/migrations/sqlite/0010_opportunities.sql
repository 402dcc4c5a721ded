-- Opportunities (商机): the product catalogue, the configurable pipeline stages with their gates,
-- opportunities with product lines, and every stage change (OPP-1, OPP-2, OPP-7).
CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    list_price_fen INTEGER NOT NULL CHECK (list_price_fen >= 0),
    cost_fen INTEGER NOT NULL CHECK (cost_fen >= 0),
    active INTEGER NOT NULL DEFAULT 1,
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX products_code ON products (code);

-- One row per stage; `requires` lists the gate's requirements, comma-separated. Every row carries
-- the configuration's version: a change rewrites all rows and moves them to the next version.
CREATE TABLE opportunity_stages (
    code TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    position INTEGER NOT NULL,
    probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
    requires TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1
);
INSERT INTO opportunity_stages (code, name_zh, name_en, position, probability, requires) VALUES
    ('first_contact', '初步接触', 'First contact', 1, 10, ''),
    ('needs_analysis', '需求分析', 'Needs analysis', 2, 20, ''),
    ('proposal', '方案报价', 'Proposal', 3, 40, 'needs_analysis_confirmed'),
    ('negotiation', '商务谈判', 'Negotiation', 4, 60, ''),
    ('letter_of_intent', '合作意向书', 'Letter of intent', 5, 80, 'proposal_approved'),
    ('contract', '合同签订', 'Contract', 6, 90, 'letter_of_intent_signed'),
    ('won', '赢单', 'Won', 7, 100, ''),
    ('lost', '输单', 'Lost', 8, 0, '');

CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    lead_id INTEGER REFERENCES leads (id),
    name TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    -- Σ quantity × list price and Σ quantity × cost of the lines; NULL without lines.
    list_total_fen INTEGER,
    cost_fen INTEGER,
    expected_close_date TEXT,
    stage TEXT NOT NULL REFERENCES opportunity_stages (code),
    -- NULL: the stage's probability.
    probability_override INTEGER CHECK (probability_override BETWEEN 0 AND 100),
    competitors TEXT NOT NULL DEFAULT '[]',
    owner_id INTEGER NOT NULL REFERENCES users (id),
    department_id INTEGER NOT NULL REFERENCES departments (id),
    close_reason TEXT,
    close_note TEXT,
    winning_competitor TEXT,
    closed_at_ms INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX opportunities_owner ON opportunities (owner_id, id);
CREATE INDEX opportunities_department ON opportunities (department_id, id);
CREATE INDEX opportunities_customer ON opportunities (customer_id, id);
CREATE INDEX opportunities_stage ON opportunities (stage, id);

CREATE TABLE opportunity_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    position INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    discount_bp INTEGER NOT NULL CHECK (discount_bp BETWEEN 0 AND 10000),
    list_price_fen INTEGER NOT NULL,
    unit_cost_fen INTEGER NOT NULL,
    line_total_fen INTEGER NOT NULL
);
CREATE INDEX opportunity_lines_opportunity ON opportunity_lines (opportunity_id, position);
CREATE INDEX opportunity_lines_product ON opportunity_lines (product_id);

CREATE TABLE opportunity_stage_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    at_ms INTEGER NOT NULL
);
CREATE INDEX opportunity_stage_history_opportunity ON opportunity_stage_history (opportunity_id, id);
