-- Returns the messages of a consumer's unfinished fetch to their lists.
-- KEYS: staging registry
return unstage(KEYS[1])
