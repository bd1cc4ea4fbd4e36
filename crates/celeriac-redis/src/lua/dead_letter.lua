-- Moves a current delivery to the dead-letter store with a reason.
-- The raw message goes to its own hash (it may not be valid UTF-8).
-- KEYS: unacked, unacked_index, leases, dead, dead_index, dead_count, dead_seq,
--       dead_payload
-- ARGV: tag, serial, reason, now (ms)
local tag = ARGV[1]
local owner, d, s = current_lease(KEYS[3], tag, ARGV[2])
local entry = owner and redis.call('HGET', KEYS[1], tag)
if not entry then return 0 end
local env, queue = unacked_parts(entry)
local id = redis.call('INCR', KEYS[7])
local priority = tonumber(string.match(env, '"priority"%s*:%s*(%d+)') or '0')
redis.call('HSET', KEYS[4], id, cjson.encode({
  queue = queue, task_id = field(env, 'id'), reason = ARGV[3],
  deliveries = d, dead_at = tonumber(ARGV[4]), priority = priority,
}))
redis.call('HSET', KEYS[8], id, env)
redis.call('ZADD', KEYS[5], id, id)
redis.call('HINCRBY', KEYS[6], queue, 1)
redis.call('HDEL', KEYS[1], tag)
redis.call('ZREM', KEYS[2], tag)
redis.call('HDEL', KEYS[3], tag)
return id
