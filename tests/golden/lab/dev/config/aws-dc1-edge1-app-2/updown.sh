#!/bin/sh
# crossnet lab, AWS side of tunnel dc1-edge1-app/2: aws12701 in cxl.dev.gw.app-vgw follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF=/var/lib/crossnet/dev/lab/config/aws-dc1-edge1-app-2/strongswan.conf swanctl --list-sas --ike dc1-edge1-app-2 --raw \
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n cxl.dev.gw.app-vgw link set dev aws12701 up
  else
    ip -n cxl.dev.gw.app-vgw link set dev aws12701 down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
