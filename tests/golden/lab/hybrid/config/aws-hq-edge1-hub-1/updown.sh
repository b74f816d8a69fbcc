#!/bin/sh
# crossnet lab, AWS side of tunnel hq-edge1-hub/1: aws14406 in cxl.hybrid.gw.hub follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF=/var/lib/crossnet/hybrid/lab/config/aws-hq-edge1-hub-1/strongswan.conf swanctl --list-sas --ike hq-edge1-hub-1 --raw \
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n cxl.hybrid.gw.hub link set dev aws14406 up
  else
    ip -n cxl.hybrid.gw.hub link set dev aws14406 down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
