//! `stride bench-data --leads-csv FILE`: a lead import file for `bench/import.sh`.
//!
//! Every row is a pure function of its number: Chinese and English companies, contacts, phones
//! written several ways, e-mails, sources in both languages, some needs and budgets. About one
//! row in twenty repeats an earlier row's company (written differently: another legal suffix,
//! full-width letters, spaces, case) or phone, and about one in fifty names a customer or
//! shares the e-mail of a lead already in the database, so duplicate detection has work to do.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use stride_app::customers::CustomerFilter;
use stride_app::leads::LeadFilter;
use stride_app::page::PageRequest;
use stride_app::{App, Reach};

/// Write a lead import file instead of generating users (see bench/import.sh).
#[derive(Args)]
pub struct LeadsCsvArgs {
    /// Where to write the CSV file; nothing else is generated.
    #[arg(long, value_name = "FILE")]
    pub leads_csv: Option<PathBuf>,
    /// Data rows in the file.
    #[arg(long, default_value_t = 100_000)]
    pub leads_csv_rows: usize,
    /// The number of the first row: files from far-apart numbers share no companies.
    #[arg(long, default_value_t = 1)]
    pub leads_csv_first: usize,
}

/// Stored records the file repeats, sampled from the start of the tables.
const SAMPLE: u32 = 1_000;

const CITIES: &[&str] = &[
    "上海", "北京", "深圳", "杭州", "苏州", "成都", "武汉", "南京", "广州", "天津", "重庆", "西安",
];
const BRAND: &[&str] = &[
    "华", "中", "恒", "瑞", "鼎", "信", "达", "盛", "泰", "安", "博", "创", "宏", "嘉", "金", "联",
    "美", "明", "宁", "鹏", "启", "荣", "润", "森", "天", "通", "伟", "祥", "新", "兴", "亚", "永",
    "宇", "正", "智", "卓", "卫", "海", "凯", "力",
];
const ZH_TRADES: &[&str] = &[
    "精密机械",
    "智能制造",
    "新材料",
    "云数据",
    "医疗器械",
    "物流",
    "电子",
    "食品",
    "环保科技",
    "软件",
];
const ZH_SUFFIXES: &[&str] = &["有限公司", "股份有限公司", "科技有限公司", "集团有限公司"];
const SYLLABLES: &[&str] = &[
    "ka", "lo", "ven", "tri", "mar", "zen", "qua", "dor", "fle", "nix", "sol", "ver", "ax", "bel",
    "cor", "dyn", "el", "fin", "gal", "hex", "ion", "jun", "kir", "lum", "mo", "nor", "ori", "pax",
    "ru", "sy", "tor", "ul", "vi", "wen", "xan", "yor",
];
const EN_TRADES: &[&str] = &[
    "Robotics",
    "Software",
    "Logistics",
    "Foods",
    "Devices",
    "Materials",
    "Systems",
    "Analytics",
];
const EN_SUFFIXES: &[&str] = &["Co., Ltd.", "Inc.", "Ltd", "Limited", "GmbH", "Corp."];
const ZH_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "欧阳",
];
const ZH_GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "晓东", "雪梅",
];
const EN_NAMES: &[&str] = &[
    "Emily Smith",
    "James Brown",
    "Olivia Chen",
    "Michael Wong",
    "Sophia Lee",
    "David Tan",
    "Grace Lim",
];
const TITLES: &[&str] = &[
    "采购经理",
    "总经理",
    "IT 主管",
    "Procurement Lead",
    "CTO",
    "",
];
const SOURCES: &[&str] = &[
    "展会",
    "官网",
    "转介绍",
    "website",
    "exhibition",
    "referral",
    "partner",
    "cold call",
    "微信",
    "市场活动",
    "",
];
const INDUSTRIES: &[&str] = &["制造业", "IT", "医疗", "物流", "零售", "manufacturing"];
const REGIONS: &[&str] = &["华东", "华北", "华南", "西南", "East China"];
const NEEDS: &[&str] = &[
    "MES 实施",
    "ERP 升级",
    "数据平台",
    "IoT rollout",
    "Annual support",
];

/// Spreads neighbouring row numbers apart (Knuth's multiplicative hash).
fn mix(i: usize) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 7) ^ i
}

/// The digits of `i` in base `n`, lowest first, `len` of them: distinct rows get distinct names.
fn digits(mut i: usize, n: usize, len: usize) -> impl Iterator<Item = usize> {
    (0..len).map(move |_| {
        let d = i % n;
        i /= n;
        d
    })
}

/// A company of its own for row `i`: unique across rows (the brand spells `i`).
fn company(i: usize) -> String {
    let h = mix(i);
    if h % 3 == 2 {
        let brand: String = digits(i, SYLLABLES.len(), 4)
            .map(|d| SYLLABLES[d])
            .collect();
        let mut brand = brand.chars();
        let first = brand.next().map(|c| c.to_ascii_uppercase());
        format!(
            "{}{} {} {}",
            first.unwrap_or('X'),
            brand.as_str(),
            EN_TRADES[(h / 3) % EN_TRADES.len()],
            EN_SUFFIXES[(h / 29) % EN_SUFFIXES.len()]
        )
    } else {
        let brand: String = digits(i, BRAND.len(), 4).map(|d| BRAND[d]).collect();
        format!(
            "{}{brand}{}{}",
            CITIES[(h / 3) % CITIES.len()],
            ZH_TRADES[(h / 37) % ZH_TRADES.len()],
            ZH_SUFFIXES[(h / 11) % ZH_SUFFIXES.len()]
        )
    }
}

/// The same company written another way: its key for duplicate detection does not change.
fn rewritten(name: &str, variant: usize) -> String {
    match variant % 4 {
        // Full-width letters and an ideographic space.
        0 => name
            .chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                ' ' => '\u{3000}',
                c => c,
            })
            .collect(),
        1 => name.to_uppercase(),
        // Another legal suffix.
        2 => {
            // The longest suffix: 股份有限公司 rather than 有限公司.
            let base = ZH_SUFFIXES
                .iter()
                .chain(EN_SUFFIXES)
                .filter_map(|s| name.strip_suffix(s))
                .min_by_key(|base| base.len())
                .unwrap_or(name)
                .trim_end();
            if base.is_ascii() {
                format!("{base}, Inc.")
            } else {
                format!("{base}股份有限公司")
            }
        }
        _ => format!("  {}  ", name.replace(' ', "  ")),
    }
}

/// A Chinese mobile number of its own for row `i`, written one of several ways.
fn phone(i: usize) -> String {
    let digits = format!("1{}{:09}", 3 + i % 7, (i * 7_919) % 1_000_000_000);
    match mix(i) % 4 {
        0 => format!("+86 {} {} {}", &digits[..3], &digits[3..7], &digits[7..]),
        1 => format!("{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..]),
        _ => digits,
    }
}

fn contact(i: usize) -> String {
    let h = mix(i) / 5;
    if h % 4 == 3 {
        EN_NAMES[h % EN_NAMES.len()].to_owned()
    } else {
        format!(
            "{}{}",
            ZH_SURNAMES[h % ZH_SURNAMES.len()],
            ZH_GIVEN[(h / 13) % ZH_GIVEN.len()]
        )
    }
}

/// A field as CSV writes it: quoted when it holds a comma, a quote or a line break.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// What the file repeats of the database: customers' names and leads' e-mails.
struct Stored {
    customer_names: Vec<String>,
    lead_emails: Vec<String>,
}

async fn stored(app: &App) -> Result<Stored> {
    let page = PageRequest {
        limit: SAMPLE,
        after: None,
    };
    let customers = app
        .store()
        .customers(&Reach::All, &CustomerFilter::default(), page)
        .await?;
    let leads = app
        .store()
        .leads(&Reach::All, &LeadFilter::default(), page)
        .await?;
    Ok(Stored {
        customer_names: customers.into_iter().map(|c| c.data.name).collect(),
        lead_emails: leads.into_iter().filter_map(|l| l.data.email).collect(),
    })
}

/// Data row `i` of a file starting at row `first`: company, contact, title, phone, email, source, industry, region, need, budget.
fn row(i: usize, first: usize, stored: &Stored) -> [String; 10] {
    let h = mix(i);
    let mut name = company(i);
    let mut mobile = phone(i);
    let mut email = format!("contact{i}@lead{}.example", h % 997);
    // Repeats of earlier rows (about 5%) and of stored records (about 1%).
    match h % 100 {
        0..=3 if i - first > 100 => name = rewritten(&company(first + (i - first) / 2), h / 100),
        4 if i - first > 100 => mobile = phone(first + (i - first) / 3),
        5 if !stored.customer_names.is_empty() => {
            let customer = &stored.customer_names[(h / 100) % stored.customer_names.len()];
            name = rewritten(customer, h / 100);
        }
        6 if !stored.lead_emails.is_empty() => {
            email = stored.lead_emails[(h / 100) % stored.lead_emails.len()].to_uppercase();
        }
        _ => {}
    }
    let pick = |list: &[&str], by: usize| list[(h / by) % list.len()].to_owned();
    let budget = match (h / 53) % 3 {
        0 => format!("{} 万元", 10 + (h / 7) % 500),
        _ => String::new(),
    };
    let need = if (h / 17).is_multiple_of(2) {
        pick(NEEDS, 19)
    } else {
        String::new()
    };
    [
        name,
        contact(i),
        pick(TITLES, 23),
        if h % 9 == 8 { String::new() } else { mobile },
        if h % 7 == 6 { String::new() } else { email },
        pick(SOURCES, 31),
        pick(INDUSTRIES, 41),
        pick(REGIONS, 43),
        need,
        budget,
    ]
}

/// Writes the file; returns how many rows.
pub async fn write(app: &App, args: &LeadsCsvArgs, path: &std::path::Path) -> Result<usize> {
    let (first, rows) = (args.leads_csv_first.max(1), args.leads_csv_rows);
    let stored = stored(app).await?;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(
        out,
        "\u{feff}公司名称,联系人,职位,电话,邮箱,来源,行业,地区,需求,预算"
    )?;
    for i in first..first + rows {
        let line: Vec<String> = row(i, first, &stored).iter().map(|v| field(v)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()?;
    println!(
        "wrote {rows} leads to {} (repeating {} stored customers' names and {} leads' e-mails)",
        path.display(),
        stored.customer_names.len(),
        stored.lead_emails.len()
    );
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stride_domain::customers::normalize_company_name;

    #[test]
    fn companies_are_distinct_and_rewrites_keep_their_key() {
        let keys: std::collections::HashSet<_> = (1..=100_000)
            .map(|i| normalize_company_name(&company(i)))
            .collect();
        assert_eq!(keys.len(), 100_000);
        for i in [1, 2, 3, 5, 77, 1_234] {
            for v in 0..4 {
                let name = company(i);
                assert_eq!(
                    normalize_company_name(&rewritten(&name, v)),
                    normalize_company_name(&name),
                    "{name} / {}",
                    rewritten(&name, v)
                );
            }
        }
        assert_eq!(field("Acme, Inc."), "\"Acme, Inc.\"");
    }
}
