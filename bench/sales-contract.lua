-- wrk script of contract creation in bench/sales.sh (which fills in @TOKEN@, a legal user's
-- API token, and @CUSTOMERS@): each request drafts a contract for another customer.

local token = "@TOKEN@"
local customers = @CUSTOMERS@
local n = 0

function setup(thread)
    thread:set("offset", math.random(customers))
end

function request()
    n = n + 1
    local customer = (offset + n * 7919) % customers + 1
    local body = string.format('{"customer_id":%d,"title":"年度服务合同 Annual service %d",'
        .. '"our_party":"Stride 演示公司","customer_party":"客户 Customer %d","amount_fen":1000000,'
        .. '"lines":[{"name":"MES 实施","quantity":2,"unit_price_fen":500000}],'
        .. '"milestones":[{"name":"首付款 Down payment","due_on":"2027-03-01","amount_fen":1000000}]}',
        customer, n, customer)
    return wrk.format("POST", "/api/v1/contracts", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }, body)
end
