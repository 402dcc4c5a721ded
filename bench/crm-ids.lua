-- GET @PATH@/{id} for the customer ids in `ids` in turn (each wrk thread starts elsewhere in
-- the list), with the headers given on wrk's command line.
ids = { @IDS@ }
local counter = 0

function setup(thread)
    thread:set("offset", counter * 7)
    counter = counter + 1
end

function init(args)
    n = offset or 0
end

function request()
    n = n + 1
    return wrk.format("GET", "@PATH@/" .. ids[(n % #ids) + 1])
end
