-- Ends a rebuild in any outcome: frees the slot if this token still holds it, deletes the staging keys.
-- KEYS: building, dirty, 6 staging keys. ARGV: token.
--@include snapshot-prelude

if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('UNLINK', KEYS[1], KEYS[2])
end
unlink_data({ KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8] })
return 1
