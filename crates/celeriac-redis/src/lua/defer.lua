-- Ends a delivery's lease and holds the message in the delayed set until
-- ARGV[2] (ms); the wait does not count as a delivery.
-- KEYS: unacked, unacked_index, leases, delayed, delayed_msgs, delayed_count
-- ARGV: delivery field, due (ms), key prefix, separator, priority steps
local f = ARGV[1]
local entry = current_lease(KEYS[3], f) and redis.call('HGET', KEYS[1], f)
if not entry then return 0 end
local env, queue = unacked_parts(entry)
local key = list_key(ARGV[3], ARGV[4], ARGV[5], queue, env)
redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), f)
redis.call('HSET', KEYS[5], f, cjson.encode({env, key, queue}))
redis.call('HINCRBY', KEYS[6], queue, 1)
redis.call('HDEL', KEYS[1], f)
redis.call('ZREM', KEYS[2], f)
redis.call('HDEL', KEYS[3], f)
return 1
