-- wrk script: every request comes from a different client, rotating through a file of clients.
--
--   wrk ... -s bench/wrk/clients.lua <url> -- <clients file> <threads> <method> <path> [body] [content type]
--
-- Each line of the clients file is one client: its request headers, tab-separated "Name: value"
-- (a JWT, session and CSRF cookies, an X-Forwarded-For address from the trusted proxy, ...).
-- A pseudo-header "X-Bench-Body: ..." is that client's own request body instead of [body] (a queue
-- join carrying the client's solved challenge); it is not sent as a header.
-- Thread i of T sends clients i, i+T, i+2T, ... and wraps around at the end of the file.
-- done() prints one line "BENCH_JSON {...}" with counts per status and latency percentiles (µs).

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function parse_headers(line)
  local parsed = {}
  for field in string.gmatch(line, "[^\t]+") do
    local name, value = string.match(field, "^([^:]+):%s*(.*)$")
    if name then parsed[name] = value end
  end
  return parsed
end

function init(args)
  local clients_file, thread_count = args[1], tonumber(args[2])
  method, path, body = args[3], args[4], args[5]
  if body == "" then body = nil end
  local content_type = args[6]
  if content_type == nil or content_type == "" then content_type = "application/json" end
  clients = {}
  local index = 0
  for line in io.lines(clients_file) do
    if index % thread_count == (id - 1) then
      local headers = parse_headers(line)
      headers["Accept"] = headers["Accept"] or "application/json"
      local own_body = headers["X-Bench-Body"]
      headers["X-Bench-Body"] = nil
      if body or own_body then headers["Content-Type"] = content_type end
      clients[#clients + 1] = {headers = headers, body = own_body or body}
    end
    index = index + 1
  end
  next_client = 1
  wraps = 0
  statuses = {}
end

function request()
  local client = clients[next_client]
  next_client = next_client + 1
  if next_client > #clients then
    next_client = 1
    wraps = wraps + 1
  end
  return wrk.format(method, path, client.headers, client.body)
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
