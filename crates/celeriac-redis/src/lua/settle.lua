-- Stores results (Celery's SET + PUBLISH on `celery-task-meta-<id>`), then
-- acknowledges deliveries (kombu's ZREM + HDEL, plus the lease record).
-- A stored SUCCESS is never overwritten, and a ready state is replaced only
-- by a ready state.
-- KEYS: unacked, unacked_index, leases, result keys...
-- ARGV: number of results n, ttl (ms, 0 = none), n documents, n states,
--       then (tag, serial) pairs to acknowledge.
-- Returns the number of acknowledgements that were current.
local n, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local ready = {SUCCESS = true, FAILURE = true, REVOKED = true}
for i = 1, n do
  local key, doc, state = KEYS[3 + i], ARGV[2 + i], ARGV[2 + n + i]
  local old = redis.call('GET', key)
  local allowed = true
  if old then
    local was = string.match(old, '"status"%s*:%s*"([^"]*)"')
    if was == 'SUCCESS' then
      allowed = false
    elseif was and ready[was] and not ready[state] then
      allowed = false
    end
  end
  if allowed then
    if ttl > 0 then
      redis.call('SET', key, doc, 'PX', ttl)
    else
      redis.call('SET', key, doc)
    end
    redis.call('PUBLISH', key, doc)
  end
end
local acked = 0
for i = 3 + 2 * n, #ARGV, 2 do
  local tag = ARGV[i]
  if current_lease(KEYS[3], tag, ARGV[i + 1]) then
    redis.call('ZREM', KEYS[2], tag)
    redis.call('HDEL', KEYS[1], tag)
    redis.call('HDEL', KEYS[3], tag)
    acked = acked + 1
  end
end
return acked
