-- Claims the bot's rebuild slot. KEYS: building, dirty. ARGV: token, epoch, ttl ms, the caller's deadline
-- (Unix ms): a claim arriving after its caller gave up would block every other rebuild for the whole TTL.
-- Returns 1 when claimed, 0 when another rebuild holds it or the deadline has passed.
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[4]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'epoch', ARGV[2], 'dirty', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
