-- Releases a chord whose callback was published: deletes the join state
-- and marks the chord done so late duplicates are ignored (if the claim is
-- still this caller's).
-- KEYS: .c, .j, .t, .s, .d
-- ARGV: claim token, done-marker expiry (s)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('SET', KEYS[1], 'done', 'EX', tonumber(ARGV[2]))
return 1
