-- Ends a delivery's lease and holds the message in the delayed set until
-- ARGV[3] (ms); the wait does not count as a delivery.
-- KEYS: unacked, unacked_index, leases, delayed, delayed_msgs, delayed_count
-- ARGV: tag, serial, due (ms), key prefix, separator, priority steps
local tag = ARGV[1]
local owner, d, s = current_lease(KEYS[3], tag, ARGV[2])
local entry = owner and redis.call('HGET', KEYS[1], tag)
if not entry then return 0 end
local env, queue = unacked_parts(entry)
local key = list_key(ARGV[4], ARGV[5], ARGV[6], queue, env)
redis.call('ZADD', KEYS[4], tonumber(ARGV[3]), tag)
redis.call('HSET', KEYS[5], tag, cjson.encode({env, key, queue}))
redis.call('HINCRBY', KEYS[6], queue, 1)
redis.call('HDEL', KEYS[1], tag)
redis.call('ZREM', KEYS[2], tag)
redis.call('HSET', KEYS[3], tag, '- ' .. (d - 1) .. ' ' .. s)
return 1
