--[[
  Hands a batch of orders from their settlement step to the next, or only acknowledges
  them, in one call: per order, the entry of step n+1 is added unless this hand-off was
  already made (marker key), then the entry of step n is acknowledged and deleted. A second
  run of step n that finds its outcome already recorded (see outcome-writer.ts) thus only
  acknowledges, and never doubles the order. Each order's part is whole before the next one
  starts, so a call cut short leaves every order either handed on and acknowledged, or
  untouched and pending (claimed again later).

  KEYS     per order: the stream of step n; for a hand-off also the stream of step n+1 and
           the order's hand-off marker
  ARGV[1]  consumer group
  ARGV[2]  how long a marker lives (ms): longer than any duplicate of step n can wait
  ARGV[3..] per order: the entry id in step n, the number k of fields of its entry in step
           n+1 (0: acknowledge only), then those k fields
  returns  per order 1 when an entry was added, else 0
]]
local group, ttl = ARGV[1], ARGV[2]
local k, a = 1, 3
local out = {}
while a <= #ARGV do
  local from, id, n = KEYS[k], ARGV[a], tonumber(ARGV[a + 1])
  k, a = k + 1, a + 2
  local added = 0
  if n > 0 then
    local to, marker = KEYS[k], KEYS[k + 1]
    k = k + 2
    if redis.call('EXISTS', marker) == 0 then
      -- added first: if XADD fails, nothing of this order has changed
      redis.call('XADD', to, '*', unpack(ARGV, a, a + n - 1))
      redis.call('SET', marker, '1', 'PX', ttl)
      added = 1
    end
    a = a + n
  end
  redis.call('XACK', from, group, id)
  redis.call('XDEL', from, id)
  out[#out + 1] = added
end
return out
