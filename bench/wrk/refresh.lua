-- Refresh with rotation, each refresh token used once: BENCH_TOKENS names a file of
-- tokens minted ahead (one a line), shared out between wrk's threads; BENCH_AUTH is the
-- client's Authorization header. Past the last token a thread sends an unknown one,
-- which the server refuses and wrk counts as an error, so a short supply shows.
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  local count = tonumber(os.getenv("BENCH_THREADS"))
  tokens = {}
  local index = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if index % count == thread_index then
      tokens[#tokens + 1] = line
    end
    index = index + 1
  end
  next_token = 1
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = os.getenv("BENCH_AUTH"),
  }
end

function request()
  local token = tokens[next_token] or "exhausted"
  next_token = next_token + 1
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end
