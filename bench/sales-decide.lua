-- wrk script of the approval decisions in bench/sales.sh, which puts in front of it
--   tokens = { [approver id] = "API token", … }
--   queues = { [approver id] = { pending request id, … }, … }
-- Call with `-- THREADS`. Each wrk thread takes every THREADS-th approver and, request after
-- request, the next approver in turn decides the next request waiting for them, so no task is
-- asked for twice. done() prints "statuses: 200=n 409=m …" over all threads.

local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

function init(args)
    local nthreads = tonumber(args[1]) or 1
    local ids = {}
    for id in pairs(queues) do
        table.insert(ids, id)
    end
    table.sort(ids)
    mine = {}
    for i, id in ipairs(ids) do
        if (i - 1) % nthreads == tid then
            table.insert(mine, id)
        end
    end
    used = {}
    turn = 0
    counts = {}
end

local body = '{"decision":"approve"}'

function request()
    for _ = 1, #mine do
        turn = turn % #mine + 1
        local approver = mine[turn]
        local queue = queues[approver]
        local next = (used[approver] or 0) + 1
        if next <= #queue then
            used[approver] = next
            return wrk.format("POST", "/api/v1/approvals/" .. queue[next] .. "/decision", {
                ["Authorization"] = "Bearer " .. tokens[approver],
                ["Content-Type"] = "application/json",
            }, body)
        end
    end
    error("every pending task of this thread's approvers is used up; generate more")
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("counts")) do
            total[status] = (total[status] or 0) + n
        end
    end
    local line = {}
    for status, n in pairs(total) do
        table.insert(line, status .. "=" .. n)
    end
    table.sort(line)
    io.write("statuses: " .. table.concat(line, " ") .. "\n")
end
