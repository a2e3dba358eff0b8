-- Keeps a running rebuild alive: re-arms the TTL of its slot, the dirty set and every staging key, but only
-- while the ticket still holds the slot (a rebuild that lost it must not revive a slot another one may hold,
-- nor keys nobody will publish). KEYS: building, dirty, 6 staging keys. ARGV: token, ttl ms, segments and
-- buckets staged so far (the staged meta's, once it exists, when larger: commit rounds may add segments).
-- O(segments + buckets). Returns 1, or 0 when the slot is lost.
--@include snapshot-prelude

if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local ttl = ARGV[2]
local s = { KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8] }
local segments, buckets = tonumber(ARGV[3]), tonumber(ARGV[4])
local m = redis.call('HMGET', s[1], 'slots', 'seg', 'bkz')
local slots, seg, bk = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
if slots and seg and seg > 0 then segments = math.max(segments, seg_count(slots, seg)) end
if bk then buckets = math.max(buckets, bk) end
-- PEXPIRE of a key not (yet) created is a no-op, so the counts may overshoot.
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
expire_snapshot(s, segments, buckets, ttl)
return 1
