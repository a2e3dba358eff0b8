-- Keeps which slots search hides at one snapshot version, for the next cold reader.
-- KEYS: meta, visibility. ARGV: version (build:seq), the value to keep, its TTL in ms.
-- Writes only while the snapshot is still at that version: a reader that raced a change, a drop or a
-- rebuild leaves nothing behind. Returns 1 when it wrote, 0 otherwise.

local m = redis.call('HMGET', KEYS[1], 'build', 'seq')
if not m[1] then return 0 end
if m[1] .. ':' .. (m[2] or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
