-- wrk script: every request carries a different fan's JWT access token (rotating through a file).
--
--   wrk ... -s bench/wrk/tokens.lua <url> -- <tokens file> <threads> <method> <path> [json body]
--
-- Thread i of T sends tokens i, i+T, i+2T, ... and wraps around at the end of the file.
-- "{event}" in the path or body is left as given (the runner fills it in).
-- done() prints one line "BENCH_JSON {...}" with counts per status and latency percentiles (µs).

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local tokens_file, thread_count = args[1], tonumber(args[2])
  method, path, body = args[3], args[4], args[5]
  tokens = {}
  local index = 0
  for line in io.lines(tokens_file) do
    if index % thread_count == (id - 1) then
      tokens[#tokens + 1] = "Bearer " .. line
    end
    index = index + 1
  end
  next_token = 1
  wraps = 0
  statuses = {}
  headers = {["Content-Type"] = "application/json", ["Accept"] = "application/json"}
end

function request()
  headers["Authorization"] = tokens[next_token]
  next_token = next_token + 1
  if next_token > #tokens then
    next_token = 1
    wraps = wraps + 1
  end
  return wrk.format(method, path, headers, body)
end

function response(status, resp_headers, resp_body)
  local key = "s" .. status
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  local wrapped = 0
  for _, thread in ipairs(threads) do
    local thread_statuses = thread:get("statuses")
    for key, value in pairs(thread_statuses) do
      counts[key] = (counts[key] or 0) + value
    end
    wrapped = wrapped + thread:get("wraps")
  end
  local parts = {}
  for key, value in pairs(counts) do
    parts[#parts + 1] = string.format('"%s": %d', string.sub(key, 2), value)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "statuses": {%s}, "wraps": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), wrapped,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
