--[[
  Hands an order from one settlement step to the next, atomically, at most once: the entry
  of step n+1 is added unless this hand-off was already made (marker key), then the entry of
  step n is acknowledged and deleted. A second run of step n that finds its outcome already
  recorded (see outcome-writer.ts) thus only acknowledges, and never doubles the order.

  KEYS[1]  stream of step n
  KEYS[2]  stream of step n+1
  KEYS[3]  hand-off marker of this order and step
  ARGV[1]  consumer group
  ARGV[2]  id of the entry of step n
  ARGV[3]  how long the marker lives (ms): longer than any duplicate of step n can wait
  ARGV[4..] field, value, ... of the entry of step n+1
  returns  the id of the new entry, or false when the hand-off had been made before
]]
local added = false
if redis.call('EXISTS', KEYS[3]) == 0 then
  -- added first: if XADD fails, nothing else has changed
  added = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4))
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return added
