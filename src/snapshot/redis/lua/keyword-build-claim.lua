-- Claims the index for a snapshot rebuild that starts now: deletes any index and marks it
-- `building:<gen>` (readers and stream updates leave it; a stream update drops it), for at most ARGV[3]
-- ms (a rebuild that died leaves no mark behind for long). KEYS: index meta. ARGV: base, gen, ttl ms.
-- Returns 1.
--@include keyword-prelude
drop_index(KEYS[1])
redis.call('HSET', KEYS[1], 'stamp', 'building:' .. ARGV[2], 'gen', ARGV[2], 'n', 0, 'total', 0, 'terms', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
