-- Removes every key of a bot's snapshot, its rebuild marker and its kept visibility. KEYS: 6 data keys,
-- building, dirty, vis.
--@include snapshot-prelude

unlink_data({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] })
redis.call('UNLINK', KEYS[7], KEYS[8], KEYS[9])
return 1
