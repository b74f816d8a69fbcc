#!/bin/sh
# crossnet lab, AWS side of tunnel ash-edge2-hub/1: aws2344 in cxl.prod.gw.hub follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF=/var/lib/crossnet/prod/lab/config/aws-ash-edge2-hub-1/strongswan.conf swanctl --list-sas --ike ash-edge2-hub-1 --raw \
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n cxl.prod.gw.hub link set dev aws2344 up
  else
    ip -n cxl.prod.gw.hub link set dev aws2344 down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
