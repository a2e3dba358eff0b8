-- Publishes the staged snapshot. KEYS: 6 data keys, building, dirty, 6 staging keys.
-- ARGV: token, epoch, build id.
-- Returns 'published', 'changed' (ids arrived since the last take), 'lost', 'evicted', or
-- 'staging-broken' (a staging key was evicted).
--@include snapshot-prelude

local k = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }
local building, dirty = KEYS[7], KEYS[8]
local s = { KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14] }
local b = redis.call('HMGET', building, 'token', 'dirty')
if b[1] ~= ARGV[1] then return 'lost' end
local pending = redis.call('SCARD', dirty)
if tonumber(b[2]) ~= pending then return 'evicted' end
if pending > 0 then return 'changed' end
local staged, _, staged_slots, _, staged_seg, staged_bk = snapshot_state(s)
if staged ~= 'ok' then return 'staging-broken' end
unlink_data(k)
local moves = { { s[1], k[1] }, { s[6], k[6] } }
for n = 0, seg_count(staged_slots, staged_seg) - 1 do
  moves[#moves + 1] = { seg_key(s, n), seg_key(k, n) }
  moves[#moves + 1] = { code_key(s, n), code_key(k, n) }
  moves[#moves + 1] = { rows_key(s, n), rows_key(k, n) }
end
for b = 0, staged_bk - 1 do
  moves[#moves + 1] = { bucket_key(s[4], b), bucket_key(k[4], b) }
  moves[#moves + 1] = { bucket_key(s[5], b), bucket_key(k[5], b) }
end
for _, move in ipairs(moves) do
  if redis.call('EXISTS', move[1]) == 1 then
    redis.call('RENAME', move[1], move[2])
    redis.call('PERSIST', move[2])
  end
end
redis.call('HSET', k[1], 'build', ARGV[3], 'seq', 0, 'epoch', ARGV[2])
redis.call('UNLINK', building, dirty)
return 'published'
