-- otagw test shim: send bare IS-683 (OTASP/OTAPA) messages carried in UDP to
-- Wireshark's built-in ansi_683 dissector.
--
-- Wireshark has no registered name for that dissector; it can only be reached
-- through the "ansi_map.ota" dissector table, whose key is the link direction
-- (0 = forward, base station to mobile; 1 = reverse, mobile to base station).
-- We give each direction its own UDP port:
--   UDP 6830 -> forward messages (requests)
--   UDP 6831 -> reverse messages (responses)
-- and the gateway's trace puts each IOTA session on its own UDP conversation
-- with the gateway's port 6832, so "Follow UDP stream" shows one session:
--   UDP 6832 -> sent from port 6832: forward; sent to it: reverse

local ota_by_direction = DissectorTable.get("ansi_map.ota")
local udp_ports = DissectorTable.get("udp.port")

local function direction_shim(key, short_name, long_name)
  local shim = Proto(short_name, long_name)
  shim.dissector = function(buffer, pinfo, tree)
    return ota_by_direction:try(key, buffer, pinfo, tree)
  end
  return shim
end

udp_ports:add(6830, direction_shim(0, "otagw_is683_fwd", "otagw IS-683 shim, forward link"))
udp_ports:add(6831, direction_shim(1, "otagw_is683_rev", "otagw IS-683 shim, reverse link"))

local session_shim = Proto("otagw_is683_session", "otagw IS-683 shim, one IOTA session")
session_shim.dissector = function(buffer, pinfo, tree)
  local key = 1
  if pinfo.src_port == 6832 then key = 0 end
  return ota_by_direction:try(key, buffer, pinfo, tree)
end
udp_ports:add(6832, session_shim)
