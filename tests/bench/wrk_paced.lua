-- Paces Debian's wrk (which has no -R, unlike wrk2) at a fixed rate: each thread keeps a schedule
-- (its rate: the argument after `--`) and delay() holds a connection's next request until the
-- next slot is due. wrk times each request from when it is sent, so a request sent late (every
-- connection was busy at its due time) hides its wait: this script counts each start's lateness
-- in whole ms, and done() prints them ("late MS COUNT"), with how many were sent and wrk's p99,
-- p99.1, p99.5 and p99.9 from sending, for bench_portal.py to bound the p99 from the due time.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } safegrid_timespec;
int clock_gettime(int clk_id, safegrid_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("safegrid_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- per thread (each has a Lua state of its own); globals, so that done() can read them
interval_ms, due_ms, sent, late = 0, nil, 0, {}

function init(args)
  interval_ms = 1000 / tonumber(args[1])
end

function delay()
  local now = now_ms()
  due_ms = due_ms or now
  local wait = due_ms - now
  due_ms = due_ms + interval_ms
  sent = sent + 1
  if wait >= 0 then
    return wait
  end
  local ms = math.ceil(-wait)
  late[ms] = (late[ms] or 0) + 1
  return 0
end

function done(summary, latency, requests)
  local total, lates = 0, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("sent")
    for ms, count in pairs(thread:get("late")) do
      lates[ms] = (lates[ms] or 0) + count
    end
  end
  io.write(string.format("paced sent %d\n", total))
  for ms, count in pairs(lates) do
    io.write(string.format("late %d %d\n", ms, count))
  end
  for _, p in ipairs({99.0, 99.1, 99.5, 99.9}) do
    io.write(string.format("send p%.1f %.3f ms\n", p, latency:percentile(p) / 1000))
  end
end
