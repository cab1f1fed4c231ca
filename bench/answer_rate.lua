-- wrk script of bench/answer_rate.py: every request a distinct ping, from 100 senders
-- (X-Bench-Client-Addr 10.0.0.<n>) about posts on 100 source domains (blog<n>.example), to the
-- 50 articles of the bench app. Environment: BENCH_KIND ("webmention" or "pingback"),
-- BENCH_TARGET (the articles' URL up to their number, e.g. http://127.0.0.1:8000/articles/article-),
-- BENCH_SOURCE_PORT (the port of bench/inbound.py's source server, which serves
-- /post/<n>/article-<k>/ linking to article k; blog<n>.example resolves to it in the app).

local kind = os.getenv("BENCH_KIND") or "webmention"
local target = os.getenv("BENCH_TARGET")
local source_port = os.getenv("BENCH_SOURCE_PORT") or "80"
local senders = 100
local sent = 0
thread_number = 0

function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_number", thread_number)
end

local function encode(text)
  return (string.gsub(text, "[^%w%-._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  sent = sent + 1
  local n = thread_number * 10000000 + sent  -- distinct across threads
  local sender = n % senders
  local source = "http://blog" .. sender .. ".example:" .. source_port .. "/post/" .. n
    .. "/article-" .. (n % 50) .. "/"
  local to = target .. (n % 50) .. "/"
  local headers = {["X-Bench-Client-Addr"] = "10.0.0." .. sender}
  if kind == "pingback" then
    headers["Content-Type"] = "text/xml"
    local body = "<?xml version='1.0'?><methodCall><methodName>pingback.ping</methodName>"
      .. "<params><param><value><string>" .. source .. "</string></value></param>"
      .. "<param><value><string>" .. to .. "</string></value></param></params></methodCall>"
    return wrk.format("POST", "/backlinks/xmlrpc/", headers, body)
  end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/backlinks/webmention/", headers,
    "source=" .. encode(source) .. "&target=" .. encode(to))
end
