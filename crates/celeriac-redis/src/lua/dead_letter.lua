-- Moves a current delivery to the dead-letter store with a reason.
-- The raw message goes to its own hash (it may not be valid UTF-8).
-- KEYS: unacked, unacked_index, leases, dead, dead_index, dead_count, dead_seq,
--       dead_payload, deliveries
-- ARGV: delivery field, reason, now (ms)
local f = ARGV[1]
local entry = current_lease(KEYS[3], f) and redis.call('HGET', KEYS[1], f)
if not entry then return 0 end
local tag = kombu_tag(f)
local d = 1
if tag then
  d = tonumber(redis.call('HGET', KEYS[9], tag) or '0') + 1
  redis.call('HDEL', KEYS[9], tag)
end
local env, queue = unacked_parts(entry)
local id = redis.call('INCR', KEYS[7])
local priority = tonumber(string.match(env, '"priority"%s*:%s*(%d+)') or '0')
redis.call('HSET', KEYS[4], id, cjson.encode({
  queue = queue, task_id = field(env, 'id'), reason = ARGV[2],
  deliveries = d, dead_at = tonumber(ARGV[3]), priority = priority,
}))
redis.call('HSET', KEYS[8], id, env)
redis.call('ZADD', KEYS[5], id, id)
redis.call('HINCRBY', KEYS[6], queue, 1)
redis.call('HDEL', KEYS[1], f)
redis.call('ZREM', KEYS[2], f)
redis.call('HDEL', KEYS[3], f)
return id
