#!/bin/sh
# crossnet lab, AWS side of tunnel lon-core1-core/1: aws9732 in cxl.mixed.gw.core-vgw follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF=/var/lib/crossnet/mixed/lab/config/aws-lon-core1-core-1/strongswan.conf swanctl --list-sas --ike lon-core1-core-1 --raw \
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n cxl.mixed.gw.core-vgw link set dev aws9732 up
  else
    ip -n cxl.mixed.gw.core-vgw link set dev aws9732 down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
